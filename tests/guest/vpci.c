/* Virtio over PCI for the test guest's polled drivers (vpci.h). */
#include "console.h"
#include "guest.h"
#include "io.h"
#include "vpci.h"

#define NO_VECTOR 0xffff
/* Common configuration (virtio 1.2, 4.1.4.3). */
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0c
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_VECTOR 0x1a
#define CC_QUEUE_ENABLE 0x1c
#define CC_QUEUE_NOTIFY_OFF 0x1e
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30

static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void cfg_addr(unsigned slot, unsigned reg)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
}

uint32_t pci_cfg32(unsigned slot, unsigned reg)
{
	cfg_addr(slot, reg);
	return inl(0xcfc);
}

void pci_cfg32_write(unsigned slot, unsigned reg, uint32_t v)
{
	cfg_addr(slot, reg);
	outl(0xcfc, v);
}

uint8_t pci_cfg8(unsigned slot, unsigned reg) { return (uint8_t)(pci_cfg32(slot, reg) >> (8 * (reg & 3))); }

uint16_t pci_cfg16(unsigned slot, unsigned reg)
{
	uint16_t v;
	cfg_addr(slot, reg);
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"((uint16_t)(0xcfc + (reg & 2))));
	return v;
}

static void read_caps(unsigned slot, uint64_t bar, struct vpci_dev *d)
{
	for (unsigned p = pci_cfg8(slot, 0x34), n = 0; p && n < 48; p = pci_cfg8(slot, p + 1), n++) {
		if (pci_cfg8(slot, p) != 0x09 || pci_cfg8(slot, p + 4) != 0)
			continue;	/* vendor caps in BAR 0 only */
		uint32_t off = pci_cfg32(slot, p + 8);
		switch (pci_cfg8(slot, p + 3)) {
		case 1: d->common = bar + (d->common_off = off); break;
		case 2:
			d->notify = bar + (d->notify_off = off);
			d->notify_mult = pci_cfg32(slot, p + 16);
			break;
		case 4: d->devcfg = bar + (d->devcfg_off = off); break;
		case 5:
			if (!d->win_cap)
				d->win_cap = p;	/* struct virtio_pci_cfg_cap */
			break;
		}
	}
}

int vpci_find(const char *name, uint32_t id, struct vpci_dev *d)
{
	*d = (struct vpci_dev){ 0 };
	for (unsigned slot = 0; slot < 32; slot++) {
		if (pci_cfg32(slot, 0) != id)
			continue;
		uint64_t bar = (pci_cfg32(slot, 0x10) & ~0xfu) | (uint64_t)pci_cfg32(slot, 0x14) << 32;
		pci_cfg32_write(slot, 0x04, 0x6);	/* memory decode, bus master */
		read_caps(slot, bar, d);
		d->slot = slot;
		kprintf("%s: %x:%x at 00:%s%x.0, BAR 0 0x%lx\n", name, id & 0xffff, id >> 16,
			slot < 16 ? "0" : "", slot, (unsigned long)bar);
		return d->common && d->notify ? 0 : -1;
	}
	kprintf("%s: no %x:%x on bus 0\n", name, id & 0xffff, id >> 16);
	return -1;
}

uint8_t vpci_status(const struct vpci_dev *d) { return mmio_read8(d->common + CC_STATUS); }

int vpci_reset(const struct vpci_dev *d)
{
	mmio_write8(d->common + CC_STATUS, 0);
	uint64_t end = rdtsc() + tsc_ticks_for_seconds(2);
	while (vpci_status(d) != 0)
		if (rdtsc() > end)
			return -1;
	return 0;
}

int vpci_negotiate(const struct vpci_dev *d, uint64_t features)
{
	mmio_write8(d->common + CC_STATUS, VPCI_ST_ACK | VPCI_ST_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		mmio_write32(d->common + CC_DRIVER_FEATURE_SELECT, sel);
		mmio_write32(d->common + CC_DRIVER_FEATURE, (uint32_t)(features >> (32 * sel)));
	}
	mmio_write8(d->common + CC_STATUS, VPCI_ST_ACK | VPCI_ST_DRIVER | VPCI_ST_FEATURES_OK);
	return vpci_status(d) & VPCI_ST_FEATURES_OK ? 0 : -1;
}

uint16_t vpci_num_queues(const struct vpci_dev *d) { return mmio_read16(d->common + CC_NUM_QUEUES); }

uint64_t vpci_queue_setup(const struct vpci_dev *d, uint16_t q, uint16_t size,
			  const void *desc, const void *avail, const void *used)
{
	mmio_write16(d->common + CC_QUEUE_SELECT, q);
	mmio_write16(d->common + CC_QUEUE_SIZE, size);
	if (mmio_read16(d->common + CC_QUEUE_SIZE) != size)
		return 0;
	mmio_write16(d->common + CC_QUEUE_VECTOR, NO_VECTOR);
	mmio_write64(d->common + CC_QUEUE_DESC, (uintptr_t)desc);
	mmio_write64(d->common + CC_QUEUE_DRIVER, (uintptr_t)avail);
	mmio_write64(d->common + CC_QUEUE_DEVICE, (uintptr_t)used);
	mmio_write16(d->common + CC_QUEUE_ENABLE, 1);
	return d->notify + (uint64_t)mmio_read16(d->common + CC_QUEUE_NOTIFY_OFF) * d->notify_mult;
}

int vpci_driver_ok(const struct vpci_dev *d)
{
	uint8_t want = vpci_status(d) | VPCI_ST_DRIVER_OK;
	mmio_write8(d->common + CC_STATUS, want);
	return vpci_status(d) == want ? 0 : -1;
}
