/* One PCI function's 256-byte configuration space (header type 0): the
 * bytes, a mask of the bits the guest may write, BARs whose size the guest
 * reads back by writing all-ones (PCI Local Bus spec 6.2.5.1), and a
 * capability list. Devices fill it at creation and forward their
 * cfg_read/cfg_write callbacks (devices/pci.h) to pci_cfg_read/_write.
 * Not locked: the PCI config lock serializes the callbacks. */
#ifndef MINIVMM_DEVICES_PCI_CFG_H
#define MINIVMM_DEVICES_PCI_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"

/* Header registers. */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_DEVICE   0x0a
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

#define PCI_COMMAND_IO      0x0001
#define PCI_COMMAND_MEMORY  0x0002
#define PCI_COMMAND_MASTER  0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_INTX     0x0008	/* interrupt status (read-only) */

#define PCI_BAR_COUNT       6
#define PCI_BAR_MEM_64      0x4	/* memory BAR, 64-bit, not prefetchable */
#define PCI_BAR_MIN_SIZE    4096	/* BARs get whole pages */

#define PCI_CAP_ID_VENDOR   0x09
#define PCI_CAP_ID_MSIX     0x11
#define PCI_CAP_FIRST       0x40	/* capabilities live in 0x40..0xff */

struct pci_cfg {
	uint8_t data[PCI_CFG_SPACE_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_SIZE];	/* 1 = guest-writable bit */
	uint64_t bar_size[PCI_BAR_COUNT];	/* 0: unused (or a 64-bit BAR's upper half) */
	uint8_t cap_end;			/* next free capability offset */
	uint8_t last_cap;			/* offset of the last capability, 0: none */
};

struct pci_id {
	uint16_t vendor, device, subsys_vendor, subsys_id;
	uint8_t revision;
	uint32_t class_code;	/* base << 16 | sub << 8 | prog-if */
};

/* Header type 0 with the given ids; command bits IO/MEMORY/MASTER and
 * INTX_DISABLE and the interrupt line are writable. */
void pci_cfg_init(struct pci_cfg *c, const struct pci_id *id);
/* Interrupt pin 1..4 (INTA..INTD) and the line (GSI) the firmware routed it to. */
void pci_cfg_set_intx(struct pci_cfg *c, uint8_t pin, uint8_t line);

/* A 64-bit memory BAR at 'addr' (from pci_alloc_mmio()); uses slots idx and
 * idx+1. size: a power of two >= PCI_BAR_MIN_SIZE, addr aligned to it.
 * 0 or -EINVAL (logged). */
int pci_cfg_set_bar64(struct pci_cfg *c, unsigned idx, uint64_t addr, uint64_t size);
/* The address the guest programmed into BAR idx (the low slot of a 64-bit
 * BAR), flag bits removed. */
uint64_t pci_cfg_bar_addr(const struct pci_cfg *c, unsigned idx);

/* Appends a capability of 'len' bytes (id and next pointer included,
 * len >= 2) to the list, body zeroed and read-only. Returns its offset, or
 * -ENOSPC if the space is full (logged). */
int pci_cfg_add_cap(struct pci_cfg *c, uint8_t id, uint8_t len);

/* Little-endian stores into the space, no mask (device side). */
void pci_cfg_set8(struct pci_cfg *c, uint32_t off, uint8_t v);
void pci_cfg_set16(struct pci_cfg *c, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_cfg *c, uint32_t off, uint32_t v);
uint16_t pci_cfg_get16(const struct pci_cfg *c, uint32_t off);
uint32_t pci_cfg_get32(const struct pci_cfg *c, uint32_t off);
/* Marks 'len' bytes at off writable with 'mask' per byte (le). */
void pci_cfg_set_wmask(struct pci_cfg *c, uint32_t off, uint32_t mask, uint32_t len);

/* Guest accesses, same contract as struct pci_func_ops (checked again
 * here: out-of-range accesses read all-ones / are dropped). */
void pci_cfg_read(const struct pci_cfg *c, uint32_t off, void *data, uint32_t len);
void pci_cfg_write(struct pci_cfg *c, uint32_t off, const void *data, uint32_t len);

/* Walks the capability list as a guest would, with the hostile-list
 * checks (pointer below 0x40 or past the space, loops): the offset of the
 * first capability with 'id', or -ENOENT, or -ELOOP for a malformed list. */
int pci_cfg_find_cap(const struct pci_cfg *c, uint8_t id);

#endif
