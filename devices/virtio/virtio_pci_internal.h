/* State shared by the virtio-pci transport's files: virtio_pci.c (config
 * space, common config, BAR 0) and virtio_pci_irq.c (MSI-X, INTx). */
#ifndef MINIVMM_VIRTIO_PCI_INTERNAL_H
#define MINIVMM_VIRTIO_PCI_INTERNAL_H

#include "devices/pci_cfg.h"
#include "devices/virtio/ratelimit.h"
#include "devices/virtio/virtio_pci.h"

#include <pthread.h>
#include <stdatomic.h>

#define VPCI_MAX_VECTORS (VPCI_MAX_QUEUES + 1)

/* virtio_pci_isr_cfg bits. */
#define VPCI_ISR_QUEUE 0x1
#define VPCI_ISR_CONFIG 0x2

struct vpci_queue {
	uint16_t size;
	bool enabled;
	uint64_t desc, driver, device;
	int kick_fd;
	bool ioeventfd_on;		/* assigned through the machine's hook */
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;	/* ctrl bit 0: masked */
};

struct vpci_irq {
	pthread_mutex_t lock;
	unsigned nvec;
	struct msix_entry table[VPCI_MAX_VECTORS];
	uint64_t pba;			/* pending bits of masked vectors */
	bool enabled, func_masked;	/* MSI-X message control */
	int fd[VPCI_MAX_VECTORS];	/* irqfds */
	unsigned gsi[VPCI_MAX_VECTORS];
	bool routed[VPCI_MAX_VECTORS];	/* a route exists (msi_add worked) */
	uint64_t route_addr[VPCI_MAX_VECTORS];
	uint32_t route_data[VPCI_MAX_VECTORS];
	uint16_t config_vector, queue_vector[VPCI_MAX_QUEUES];
	uint8_t isr;
	bool intx_disabled, intx_level;
	unsigned intx_gsi;
};

struct vpci {
	char name[16];
	struct vpci_machine m;
	uint16_t virtio_id;
	const struct vpci_dev_ops *ops;
	void *dev;
	unsigned nq;

	/* Common configuration; held across the device's start and reset. */
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint64_t offered, driver_features;
	uint8_t status;
	bool started;
	uint16_t queue_select;
	struct vpci_queue q[VPCI_MAX_QUEUES];
	atomic_bool needs_reset;	/* set by the I/O thread */

	struct vpci_irq irq;

	/* PCI side: touched under the PCI config lock. */
	struct pci_cfg cfg;
	uint8_t slot;
	int msix_cap;
	int window_cap;			/* the VIRTIO_PCI_CAP_PCI_CFG capability */
	uint64_t bar_base[2];		/* BAR 0, BAR 2 */
	bool bar_mapped[2];		/* registered on the MMIO bus */
	bool has_slot;			/* registered on the PCI bus */
	atomic_bool decode_ok;		/* memory decode on and BARs where we put them */
	struct ratelimit rl;
};

/* virtio_pci.c */
/* BAR 0 accesses without the memory-decode check (the MMIO handlers add
 * it; the config-space window does not need the BAR mapped). */
void vpci_bar0_read(struct vpci *t, uint64_t off, void *data, uint32_t len);
void vpci_bar0_write(struct vpci *t, uint64_t off, const void *data, uint32_t len);
/* Appends a vendor capability of cfg_type 'type' for BAR 0 [off, off+len):
 * its offset, or -errno. */
int vpci_add_virtio_cap(struct vpci *t, uint8_t type, uint32_t off, uint32_t len);

/* virtio_pci_window.c: the VIRTIO_PCI_CAP_PCI_CFG access window. */
int vpci_window_add_cap(struct vpci *t);
/* Around the config-space callbacks (PCI lock held): a read touching
 * pci_cfg_data first reads the BAR into it; a write touching it then
 * writes the BAR from it. */
void vpci_window_cfg_read(struct vpci *t, uint32_t off, uint32_t len);
void vpci_window_cfg_write(struct vpci *t, uint32_t off, uint32_t len);

/* virtio_pci_irq.c */
void vpci_irq_init(struct vpci *t);
int vpci_irq_setup(struct vpci *t);		/* eventfds + routes, at plug */
void vpci_irq_destroy(struct vpci *t);
void vpci_irq_reset(struct vpci *t);		/* virtio reset: vectors, ISR, line */
void vpci_raise(struct vpci *t, uint16_t vector, uint8_t isr_bit);
void vpci_raise_queue(struct vpci *t, unsigned q);
void vpci_raise_config(struct vpci *t);
uint8_t vpci_isr_read_clear(struct vpci *t);
/* Message control or command register changed (config-space write). */
void vpci_irq_cfg_changed(struct vpci *t, uint16_t msix_ctrl, uint16_t command);
void vpci_msix_read(struct vpci *t, uint64_t off, void *data, uint32_t len);
void vpci_msix_write(struct vpci *t, uint64_t off, const void *data, uint32_t len);
/* Vector numbers as the driver writes them: out of range -> NO_VECTOR. */
uint16_t vpci_set_config_vector(struct vpci *t, uint16_t v);
uint16_t vpci_set_queue_vector(struct vpci *t, unsigned q, uint16_t v);
uint16_t vpci_get_config_vector(struct vpci *t);
uint16_t vpci_get_queue_vector(struct vpci *t, unsigned q);

#define vpci_log(t, ...) do { if (ratelimit_ok(&(t)->rl)) log_warn(__VA_ARGS__); } while (0)

#endif
