#include "vmm/vm.h"
#include "boot/boot.h"
#include "boot/disk_boot.h"
#include "devices/platform.h"
#include "devices/serial.h"
#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/console_detached.h"
#include "vmm/cpuid.h"
#include "vmm/exit.h"
#include "vmm/exit_stats.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm_disks.h"
#include "vmm/vm_nics.h"
#include "vmm/vm_pci.h"
#include "vmm/vm_hooks.h"
#include "vmm/vm_identity.h"
#include "vmm/vm_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void vm_request_stop_cb(void *opaque, enum vm_stop_reason why, int status)
{
	struct vm *vm = opaque;
	/* The first request decides the exit status. Reason and status are
	 * set before 'stopping' is published, so whoever sees it set also
	 * sees them. */
	pthread_mutex_lock(&vm->stop_lock);
	bool first = !atomic_load(&vm->stopping);
	if (first) {
		vm->stop_reason = why;
		vm->stop_status = status;
		atomic_store(&vm->stopping, true);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (!first)
		return;
	uint64_t one = 1;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		log_warn("cannot signal the stop event: %s", strerror(errno));
	vm_kick_vcpus(vm);
	vm_control_stop_requested(vm);
}

static void vm_set_irq(void *opaque, unsigned gsi, int level)
{
	kvm_irq_line(&((struct vm *)opaque)->kvm, gsi, level);
}

static void vm_console_tx(void *opaque, const uint8_t *buf, size_t len)
{
	console_write(((struct vm *)opaque)->con, buf, len);
}

static void vcpu_kick_handler(int sig) { (void)sig; }

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->owner;
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	struct exit_ctx ctx = {
		.pio = vm->pio, .mmio = vm->mmio, .stop = &vm->stopper,
		.vcpu_id = v->id, .run_size = v->run_size,
	};
	while (!atomic_load(&vm->stopping)) {
		/* A kick left immediate_exit set: a pause, or a stop. */
		if (__atomic_load_n(&v->run->immediate_exit, __ATOMIC_RELAXED)) {
			vm_vcpu_pause_point(vm, v);
			continue;
		}
		uint64_t t0 = v->stats ? now_ns() : 0;
		if (v->stats) {
			uint64_t unset = 0;
			atomic_compare_exchange_strong(&vm->first_run_ns, &unset, t0);
		}
		int r = kvm_ioctl_raw(v->fd, KVM_RUN, NULL);
		uint64_t t1 = v->stats ? now_ns() : 0;
		exit_counts_add(&vm->exits[v->id], v->run, r);
		if (r == -EINTR || r == -EAGAIN) {
			if (v->stats)
				exit_stats_count(v->stats, v->run, r, t1 - t0, 0);
			continue;
		}
		if (r < 0) {
			log_error("vcpu%u: KVM_RUN failed: %s", v->id, strerror(-r));
			vcpu_log_state(v);
			vm_request_stop(&vm->stopper, VM_STOP_ERROR, 1);
			break;
		}
		enum exit_action act = exit_dispatch(v->run, &ctx);
		if (v->stats)
			exit_stats_count(v->stats, v->run, 0, t1 - t0, now_ns() - t1);
		if (act == EXIT_FAILED)
			vcpu_log_state(v);
		if (act != EXIT_CONTINUE)
			break;
	}
	return NULL;
}

/* Feeds console input to the UART as fast as the guest drains it. */
struct console_pump {
	uint8_t buf[256];
	size_t len, off;
};

static void vm_console_input(struct vm *vm, struct console_pump *p)
{
	bool escape;
	ssize_t n = console_read(vm->con, p->buf, sizeof(p->buf), &escape);
	if (n > 0) {
		p->len = (size_t)n;
		p->off = 0;
	}
	if (escape) {
		console_write(vm->con, (const uint8_t *)"\r\n", 2);
		log_info("Ctrl+] pressed: VM stopped");
		vm_request_stop(&vm->stopper, VM_STOP_USER, 0);
	}
}

static void vm_console_feed(struct vm *vm, struct console_pump *p)
{
	struct uart *uart = platform_uart(vm->devices);
	p->off += uart_receive(uart, p->buf + p->off, p->len - p->off);
	if (p->off == p->len)
		p->len = p->off = 0;
}

/* The main thread's loop: signals, console input, and the stop event. */
static void vm_main_loop(struct vm *vm, int sig_fd)
{
	struct console_pump pump = { .len = 0 };
	int space_fd = uart_rx_space_fd(platform_uart(vm->devices));
	uint64_t flush_at = 0;	/* when to flush buffered console output; 0: none waits */

	while (!atomic_load(&vm->stopping)) {
		int timeout = -1;
		if (flush_at) {
			uint64_t now = now_ns();
			timeout = now >= flush_at ? 0 : (int)((flush_at - now + 999999) / 1000000);
		}
		struct console_detached *dc = console_detached(vm->con);
		struct pollfd fds[6] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
			/* Either wait for input or, with input pending, for the
			 * guest to make room in the UART's FIFO. */
			{ .fd = pump.len ? space_fd : console_input_fd(vm->con), .events = POLLIN },
			/* Output waiting: ignored (-1) while a flush is scheduled. */
			{ .fd = flush_at ? -1 : console_output_event_fd(vm->con), .events = POLLIN },
			/* A detached console: a client came or goes, output for it
			 * waits; the client takes more output. */
			{ .fd = dc ? dcon_event_fd(dc) : -1, .events = POLLIN },
			{ .fd = dc ? dcon_output_fd(dc) : -1, .events = POLLOUT },
		};
		if (poll(fds, 6, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			vm_request_stop(&vm->stopper, VM_STOP_ERROR, 1);
			break;
		}
		if (fds[3].revents & POLLIN)
			flush_at = now_ns() + CONSOLE_FLUSH_DELAY_MS * 1000000ull;
		if (flush_at && now_ns() >= flush_at) {
			console_flush(vm->con);
			flush_at = 0;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				log_info("%s received: VM stopped", strsignal((int)si.ssi_signo));
				vm_request_stop(&vm->stopper, VM_STOP_USER, 128 + (int)si.ssi_signo);
			}
		}
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump.len) {
				uint64_t cnt;
				if (read(space_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
					log_debug("uart space event: %s", strerror(errno));
			} else {
				vm_console_input(vm, &pump);
			}
		}
		if (pump.len)
			vm_console_feed(vm, &pump);
		if (dc && (fds[4].revents || fds[5].revents))
			dcon_service(dc);
	}
}

static int vm_build(struct vm *vm, const struct boot_spec *spec)
{
	const struct vm_config *cfg = vm->cfg;
	int r;
	vm->gm = gmem_create(cfg->mem_size);
	if (!vm->gm) {
		r = -errno;
		log_error("--memory: cannot reserve %llu MiB of guest RAM: %s",
			  (unsigned long long)(cfg->mem_size >> 20), strerror(-r));
		return r;
	}
	/* Loading needs only guest RAM: a kernel or initrd that does not fit
	 * is reported before /dev/kvm is touched. */
	struct boot_entry entry;
	if ((r = boot_load(vm->gm, spec, &entry)) < 0)
		return r;
	if ((r = kvm_open(&vm->kvm, cfg->kvm_path, cfg->ncpus)) < 0)
		return r;
	if ((r = kvm_create_vm(&vm->kvm, vm->gm)) < 0)
		return r;

	vm->pio = bus_create("pio");
	vm->mmio = bus_create("mmio");
	if (!vm->pio || !vm->mmio)
		return -ENOMEM;
	vm->com1_irq = (struct irq_line){ .set_level = vm_set_irq, .opaque = vm, .gsi = IRQ_COM1 };
	r = platform_devices_create(vm->pio, &vm->com1_irq, &vm->stopper, vm_console_tx, vm,
				    &vm->devices);
	if (r < 0)
		return r;
	vm_pci_init(&vm->pci, &vm->kvm, vm->gm, platform_pci(vm->devices), vm->mmio);
	vm->pci_ready = true;
	if ((r = vm_disks_attach(vm->disks, &vm->pci)) < 0 ||
	    (r = vm_nics_attach(vm->nics, &vm->pci)) < 0)
		return r;

	struct kvm_cpuid2 *supported = cpuid_get_supported(vm->kvm.dev_fd);
	if (!supported)
		return -EIO;
	for (unsigned i = 0; i < cfg->ncpus && r >= 0; i++) {
		r = vcpu_create(&vm->vcpus[i], &vm->kvm, i, supported, cfg->ncpus);
		vm->vcpus[i].owner = vm;
		if (r >= 0 || vm->vcpus[i].fd >= 0)
			vm->nvcpus = i + 1;
	}
	free(supported);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < vm->nvcpus && exit_stats_wanted(); i++)
		if (!(vm->vcpus[i].stats = exit_stats_create()))
			return -ENOMEM;
	return vcpu_set_boot_state(&vm->vcpus[0], &entry);
}

static int vm_start_vcpus(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		int r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (r != 0) {
			log_error("cannot start the thread of vcpu%u: %s", i, strerror(r));
			vm_request_stop(&vm->stopper, VM_STOP_ERROR, 1);
			return -r;
		}
		vm->vcpus[i].thread_started = true;
	}
	return 0;
}

/* Sums the vCPUs' exit stats into vCPU 0's and prints them (stderr). */
static void vm_print_exit_stats(struct vm *vm)
{
	struct exit_stats *all = vm->vcpus[0].stats;
	if (!all)
		return;
	for (unsigned i = 1; i < vm->nvcpus; i++)
		if (vm->vcpus[i].stats)
			exit_stats_merge(all, vm->vcpus[i].stats);
	uint64_t first = atomic_load(&vm->first_run_ns);
	exit_stats_print(all, stderr, first ? first - vm->start_ns : 0);
}

static void vm_teardown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].thread_started)
			pthread_join(vm->vcpus[i].thread, NULL);
	/* Nothing writes to the console any more: flush it and restore the
	 * terminal before the exit stats go to stderr. */
	console_close(vm->con);
	vm->con = NULL;
	if (vm->nvcpus)
		vm_print_exit_stats(vm);
	if (vm->nvcpus && exit_stats_wanted())
		vm_nics_print_stats(vm->nics);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		exit_stats_destroy(vm->vcpus[i].stats);
		vm->vcpus[i].stats = NULL;
		vcpu_destroy(&vm->vcpus[i]);
	}
	vm_disks_destroy(vm->disks);	/* stops the I/O threads before memory goes */
	vm_nics_destroy(vm->nics);
	if (vm->pci_ready)
		vm_pci_fini(&vm->pci);
	platform_devices_destroy(vm->devices);
	bus_destroy(vm->pio);
	bus_destroy(vm->mmio);
	kvm_close(&vm->kvm);
	gmem_destroy(vm->gm);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
}

static int vm_run_spec(const struct vm_config *cfg, const struct boot_spec *specp);

static const char *vm_stop_text(enum vm_stop_reason why)
{
	switch (why) {
	case VM_STOP_POWEROFF: return "guest powered off";
	case VM_STOP_RESET: return "guest reset";
	case VM_STOP_DEBUG_EXIT: return "guest wrote the debug-exit port";
	case VM_STOP_USER: return "stopped by the user";
	default: return "stopped after an error";
	}
}

/* No --kernel: the first disk's own kernel, initrd and command line
 * (boot/disk_boot.h), read before the VM opens the disk for itself. */
static int vm_disk_kernel(const struct vm_config *cfg, struct boot_spec *spec,
			  struct disk_boot **found)
{
	if (cfg->kernel) {
		printf("kernel: %s (given by --kernel: the disk is not searched)\n", cfg->kernel);
		return 0;
	}
	if (disk_boot_open(cfg->disks[0], cfg->cmdline, found) < 0)
		return -1;
	if (cfg->boot_info) {
		disk_boot_print(*found, stdout);
		return 0;
	}
	disk_boot_spec(*found, spec);
	if (cfg->initrd) {	/* --initrd replaces the disk's */
		spec->initrd_path = cfg->initrd;
		spec->initrd_data = NULL;
		spec->initrd_size = 0;
	}
	log_debug("boot: booting %s from %s", spec->kernel_path, cfg->disks[0]);
	return 0;
}

int vm_run(const struct vm_config *cfg)
{
	struct boot_spec spec = {
		.kernel_path = cfg->kernel, .initrd_path = cfg->initrd,
		.cmdline = cfg->cmdline, .ncpus = cfg->ncpus,
	};
	struct disk_boot *found = NULL;
	if ((!cfg->kernel || cfg->boot_info) && vm_disk_kernel(cfg, &spec, &found) < 0)
		return 1;
	if (cfg->boot_info) {
		disk_boot_free(found);
		return 0;
	}
	int status = vm_run_spec(cfg, &spec);
	disk_boot_free(found);
	return status;
}

static int vm_run_spec(const struct vm_config *cfg, const struct boot_spec *specp)
{
	uint8_t uuid[UUID_LEN];
	struct boot_spec spec = *specp;

	spec.uuid = uuid;	/* filled once the disks are open (below) */
	/* Mistakes the user can fix come first, before /dev/kvm is touched. */
	if (boot_check(&spec) < 0)
		return 1;

	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return 1;
	vm->cfg = cfg;
	vm->start_ns = now_ns();
	vm->kvm.dev_fd = vm->kvm.vm_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->stopper = (struct vm_stopper){ .request_stop = vm_request_stop_cb, .opaque = vm };
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int status = 1;
	bool started = false;
	vm_control_init(vm);
	if (vm->stop_efd < 0 || vm_console_open(vm) < 0) {
		if (vm->stop_efd >= 0)
			close(vm->stop_efd);
		goto out;
	}

	/* Stop signals go to the main loop's signalfd, never to a vCPU thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, VCPU_KICK_SIGNAL);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);

	/* Images are opened and locked, TAPs opened, before /dev/kvm (vm_build);
	 * the UUID after the disks: a missing disk is reported as such. */
	if (sig_fd < 0 || vm_disks_open(cfg, &vm->disks) < 0 || vm_identity_uuid(cfg, uuid) < 0 ||
	    vm_nics_open(cfg, &vm->nics) < 0 ||
	    vm_build(vm, &spec) < 0 ||
	    console_attach(vm->con) < 0)
		goto out_sig;
	/* On failure a stop is requested: the loop ends at once. */
	if (vm_start_vcpus(vm) == 0)
		vm_hooks_started(vm);
	started = true;
	vm_main_loop(vm, sig_fd);

out_sig:
	if (sig_fd >= 0)
		close(sig_fd);
	vm_request_stop(&vm->stopper, VM_STOP_ERROR, 1);	/* no-op if already stopping */
	vm_hooks_stopping(vm);	/* before anything goes */
	vm_teardown(vm);	/* joins the vCPU threads */
	status = vm->stop_status;
	if (!started)
		;	/* the error that kept it from starting said it all */
	else if (status == 0 || vm->stop_reason == VM_STOP_DEBUG_EXIT)
		log_debug("VM %s (exit status %d)", vm_stop_text(vm->stop_reason), status);
	else
		log_info("VM %s (exit status %d)", vm_stop_text(vm->stop_reason), status);
out:
	vm_control_fini(vm);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
	return status;
}
