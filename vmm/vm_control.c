/* vmm/vm_control.h: what a controller may ask of a running VM. The VM's
 * own loop is in vm.c; struct vm in vm_internal.h. */
#include "vmm/vm_control.h"
#include "devices/acpi_pm.h"
#include "devices/platform.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/console_detached.h"
#include "vmm/log.h"
#include "vmm/vm_disks.h"
#include "vmm/vm_internal.h"
#include "vmm/vm_nics.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void vm_control_init(struct vm *vm)
{
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->unpause_cv, NULL);
	pthread_cond_init(&vm->parked_cv, NULL);
}

void vm_control_fini(struct vm *vm)
{
	pthread_cond_destroy(&vm->parked_cv);
	pthread_cond_destroy(&vm->unpause_cv);
	pthread_mutex_destroy(&vm->pause_lock);
}

void vm_kick_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->run)
			continue;
		/* immediate_exit covers a vCPU about to enter KVM_RUN; the
		 * signal covers one already inside it. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->thread_started)
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vm_control_stop_requested(struct vm *vm)
{
	/* Under the lock: a vCPU that checked 'stopping' and is about to
	 * wait cannot miss the broadcast. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->unpause_cv);
	pthread_cond_broadcast(&vm->parked_cv);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_pause_point(struct vm *vm, struct vcpu *v)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->pause_wanted) && !atomic_load(&vm->stopping)) {
		vm->parked++;
		pthread_cond_broadcast(&vm->parked_cv);
		while (atomic_load(&vm->pause_wanted) && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->unpause_cv, &vm->pause_lock);
		vm->parked--;
	}
	/* A stop keeps immediate_exit set: KVM_RUN must not be entered again.
	 * Cleared after 'stopping' was read: a stop published since set it
	 * again after publishing, and the run loop reads 'stopping' next. */
	if (!atomic_load(&vm->stopping))
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
}

static unsigned vm_running_vcpus(const struct vm *vm)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

int vm_pause(struct vm *vm)
{
	int r = 0;
	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->stopping))
		r = -ESHUTDOWN;
	else if (atomic_load(&vm->pause_wanted))
		r = -EALREADY;
	if (r < 0) {
		pthread_mutex_unlock(&vm->pause_lock);
		return r;
	}
	atomic_store(&vm->pause_wanted, true);
	vm_kick_vcpus(vm);	/* under the lock: see vm_internal.h */
	unsigned want = vm_running_vcpus(vm);
	while (vm->parked < want && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->parked_cv, &vm->pause_lock);
	if (atomic_load(&vm->stopping))
		r = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->pause_lock);
	if (r == 0)
		log_debug("VM paused (%u vCPU%s parked)", want, want == 1 ? "" : "s");
	return r;
}

int vm_resume(struct vm *vm)
{
	int r = 0;
	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->stopping))
		r = -ESHUTDOWN;
	else if (!atomic_load(&vm->pause_wanted))
		r = -EALREADY;
	else {
		atomic_store(&vm->pause_wanted, false);
		pthread_cond_broadcast(&vm->unpause_cv);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	if (r == 0)
		log_debug("VM resumed");
	return r;
}

bool vm_is_paused(const struct vm *vm)
{
	return atomic_load(&vm->pause_wanted);
}

int vm_power_button(struct vm *vm)
{
	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;
	acpi_pm_press_power_button(platform_acpi_pm(vm->devices));
	return 0;
}

void vm_destroy_now(struct vm *vm)
{
	log_info("VM destroyed by its controller");
	vm_request_stop(&vm->stopper, VM_STOP_USER, 0);
}

void vm_reset(struct vm *vm)
{
	log_info("VM reset by its controller");
	vm_request_stop(&vm->stopper, VM_STOP_RESET, 0);
}

int vm_console_open(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	if (cfg->console && strcmp(cfg->console, VM_CONSOLE_DETACHED) == 0)
		return console_open_detached(&vm->con, cfg->console_log);
	return console_open(&vm->con, cfg->console);
}

int vm_console_attach(struct vm *vm, int fd)
{
	struct console_detached *dc = console_detached(vm->con);
	if (!dc)
		return -ENOTSUP;
	if (fd < 0)
		return -EBADF;
	return dcon_attach(dc, fd);
}

void vm_console_detach(struct vm *vm)
{
	struct console_detached *dc = console_detached(vm->con);
	if (dc)
		dcon_detach(dc);
}

bool vm_console_attached(const struct vm *vm)
{
	struct console_detached *dc = console_detached(vm->con);
	return dc && dcon_attached(dc);
}

void vm_hooks_started(struct vm *vm)
{
	const struct vm_run_hooks *h = vm->cfg->hooks;
	vm->hooks_started = true;
	if (h && h->started)
		h->started(h->opaque, vm);
}

void vm_hooks_stopping(struct vm *vm)
{
	const struct vm_run_hooks *h = vm->cfg->hooks;
	if (vm->hooks_started && h && h->stopping)
		h->stopping(h->opaque, vm, vm->stop_reason);
}

static uint64_t thread_cpu_ns(pthread_t t)
{
	clockid_t clk;
	struct timespec ts;
	/* A thread that has left its loop but is not joined yet may have no
	 * clock any more: 0, not an error. */
	if (pthread_getcpuclockid(t, &clk) != 0 || clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_vcpus(struct vm *vm, struct vm_stats *out)
{
	out->nvcpus = vm->nvcpus < VM_STATS_MAX_VCPUS ? vm->nvcpus : VM_STATS_MAX_VCPUS;
	for (unsigned i = 0; i < out->nvcpus; i++)
		out->vcpu_time_ns[i] = vm->vcpus[i].thread_started ?
				       thread_cpu_ns(vm->vcpus[i].thread) : 0;
	_Static_assert(EXIT_KINDS <= VM_STATS_EXIT_KINDS, "room for every exit kind");
	out->nexit_kinds = EXIT_KINDS;
	for (unsigned k = 0; k < EXIT_KINDS; k++) {
		uint64_t n = 0;
		for (unsigned i = 0; i < vm->nvcpus; i++)
			n += exit_counts_get(&vm->exits[i], k);
		out->exits[k].kind = exit_kind_name(k);
		out->exits[k].count = n;
		out->exits_total += n;
	}
}

static void stats_disks(struct vm *vm, struct vm_stats *out)
{
	unsigned n = vm_disks_count(vm->disks);
	for (unsigned i = 0; i < n && out->ndisks < VM_STATS_MAX_DEVS; i++) {
		struct vblk_stats s;
		const char *name;
		if (!vm_disks_stats(vm->disks, i, &name, &s))
			continue;
		typeof(out->disks[0]) *d = &out->disks[out->ndisks++];
		snprintf(d->target, sizeof(d->target), "%s", name);
		d->rd_reqs = s.rd_reqs;
		d->rd_bytes = s.rd_bytes;
		d->wr_reqs = s.wr_reqs;
		d->wr_bytes = s.wr_bytes;
		d->flush_reqs = s.flush_reqs;
		d->errors = s.errors;
	}
}

static void stats_nics(struct vm *vm, struct vm_stats *out)
{
	unsigned n = vm_nics_count(vm->nics);
	for (unsigned i = 0; i < n && out->nnics < VM_STATS_MAX_DEVS; i++) {
		struct vnet_stats s;
		const char *ifname;
		const uint8_t *mac;
		if (!vm_nics_stats(vm->nics, i, &ifname, &mac, &s))
			continue;
		typeof(out->nics[0]) *c = &out->nics[out->nnics++];
		snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
		memcpy(c->mac, mac, sizeof(c->mac));
		c->rx_frames = s.rx_frames;
		c->rx_bytes = s.rx_bytes;
		c->tx_frames = s.tx_frames;
		c->tx_bytes = s.tx_bytes;
		/* Frames the guest never got, or that never left it. */
		c->rx_dropped = s.rx_runts + s.rx_bad_buffers + s.rx_small_buffers +
				s.rx_backlog_drops;
		c->tx_dropped = s.tx_bad_chains + s.tx_runts + s.tx_oversized + s.tx_errors;
	}
}

int vm_get_stats(struct vm *vm, struct vm_stats *out)
{
	/* Also while stopping: nothing is torn down before 'stopping' returns. */
	memset(out, 0, sizeof(*out));
	stats_vcpus(vm, out);
	stats_disks(vm, out);
	stats_nics(vm, out);
	return 0;
}
