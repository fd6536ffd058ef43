/* What a device may ask of the machine it sits in, as plain callbacks so a
 * device can be unit-tested with fakes and knows nothing of KVM. */
#ifndef MINIVMM_VM_HOOKS_H
#define MINIVMM_VM_HOOKS_H

/* One interrupt line (a GSI of the in-kernel IOAPIC/PIC). */
struct irq_line {
	void (*set_level)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	line->set_level(line->opaque, line->gsi, level);
}

enum vm_stop_reason {
	VM_STOP_POWEROFF,	/* ACPI S5 */
	VM_STOP_RESET,		/* i8042 0xFE, ACPI reset register, triple fault */
	VM_STOP_DEBUG_EXIT,	/* test guest wrote PORT_DEBUG_EXIT */
	VM_STOP_USER,		/* Ctrl+] or a signal */
	VM_STOP_ERROR,		/* an internal error */
};

/* Asks the VM to stop: every vCPU leaves KVM_RUN and minivmm exits with
 * 'status'. Safe from any thread; the first request wins. */
struct vm_stopper {
	void (*request_stop)(void *opaque, enum vm_stop_reason why, int status);
	void *opaque;
};

static inline void vm_request_stop(const struct vm_stopper *s, enum vm_stop_reason why, int status)
{
	s->request_stop(s->opaque, why, status);
}

#endif
