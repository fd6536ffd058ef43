#include "vmm/exit.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm_hooks.h"

#include <linux/kvm.h>
#include <stdint.h>

static enum exit_action exit_stop_error(const struct exit_ctx *ctx)
{
	vm_request_stop(ctx->stop, VM_STOP_ERROR, 1);
	return EXIT_FAILED;
}

/* Port I/O, including string I/O (count > 1): KVM packs 'count' items of
 * 'size' bytes at data_offset inside the kvm_run mapping. */
static enum exit_action exit_port_io(struct kvm_run *run, const struct exit_ctx *ctx)
{
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    off > ctx->run_size || (uint64_t)size * count > ctx->run_size - off) {
		log_error("vcpu%u: malformed port I/O exit (port 0x%x size %u count %u)",
			  ctx->vcpu_id, run->io.port, size, count);
		return exit_stop_error(ctx);
	}
	uint8_t *data = (uint8_t *)run + off;
	for (uint32_t i = 0; i < count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(ctx->pio, run->io.port, data, size);
		else
			bus_read(ctx->pio, run->io.port, data, size);
	}
	return EXIT_CONTINUE;
}

static enum exit_action exit_mmio(struct kvm_run *run, const struct exit_ctx *ctx)
{
	uint32_t len = run->mmio.len;
	if (len == 0 || len > sizeof(run->mmio.data)) {
		log_error("vcpu%u: malformed MMIO exit (len %u)", ctx->vcpu_id, len);
		return exit_stop_error(ctx);
	}
	if (run->mmio.is_write)
		bus_write(ctx->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(ctx->mmio, run->mmio.phys_addr, run->mmio.data, len);
	return EXIT_CONTINUE;
}

static enum exit_action exit_system_event(struct kvm_run *run, const struct exit_ctx *ctx)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(ctx->stop, VM_STOP_POWEROFF, 0);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(ctx->stop, VM_STOP_RESET, 0);
		break;
	default:
		log_error("vcpu%u: guest crashed (system event %u)", ctx->vcpu_id,
			  run->system_event.type);
		return exit_stop_error(ctx);
	}
	return EXIT_STOP;
}

enum exit_action exit_dispatch(struct kvm_run *run, const struct exit_ctx *ctx)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_port_io(run, ctx);
	case KVM_EXIT_MMIO:
		return exit_mmio(run, ctx);
	case KVM_EXIT_INTR:	/* a signal: the run loop checks whether to stop */
	case KVM_EXIT_HLT:	/* the in-kernel LAPIC handles HLT; harmless if seen */
		return EXIT_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: on real hardware a reset, but almost always a
		 * guest (or VMM) bug, so it is reported as a failure. */
		log_error("vcpu%u: guest triple fault (shutdown)", ctx->vcpu_id);
		return exit_stop_error(ctx);
	case KVM_EXIT_SYSTEM_EVENT:
		return exit_system_event(run, ctx);
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu%u: KVM could not enter the guest (hardware reason 0x%llx)",
			  ctx->vcpu_id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return exit_stop_error(ctx);
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu%u: KVM internal error (suberror %u)", ctx->vcpu_id,
			  run->internal.suberror);
		return exit_stop_error(ctx);
	default:
		log_error("vcpu%u: unhandled KVM exit reason %u", ctx->vcpu_id, run->exit_reason);
		return exit_stop_error(ctx);
	}
}
