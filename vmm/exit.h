/* What to do with one KVM_RUN exit. A function of struct kvm_run and the
 * buses only, so unit tests feed it synthetic exits without /dev/kvm. */
#ifndef MINIVMM_EXIT_H
#define MINIVMM_EXIT_H

#include <stddef.h>

struct kvm_run;
struct bus;
struct vm_stopper;

struct exit_ctx {
	struct bus *pio;
	struct bus *mmio;
	const struct vm_stopper *stop;
	unsigned vcpu_id;
	size_t run_size;	/* bytes mapped at the kvm_run (bounds the I/O data) */
};

/* EXIT_STOP: the VM is stopping (a stop was requested); EXIT_FAILED: it is
 * stopping because the guest or KVM failed, and the caller should log the
 * vCPU's state. */
enum exit_action { EXIT_CONTINUE, EXIT_STOP, EXIT_FAILED };

enum exit_action exit_dispatch(struct kvm_run *run, const struct exit_ctx *ctx);

#endif
