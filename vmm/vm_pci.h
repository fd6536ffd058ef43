/* What every virtio-pci function of the VM gets from the machine: its
 * kicks as ioeventfds, its MSI-X vectors as irqfd-fed GSI routes, and its
 * INTx line on a pin that functions 8 slots apart share (pci_intx). The
 * disks (vm_disks.c) and NICs (vm_nics.c) plug through this. */
#ifndef MINIVMM_VM_PCI_H
#define MINIVMM_VM_PCI_H

#include "devices/pci_intx.h"
#include "devices/virtio/virtio_pci.h"

#include <stdbool.h>

struct kvm;

struct vm_pci {
	struct kvm *kvm;
	const struct guest_mem *gm;
	struct pci *pci;
	struct bus *mmio;
	struct pci_intx intx;
	unsigned next_source;	/* INTx source numbers handed out */
};

/* One function's handle (the transport hooks' opaque): lives as long as
 * the function. */
struct vm_pci_port {
	struct vm_pci *owner;
	unsigned source;
};

void vm_pci_init(struct vm_pci *vp, struct kvm *kvm, const struct guest_mem *gm,
		 struct pci *pci, struct bus *mmio);
/* The machine for one more function; fills PORT. */
struct vpci_machine vm_pci_machine(struct vm_pci *vp, struct vm_pci_port *port);
/* After every function is gone. */
void vm_pci_fini(struct vm_pci *vp);

#endif
