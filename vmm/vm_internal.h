/* struct vm, shared by vm.c (build, run loop, teardown) and vm_control.c
 * (what a controller may ask of a running VM: vmm/vm_control.h). Nothing
 * outside these two files includes it. */
#ifndef MINIVMM_VM_INTERNAL_H
#define MINIVMM_VM_INTERNAL_H

#include "vmm/exit_stats.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/vcpu.h"
#include "vmm/vm_hooks.h"
#include "vmm/vm_pci.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* vCPU threads are kicked out of KVM_RUN with this signal. */
#define VCPU_KICK_SIGNAL SIGUSR1

struct vm_config;

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_mem *gm;
	struct bus *pio, *mmio;
	struct platform_devices *devices;
	struct vm_disks *disks;
	struct vm_nics *nics;
	struct vm_pci pci;	/* what the virtio-pci functions get from KVM */
	bool pci_ready;
	struct console *con;
	struct vcpu vcpus[MAX_VCPUS];
	unsigned nvcpus;	/* created so far */
	struct exit_counts exits[MAX_VCPUS];	/* each written by its vCPU thread only */

	struct vm_stopper stopper;
	struct irq_line com1_irq;
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	enum vm_stop_reason stop_reason;
	int stop_status;
	int stop_efd;		/* becomes readable once a stop is requested */
	uint64_t start_ns;	/* vm_run's start, for the exit stats */
	_Atomic uint64_t first_run_ns;	/* the first KVM_RUN of any vCPU */

	/* Pausing (vm_control.c). pause_wanted changes, and a paused vCPU's
	 * immediate_exit is cleared, only under pause_lock: a kick for a
	 * new pause can then never be lost to a vCPU leaving the last one. */
	pthread_mutex_t pause_lock;
	pthread_cond_t unpause_cv;	/* parked vCPUs wait here */
	pthread_cond_t parked_cv;	/* vm_pause waits here for them */
	atomic_bool pause_wanted;
	unsigned parked;
	bool hooks_started;	/* hooks->started was called: 'stopping' is owed */
};

/* vm_control.c, for vm.c */
void vm_control_init(struct vm *vm);
void vm_control_fini(struct vm *vm);
/* Makes every vCPU leave KVM_RUN soon (immediate_exit and the signal). */
void vm_kick_vcpus(struct vm *vm);
/* After a stop was published: wakes parked vCPUs and a waiting vm_pause. */
void vm_control_stop_requested(struct vm *vm);
/* A vCPU thread, between two KVM_RUNs, when a pause may be wanted: parks
 * while paused, then re-arms KVM_RUN (clears immediate_exit) unless the
 * VM is stopping. */
void vm_vcpu_pause_point(struct vm *vm, struct vcpu *v);
/* cfg->console: the terminal, "-", a file, or VM_CONSOLE_DETACHED. */
int vm_console_open(struct vm *vm);
/* The hooks of cfg->hooks, on the main thread. */
void vm_hooks_started(struct vm *vm);
void vm_hooks_stopping(struct vm *vm);

#endif
