/* Virtio over PCI (virtio 1.x modern) for the test guest's polled drivers
 * (vblk.c, vnet.c): PCI configuration mechanism #1 on bus 0, the vendor
 * capabilities in BAR 0, feature negotiation and queue set-up. No
 * interrupts: every queue gets NO_VECTOR and the drivers poll. */
#ifndef GUEST_VPCI_H
#define GUEST_VPCI_H

#include <stdint.h>

#define VPCI_ST_ACK 1
#define VPCI_ST_DRIVER 2
#define VPCI_ST_DRIVER_OK 4
#define VPCI_ST_FEATURES_OK 8
#define VPCI_ST_NEEDS_RESET 64

/* Split-ring descriptor flags and layout (virtio 1.2, 2.7.5). */
#define VQ_F_NEXT 1
#define VQ_F_WRITE 2
struct vq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

/* Guest-physical = virtual in this guest (identity mapped): an address
 * that is no RAM (the PCI hole, above any BAR minivmm gives out). */
#define VPCI_NOT_RAM 0xf0000000ull

struct vpci_dev {
	unsigned slot;				/* device number on bus 0 */
	uint64_t common, notify, devcfg;	/* MMIO addresses */
	uint32_t common_off, notify_off, devcfg_off;	/* the same, in BAR 0 */
	uint32_t notify_mult;
	unsigned win_cap;	/* VIRTIO_PCI_CAP_PCI_CFG capability, 0: none */
};

uint32_t pci_cfg32(unsigned slot, unsigned reg);
uint16_t pci_cfg16(unsigned slot, unsigned reg);
uint8_t pci_cfg8(unsigned slot, unsigned reg);
void pci_cfg32_write(unsigned slot, unsigned reg, uint32_t v);

/* Finds the first function ID (device << 16 | vendor) on bus 0, turns on
 * memory decode and bus mastering and reads its capabilities; prints
 * "NAME: 1af4:DDDD at 00:SS.0, BAR 0 0x..." (or why not). 0 or -1. */
int vpci_find(const char *name, uint32_t id, struct vpci_dev *d);

uint8_t vpci_status(const struct vpci_dev *d);
/* Writes 0 and waits for the device to read back 0 (reset done). 0 or -1. */
int vpci_reset(const struct vpci_dev *d);
/* After a reset: ACK, DRIVER, the driver features, FEATURES_OK. 0 when
 * the device kept FEATURES_OK, else -1. */
int vpci_negotiate(const struct vpci_dev *d, uint64_t features);
uint16_t vpci_num_queues(const struct vpci_dev *d);
/* Queue Q: SIZE entries at the given rings, no MSI-X vector, enabled.
 * Returns the queue's notify address (0 if the device refuses SIZE). */
uint64_t vpci_queue_setup(const struct vpci_dev *d, uint16_t q, uint16_t size,
			  const void *desc, const void *avail, const void *used);
/* DRIVER_OK on top of what is set; 0 when the status reads back as such. */
int vpci_driver_ok(const struct vpci_dev *d);

#endif
