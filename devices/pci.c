#include "devices/pci.h"
#include "devices/pci_cfg.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Latch bits that exist: enable, bus, device, function, register (dword). */
#define ADDR_MASK 0x80fffffcu

struct pci_function {
	uint16_t bdf;		/* bus << 8 | dev << 3 | fn */
	const struct pci_func_ops *ops;
	void *opaque;
};

struct pci {
	pthread_mutex_t lock;	/* latch + config accesses */
	uint32_t addr;		/* the 0xCF8 latch */
	struct pci_function *funcs;
	unsigned nfuncs;
	uint64_t mmio_next, mmio_end;	/* BAR allocator: bump pointer */
	struct pci_cfg host_bridge;
};

static uint16_t make_bdf(uint8_t bus, uint8_t dev, uint8_t fn)
{
	return (uint16_t)(bus << 8 | (dev & 0x1f) << 3 | (fn & 7));
}

static const struct pci_function *find_function(const struct pci *pci, uint16_t bdf)
{
	for (unsigned i = 0; i < pci->nfuncs; i++)
		if (pci->funcs[i].bdf == bdf)
			return &pci->funcs[i];
	return NULL;
}

static bool access_ok(uint8_t dev, uint8_t fn, uint32_t offset, uint32_t len)
{
	if (dev >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCTIONS)
		return false;
	if (len != 1 && len != 2 && len != 4)
		return false;
	return offset < PCI_CFG_SPACE_SIZE && (offset & 3) + len <= 4;
}

/* Callers hold pci->lock. */
static void config_read_locked(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
			       uint32_t offset, void *data, uint32_t len)
{
	const struct pci_function *f = NULL;
	if (access_ok(dev, fn, offset, len))
		f = find_function(pci, make_bdf(bus, dev, fn));
	if (f && f->ops->cfg_read)
		f->ops->cfg_read(f->opaque, offset, data, len);
	else
		memset(data, 0xff, len);	/* no device: vendor 0xffff */
}

static void config_write_locked(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
				uint32_t offset, const void *data, uint32_t len)
{
	if (!access_ok(dev, fn, offset, len))
		return;
	const struct pci_function *f = find_function(pci, make_bdf(bus, dev, fn));
	if (f && f->ops->cfg_write)
		f->ops->cfg_write(f->opaque, offset, data, len);
}

void pci_config_read(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		     uint32_t offset, void *data, uint32_t len)
{
	pthread_mutex_lock(&pci->lock);
	config_read_locked(pci, bus, dev, fn, offset, data, len);
	pthread_mutex_unlock(&pci->lock);
}

void pci_config_write(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		      uint32_t offset, const void *data, uint32_t len)
{
	pthread_mutex_lock(&pci->lock);
	config_write_locked(pci, bus, dev, fn, offset, data, len);
	pthread_mutex_unlock(&pci->lock);
}

static void addr_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci *pci = opaque;
	if (offset != 0 || len != 4) {
		memset(data, 0xff, len);	/* not the latch: nothing there */
		return;
	}
	pthread_mutex_lock(&pci->lock);
	uint32_t v = pci->addr;
	pthread_mutex_unlock(&pci->lock);
	memcpy(data, &v, 4);
}

static void addr_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci *pci = opaque;
	if (offset != 0 || len != 4)
		return;		/* e.g. Linux's probe byte to 0xCFB */
	uint32_t v;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&pci->lock);
	pci->addr = v & ADDR_MASK;
	pthread_mutex_unlock(&pci->lock);
}

/* Decodes the latch for an access at 'offset' into the data window;
 * false when config cycles are disabled. */
static bool latched_target(uint32_t addr, uint64_t offset, uint8_t *bus, uint8_t *dev,
			   uint8_t *fn, uint32_t *reg)
{
	if (!(addr & PCI_CONFIG_ENABLE))
		return false;
	*bus = (addr >> 16) & 0xff;
	*dev = (addr >> 11) & 0x1f;
	*fn = (addr >> 8) & 7;
	*reg = (addr & 0xfc) + (uint32_t)offset;
	return true;
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci *pci = opaque;
	uint8_t bus, dev, fn;
	uint32_t reg;
	pthread_mutex_lock(&pci->lock);
	if (latched_target(pci->addr, offset, &bus, &dev, &fn, &reg))
		config_read_locked(pci, bus, dev, fn, reg, data, len);
	else
		memset(data, 0xff, len);
	pthread_mutex_unlock(&pci->lock);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci *pci = opaque;
	uint8_t bus, dev, fn;
	uint32_t reg;
	pthread_mutex_lock(&pci->lock);
	if (latched_target(pci->addr, offset, &bus, &dev, &fn, &reg))
		config_write_locked(pci, bus, dev, fn, reg, data, len);
	pthread_mutex_unlock(&pci->lock);
}

static const struct bus_dev_ops pci_addr_ops = { .read = addr_read, .write = addr_write };
static const struct bus_dev_ops pci_data_ops = { .read = data_read, .write = data_write };

struct pci *pci_create(void)
{
	struct pci *pci = calloc(1, sizeof(*pci));
	if (!pci) {
		log_error("pci: out of memory");
		return NULL;
	}
	pthread_mutex_init(&pci->lock, NULL);
	return pci;
}

void pci_destroy(struct pci *pci)
{
	if (!pci)
		return;
	pthread_mutex_destroy(&pci->lock);
	free(pci->funcs);
	free(pci);
}

int pci_register(struct pci *pci, struct bus *pio, uint16_t addr_port, uint16_t data_port)
{
	int ret = bus_register(pio, addr_port, PCI_CONFIG_ADDR_LEN, &pci_addr_ops, pci,
			       "pci-config-address");
	if (ret == 0)
		ret = bus_register(pio, data_port, PCI_CONFIG_DATA_LEN, &pci_data_ops, pci,
				   "pci-config-data");
	if (ret < 0)
		log_error("pci: cannot claim config ports 0x%x/0x%x: %s", addr_port, data_port,
			  strerror(-ret));
	return ret;
}

int pci_add_function(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn,
		     const struct pci_func_ops *ops, void *opaque)
{
	if (dev >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCTIONS || !ops) {
		log_error("pci: invalid function %02x:%02x.%u", bus, dev, fn);
		return -EINVAL;
	}
	uint16_t bdf = make_bdf(bus, dev, fn);
	if (find_function(pci, bdf)) {
		log_error("pci: function %02x:%02x.%u already present", bus, dev, fn);
		return -EEXIST;
	}
	struct pci_function *f = realloc(pci->funcs, (pci->nfuncs + 1) * sizeof(*f));
	if (!f) {
		log_error("pci: out of memory adding %02x:%02x.%u", bus, dev, fn);
		return -ENOMEM;
	}
	pci->funcs = f;
	pci->funcs[pci->nfuncs++] = (struct pci_function){ bdf, ops, opaque };
	return 0;
}

int pci_add_device(struct pci *pci, const struct pci_func_ops *ops, void *opaque,
		   uint8_t *slot)
{
	for (uint8_t dev = 1; dev < PCI_MAX_DEVICES; dev++) {
		if (find_function(pci, make_bdf(0, dev, 0)))
			continue;
		int r = pci_add_function(pci, 0, dev, 0, ops, opaque);
		if (r == 0)
			*slot = dev;
		return r;
	}
	log_error("pci: bus 0 is full (%u slots)", PCI_MAX_DEVICES - 1);
	return -ENOSPC;
}

int pci_remove_function(struct pci *pci, uint8_t bus, uint8_t dev, uint8_t fn)
{
	uint16_t bdf = make_bdf(bus, dev, fn);
	pthread_mutex_lock(&pci->lock);
	for (unsigned i = 0; dev < PCI_MAX_DEVICES && fn < PCI_MAX_FUNCTIONS && i < pci->nfuncs; i++) {
		if (pci->funcs[i].bdf != bdf)
			continue;
		pci->funcs[i] = pci->funcs[--pci->nfuncs];
		pthread_mutex_unlock(&pci->lock);
		return 0;
	}
	pthread_mutex_unlock(&pci->lock);
	log_error("pci: no function %02x:%02x.%u to remove", bus, dev, fn);
	return -ENOENT;
}

void pci_set_mmio_window(struct pci *pci, uint64_t start, uint64_t end)
{
	pci->mmio_next = start;
	pci->mmio_end = end;
}

int pci_alloc_mmio(struct pci *pci, uint64_t size, uint64_t *addr)
{
	if (size < PCI_BAR_MIN_SIZE || (size & (size - 1))) {
		log_error("pci: BAR size 0x%llx is not a power of two >= 4 KiB",
			  (unsigned long long)size);
		return -EINVAL;
	}
	uint64_t at = (pci->mmio_next + size - 1) & ~(size - 1);
	if (at < pci->mmio_next || at >= pci->mmio_end || size > pci->mmio_end - at) {
		log_error("pci: no room for a 0x%llx-byte BAR in the MMIO window "
			  "[0x%llx, 0x%llx)", (unsigned long long)size,
			  (unsigned long long)pci->mmio_next, (unsigned long long)pci->mmio_end);
		return -ENOSPC;
	}
	pci->mmio_next = at + size;
	*addr = at;
	return 0;
}

static void host_bridge_read(void *opaque, uint32_t off, void *data, uint32_t len)
{
	pci_cfg_read(opaque, off, data, len);
}

static void host_bridge_write(void *opaque, uint32_t off, const void *data, uint32_t len)
{
	pci_cfg_write(opaque, off, data, len);
}

static const struct pci_func_ops host_bridge_ops = {
	.cfg_read = host_bridge_read, .cfg_write = host_bridge_write,
};

int pci_add_host_bridge(struct pci *pci)
{
	/* Red Hat's id for a generic host bridge (QEMU's gpex): no Linux quirks. */
	static const struct pci_id id = {
		.vendor = 0x1b36, .device = 0x0008, .class_code = 0x060000,
		.subsys_vendor = 0x1b36, .subsys_id = 0x0008,
	};
	pci_cfg_init(&pci->host_bridge, &id);
	return pci_add_function(pci, 0, 0, 0, &host_bridge_ops, &pci->host_bridge);
}
