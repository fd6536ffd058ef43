#include "devices/pci.h"
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
