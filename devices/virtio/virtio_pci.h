/* virtio 1.x "modern" PCI transport (virtio spec 4.1) around a
 * transport-independent device (virtio-blk: blk.h).
 *
 * The function gets a free slot on bus 0 and two 64-bit memory BARs from
 * the PCI bus's allocator:
 *   BAR 0 (16 KiB)  common config 0x0000, ISR 0x1000, device config 0x2000,
 *                   notify 0x3000 (queue q at 0x3000 + 4*q)
 *   BAR 2 (4 KiB)   MSI-X table 0x000 (one vector per queue + config), PBA 0x800
 * described by four vendor capabilities and an MSI-X capability, plus the
 * VIRTIO_PCI_CAP_PCI_CFG window (spec 4.1.4.9): config-space access to the
 * same four structures, for drivers that cannot map the BARs.
 *
 * Threads: BAR and config-space accesses come from vCPU threads; the
 * device's I/O thread only raises interrupts (vpci_device_hooks()), which
 * write an eventfd (MSI-X: an irqfd routed by the machine) or set the INTx
 * line. Queue kicks go straight from KVM (ioeventfd on the notify address)
 * to the I/O thread: the vCPU does no device work. A DRIVER_OK or reset
 * written by the driver starts or stops the device on the writing vCPU.
 *
 * Every driver-written value is checked: widths and offsets of accesses,
 * queue sizes (power of two, <= the device's maximum), ring addresses (by
 * virtq_setup at DRIVER_OK), MSI-X vector numbers (out of range reads back
 * as NO_VECTOR), features (subset of the offer, VERSION_1 required), status
 * transitions. Ignored accesses are logged, rate-limited. */
#ifndef MINIVMM_VIRTIO_PCI_H
#define MINIVMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/blk.h"

struct bus;
struct guest_mem;
struct pci;
struct vpci;

/* virtio-net's 16 queue pairs and its control queue. */
#define VPCI_MAX_QUEUES 33
#define VPCI_NO_VECTOR 0xffff
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040	/* + virtio device id (2 = block) */
#define VIRTIO_ID_BLOCK 2

/* BAR 0 layout. */
#define VPCI_COMMON_OFF 0x0000
#define VPCI_COMMON_LEN 0x38
#define VPCI_ISR_OFF 0x1000
#define VPCI_ISR_LEN 1
#define VPCI_DEVCFG_OFF 0x2000
#define VPCI_NOTIFY_OFF 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_BAR0_SIZE 0x4000
/* BAR 2 layout. */
#define VPCI_MSIX_TABLE_OFF 0x000
#define VPCI_MSIX_PBA_OFF 0x800
#define VPCI_BAR2_SIZE 0x1000

/* Vendor capabilities in config space (spec 4.1.4), little-endian. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

struct virtio_pci_cap {
	uint8_t cap_vndr;	/* PCI_CAP_ID_VENDOR */
	uint8_t cap_next;
	uint8_t cap_len;
	uint8_t cfg_type;	/* VIRTIO_PCI_CAP_* */
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset;	/* within the BAR */
	uint32_t length;
};
_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap is 16 bytes");

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
};
_Static_assert(sizeof(struct virtio_pci_notify_cap) == 20, "virtio_pci_notify_cap is 20 bytes");

/* The access window: the driver writes cap.bar, cap.offset, cap.length
 * (1, 2 or 4), then reads or writes pci_cfg_data to access that BAR. */
struct virtio_pci_cfg_cap {
	struct virtio_pci_cap cap;
	uint8_t pci_cfg_data[4];
};
_Static_assert(sizeof(struct virtio_pci_cfg_cap) == 20, "virtio_pci_cfg_cap is 20 bytes");

/* What the transport needs from the machine. The KVM hooks may be NULL
 * (unit tests): kicks then go through the MMIO notify handler, and MSI-X
 * interrupts are only the eventfd writes. */
struct vpci_machine {
	struct pci *pci;		/* slot, BARs, config callbacks */
	struct bus *mmio;		/* the BARs' handlers */
	const struct guest_mem *gm;
	/* Writes of 'len' bytes at gpa signal fd (KVM_IOEVENTFD). */
	int (*ioeventfd)(void *opaque, uint64_t gpa, uint32_t len, int fd, bool assign);
	/* New MSI route fed by eventfd 'fd' (GSI routing + KVM_IRQFD). */
	int (*msi_add)(void *opaque, int fd, unsigned *gsi);
	/* Point the route at the message the driver programmed. */
	int (*msi_set)(void *opaque, unsigned gsi, uint64_t addr, uint32_t data);
	void (*set_intx)(void *opaque, unsigned gsi, int level);	/* required */
	void *opaque;
};

/* The device behind the transport. */
struct vpci_dev_ops {
	uint64_t (*features)(void *dev);
	unsigned (*num_queues)(void *dev);
	unsigned (*queue_max_size)(void *dev);
	uint32_t (*config_size)(void *dev);
	void (*config_read)(void *dev, uint32_t off, void *buf, uint32_t len);
	/* DRIVER_OK: queues[i] as the driver laid them out, kick_fds[i] the
	 * eventfds of their notify addresses. 0 or -errno (logged). */
	int (*start)(void *dev, const struct guest_mem *gm, uint64_t features,
		     const struct virtio_queue_layout *queues, const int *kick_fds);
	void (*reset)(void *dev);
};

/* Step 1: the transport without a device (so the device can be created
 * with vpci_device_hooks()). 'name' is for log lines ("vda"). NULL on
 * error (logged). */
struct vpci *vpci_new(const struct vpci_machine *m, uint16_t virtio_id, const char *name);
/* Hooks for the device: notify(queue) and needs_reset() raise interrupts. */
struct virtio_hooks vpci_device_hooks(struct vpci *t);
/* Step 2: attach the device, take a slot and BARs, register the BAR
 * handlers, eventfds and MSI routes. Before any vCPU runs. 0 or -errno
 * (logged). After a failure nothing points at the transport any more (BAR
 * ranges, PCI slot and ioeventfds are taken back), so vpci_destroy() may
 * follow; the MSI routes stay allocated, unused, and the BAR addresses are
 * not handed out again. */
int vpci_plug(struct vpci *t, const struct vpci_dev_ops *ops, void *dev);
/* After the vCPUs stopped; the device must be stopped (reset) first. */
void vpci_destroy(struct vpci *t);

/* The device given to vpci_plug(). */
void *vpci_device(const struct vpci *t);
/* Where the function ended up (tests, logs). */
uint8_t vpci_slot(const struct vpci *t);
uint64_t vpci_bar_base(const struct vpci *t, unsigned bar);	/* bar 0 or 2 */
/* The eventfd behind MSI-X vector v (tests observe interrupts), -1 if none. */
int vpci_vector_fd(const struct vpci *t, unsigned v);
/* The kick eventfd of queue q. */
int vpci_kick_fd(const struct vpci *t, unsigned q);

/* virtio-blk on virtio-pci in one call: vblk_create + vpci_plug. The disk
 * stays the caller's. NULL on error (logged). */
struct vpci *vpci_blk_create(const struct vpci_machine *m, struct disk *disk,
			     const struct vblk_opts *opts);
/* Stops the device, then destroys it and the transport. */
void vpci_blk_destroy(struct vpci *t);

/* virtio-net on virtio-pci: vnet_create + vpci_plug. The TAP fds in OPTS
 * become the device's. NULL on error (logged). */
struct vnet_opts;
struct vpci *vpci_net_create(const struct vpci_machine *m, const struct vnet_opts *opts);
void vpci_net_destroy(struct vpci *t);

#endif
