#include "vmm/vm_pci.h"
#include "vmm/kvm.h"

static struct kvm *port_kvm(void *opaque) { return ((struct vm_pci_port *)opaque)->owner->kvm; }

static int hook_ioeventfd(void *opaque, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	return kvm_ioeventfd(port_kvm(opaque), gpa, len, fd, assign);
}

static int hook_msi_add(void *opaque, int fd, unsigned *gsi)
{
	int r = kvm_msi_route_add(port_kvm(opaque), gsi);
	return r < 0 ? r : kvm_irqfd(port_kvm(opaque), fd, *gsi, true);
}

static int hook_msi_set(void *opaque, unsigned gsi, uint64_t addr, uint32_t data)
{
	return kvm_msi_route_set(port_kvm(opaque), gsi, addr, data);
}

static void hook_set_intx(void *opaque, unsigned gsi, int level)
{
	struct vm_pci_port *p = opaque;

	pci_intx_set(&p->owner->intx, gsi, p->source, level);
}

static void set_line(void *kvm, unsigned gsi, int level) { kvm_irq_line(kvm, gsi, level); }

void vm_pci_init(struct vm_pci *vp, struct kvm *kvm, const struct guest_mem *gm,
		 struct pci *pci, struct bus *mmio)
{
	*vp = (struct vm_pci){ .kvm = kvm, .gm = gm, .pci = pci, .mmio = mmio };
	pci_intx_init(&vp->intx, set_line, kvm);
}

struct vpci_machine vm_pci_machine(struct vm_pci *vp, struct vm_pci_port *port)
{
	/* One source number per function: more functions than sources would
	 * only share a bit on pins they do not share (slots < 32). */
	*port = (struct vm_pci_port){ .owner = vp, .source = vp->next_source++ % PCI_INTX_SOURCES };
	return (struct vpci_machine){
		.pci = vp->pci, .mmio = vp->mmio, .gm = vp->gm,
		.ioeventfd = hook_ioeventfd, .msi_add = hook_msi_add,
		.msi_set = hook_msi_set, .set_intx = hook_set_intx, .opaque = port,
	};
}

void vm_pci_fini(struct vm_pci *vp) { pci_intx_fini(&vp->intx); }
