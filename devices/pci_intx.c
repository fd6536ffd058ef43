/* Shared PCI INTx lines: see pci_intx.h. */
#include "devices/pci_intx.h"

void pci_intx_init(struct pci_intx *x, void (*set_line)(void *opaque, unsigned gsi, int level),
		   void *opaque)
{
	pthread_mutex_init(&x->lock, NULL);
	for (unsigned i = 0; i < PCI_INTX_PINS; i++)
		x->asserted[i] = 0;
	x->set_line = set_line;
	x->opaque = opaque;
}

void pci_intx_fini(struct pci_intx *x)
{
	pthread_mutex_destroy(&x->lock);
}

void pci_intx_set(struct pci_intx *x, unsigned gsi, unsigned source, int level)
{
	if (gsi >= PCI_INTX_PINS || source >= PCI_INTX_SOURCES) {
		x->set_line(x->opaque, gsi, level);	/* not shared */
		return;
	}
	/* Under the lock so that two sources' updates reach the line in the
	 * order their masks changed. */
	pthread_mutex_lock(&x->lock);
	if (level)
		x->asserted[gsi] |= 1u << source;
	else
		x->asserted[gsi] &= ~(1u << source);
	x->set_line(x->opaque, gsi, x->asserted[gsi] != 0);
	pthread_mutex_unlock(&x->lock);
}
