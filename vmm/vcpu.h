/* One virtual CPU: its KVM file descriptor, its kvm_run page, CPUID, the
 * local APIC's LINT pins, and the register state the boot protocol asks
 * for on the boot vCPU. The others wait in KVM for the guest's INIT/SIPI. */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct kvm;
struct kvm_cpuid2;
struct kvm_run;
struct boot_entry;
struct exit_stats;

struct vcpu {
	unsigned id;		/* also its APIC ID */
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	void *owner;		/* the VM, for the vCPU's thread */
	struct exit_stats *stats;	/* NULL unless MINIVMM_EXIT_STATS is set */
};

int vcpu_create(struct vcpu *v, struct kvm *kvm, unsigned id,
		const struct kvm_cpuid2 *supported, unsigned ncpus);
/* Registers and segments for entering the kernel as boot/ describes. */
int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *entry);
/* Logs RIP, RSP, CR0/3/4 and EFER (after a fatal exit). */
void vcpu_log_state(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
