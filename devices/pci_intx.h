/* PCI INTx lines shared by several functions. Slots s and s+8 (and so on)
 * are routed to the same IOAPIC pin (vmm/layout.h's pci_intx_gsi), and a
 * level-triggered pin is the OR of every function driving it: one device
 * lowering its INTx must not drop another's still-asserted interrupt.
 * KVM_IRQ_LINE from userspace keeps one level per pin, so the OR is kept
 * here and only the combined level is passed on. */
#ifndef MINIVMM_DEVICES_PCI_INTX_H
#define MINIVMM_DEVICES_PCI_INTX_H

#include <pthread.h>
#include <stdint.h>

#define PCI_INTX_PINS 24	/* IOAPIC pins; higher GSIs pass through unshared */
#define PCI_INTX_SOURCES 32	/* functions per pin: one per slot */

struct pci_intx {
	pthread_mutex_t lock;
	uint32_t asserted[PCI_INTX_PINS];	/* bit s: source s drives the pin */
	void (*set_line)(void *opaque, unsigned gsi, int level);
	void *opaque;
};

void pci_intx_init(struct pci_intx *x, void (*set_line)(void *opaque, unsigned gsi, int level),
		   void *opaque);
void pci_intx_fini(struct pci_intx *x);
/* Source (< PCI_INTX_SOURCES) drives gsi to level; the line gets the OR.
 * Safe from any thread (I/O threads raise, vCPU threads lower). */
void pci_intx_set(struct pci_intx *x, unsigned gsi, unsigned source, int level);

#endif
