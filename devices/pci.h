/* PCI configuration access, mechanism #1: a 32-bit address latch at
 * 0xCF8 (bit 31 enable, bus 23:16, device 15:11, function 10:8, register
 * 7:2) and a 4-byte data window at 0xCFC-0xCFF accessed at any width and
 * offset. Only 32-bit accesses to the latch touch it, as on real chipsets.
 *
 * Functions are kept in a small table keyed by bus/device/function, each
 * with config-space callbacks; a function absent from the table reads as
 * all-ones (vendor 0xFFFF: "no device") and ignores writes. Config-space
 * callbacks run serialized under the PCI lock.
 *
 * The bus also hands out what devices must not pick themselves: slots on
 * bus 0 and BAR addresses in the MMIO window (naturally aligned, never
 * reused), and it holds the host bridge at 00:00.0 that Linux's type-1
 * sanity check looks for. */
#ifndef MINIVMM_DEVICES_PCI_H
#define MINIVMM_DEVICES_PCI_H

#include <stdint.h>

#include "vmm/bus.h"

#define PCI_CONFIG_ADDR_LEN 4
#define PCI_CONFIG_DATA_LEN 4
#define PCI_CFG_SPACE_SIZE 256
#define PCI_MAX_DEVICES 32
#define PCI_MAX_FUNCTIONS 8

#define PCI_CONFIG_ENABLE 0x80000000u

struct pci_func_ops {
	/* offset + len <= PCI_CFG_SPACE_SIZE and the access stays within one
	 * dword; len is 1, 2 or 4; data is little-endian. */
	void (*cfg_read)(void *opaque, uint32_t offset, void *data, uint32_t len);
	void (*cfg_write)(void *opaque, uint32_t offset, const void *data, uint32_t len);
};

struct pci;

/* NULL on out-of-memory (logged). */
struct pci *pci_create(void);
void pci_destroy(struct pci *pci);

/* Claims the address latch and the data window. 0 or -errno (logged). */
int pci_register(struct pci *pci, struct bus *pio, uint16_t addr_port, uint16_t data_port);

/* Adds a function before vCPUs run. 0, -EINVAL (dev > 31, fn > 7, no ops),
 * -EEXIST (taken), -ENOMEM; logged. */
int pci_add_function(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		     const struct pci_func_ops *ops, void *opaque);

/* Config access by bus/device/function, for the port window above and for
 * a later memory-mapped (ECAM) window. Out-of-range offsets, lengths other
 * than 1/2/4 or crossing a dword read all-ones / are dropped. */
void pci_config_read(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		     uint32_t offset, void *data, uint32_t len);
void pci_config_write(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		      uint32_t offset, const void *data, uint32_t len);

/* The host bridge at 00:00.0 (class 0x0600). 0 or -errno (logged). */
int pci_add_host_bridge(struct pci *pci);

/* Adds a single-function device on bus 0 at the first free slot from 1;
 * *slot receives it. 0, -ENOSPC (bus full), -ENOMEM; logged. */
int pci_add_device(struct pci *pci, const struct pci_func_ops *ops, void *opaque,
		   uint8_t *slot);

/* Takes back a function added above (a device whose set-up failed after
 * it took its slot), so nothing points at it any more. Before vCPUs run.
 * 0, or -ENOENT (logged). */
int pci_remove_function(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn);

/* The guest-physical window BARs are allocated from: [start, end). */
void pci_set_mmio_window(struct pci *pci, uint64_t start, uint64_t end);
/* A BAR's address: 'size' a power of two >= 4 KiB, aligned to its size.
 * 0, or -EINVAL (bad size) / -ENOSPC (window full); logged. */
int pci_alloc_mmio(struct pci *pci, uint64_t size, uint64_t *addr);

#endif
