/* What a background VM's controller (vmm/life/: `minivmm start`'s control
 * socket) may ask of a running VM. The foreground `minivmm --disk ...`
 * passes no hooks and sees none of this.
 *
 * Threading: vm_run() calls hooks->started on its main thread once the
 * vCPUs run, and hooks->stopping on the same thread when the VM stops,
 * before anything is torn down. Between the two, every function below may
 * be called from any thread (the controller runs its own); after
 * 'stopping' returns none may be called. */
#ifndef MINIVMM_VM_CONTROL_H
#define MINIVMM_VM_CONTROL_H

#include "vmm/vm_hooks.h"

#include <stdbool.h>
#include <stdint.h>

struct vm;

struct vm_run_hooks {
	void (*started)(void *opaque, struct vm *vm);
	/* WHY: what stopped it (VM_STOP_RESET: the guest or vm_reset() asked
	 * for a reboot; the controller may run the VM again). */
	void (*stopping)(void *opaque, struct vm *vm, enum vm_stop_reason why);
	void *opaque;
};

/* Parks every vCPU outside KVM_RUN and returns once all are parked (device
 * I/O threads go on finishing requests in flight). 0, or -EALREADY when
 * paused already, -ESHUTDOWN when the VM is stopping. */
int vm_pause(struct vm *vm);
/* 0, or -EALREADY when not paused, -ESHUTDOWN when stopping. */
int vm_resume(struct vm *vm);
bool vm_is_paused(const struct vm *vm);
/* Presses the ACPI fixed power button: PM1_STS.PWRBTN_STS set, an SCI
 * when the guest enabled PM1_EN.PWRBTN_EN. The guest decides what to do
 * (acpid powers off). 0 or -ESHUTDOWN. */
int vm_power_button(struct vm *vm);
/* Stops the VM at once (destroy): VM_STOP_USER, exit status 0. */
void vm_destroy_now(struct vm *vm);
/* A hard reset (VM_STOP_RESET): the guest is not asked. */
void vm_reset(struct vm *vm);

/* The console of a VM started with cfg->console == VM_CONSOLE_DETACHED:
 * guest output goes to cfg->console_log (appended) and to a ring of the
 * last VM_CONSOLE_RING bytes; while a client is attached it also goes to
 * the client's fd, and what the client sends goes to the guest's UART.
 * vm_console_attach() first writes the ring to FD, then the live stream;
 * the fd is the VM's from then on (closed at EOF, on a write error, on
 * vm_console_detach() or when the VM stops). One client at a time:
 * -EBUSY while another is attached; -ENOTSUP for a foreground console.
 * (Implementation notes, vmm/console_detached.h: on any error the fd stays
 * the caller's; -EBADF for fd < 0. The fd is made non-blocking and only the
 * VM's main loop writes it: a client more than 2 * VM_CONSOLE_RING bytes
 * behind is disconnected, never blocking a vCPU and never losing bytes
 * silently from its stream. No escape key: the client handles Ctrl+].) */
#define VM_CONSOLE_DETACHED "@detached"
#define VM_CONSOLE_RING (64 * 1024)
int vm_console_attach(struct vm *vm, int fd);
void vm_console_detach(struct vm *vm);
bool vm_console_attached(const struct vm *vm);

#define VM_STATS_EXIT_KINDS 16
#define VM_STATS_MAX_VCPUS 64
#define VM_STATS_MAX_DEVS 16

struct vm_stats {
	unsigned nvcpus;
	uint64_t vcpu_time_ns[VM_STATS_MAX_VCPUS];	/* CPU time of each vCPU thread */
	uint64_t exits_total;
	unsigned nexit_kinds;
	struct { const char *kind; uint64_t count; } exits[VM_STATS_EXIT_KINDS]; /* "io", "mmio", "hlt", ... */
	unsigned ndisks;
	struct {
		char target[8];	/* "vda" */
		uint64_t rd_reqs, rd_bytes, wr_reqs, wr_bytes, flush_reqs, errors;
	} disks[VM_STATS_MAX_DEVS];
	unsigned nnics;
	struct {
		char ifname[16];	/* the host side: "vnet0", or "user" */
		uint8_t mac[6];
		uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_dropped, tx_dropped;
	} nics[VM_STATS_MAX_DEVS];
};

/* A snapshot of the counters (each read atomically, not all at one instant).
 * exits[]: every kind of vmm/exit_stats.h (io, mmio, hlt, intr, shutdown,
 * system_event, fail_entry, internal_error, other), zero counts included;
 * "intr" counts KVM_RUNs that returned without an exit (a signal, a kick,
 * or a failed KVM_RUN, which stops the VM), and exits_total includes
 * them. disks[]: requests
 * completed OK by type; errors: those that were not. nics[].rx_dropped /
 * tx_dropped: frames lost on the way in/out (runts, bad buffers or chains,
 * user-mode backlog, TAP refusals). Always 0. */
int vm_get_stats(struct vm *vm, struct vm_stats *out);

#endif
