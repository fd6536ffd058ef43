/* A function's configuration space: bytes + write mask + BARs + caps. */
#include "devices/pci_cfg.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>

#define PCI_HEADER_TYPE_NORMAL 0x00

void pci_cfg_set8(struct pci_cfg *c, uint32_t off, uint8_t v)
{
	if (off < PCI_CFG_SPACE_SIZE)
		c->data[off] = v;
}

void pci_cfg_set16(struct pci_cfg *c, uint32_t off, uint16_t v)
{
	pci_cfg_set8(c, off, (uint8_t)v);
	pci_cfg_set8(c, off + 1, (uint8_t)(v >> 8));
}

void pci_cfg_set32(struct pci_cfg *c, uint32_t off, uint32_t v)
{
	pci_cfg_set16(c, off, (uint16_t)v);
	pci_cfg_set16(c, off + 2, (uint16_t)(v >> 16));
}

static uint8_t get8(const struct pci_cfg *c, uint32_t off)
{
	return off < PCI_CFG_SPACE_SIZE ? c->data[off] : 0xff;
}

uint16_t pci_cfg_get16(const struct pci_cfg *c, uint32_t off)
{
	return (uint16_t)(get8(c, off) | get8(c, off + 1) << 8);
}

uint32_t pci_cfg_get32(const struct pci_cfg *c, uint32_t off)
{
	return pci_cfg_get16(c, off) | (uint32_t)pci_cfg_get16(c, off + 2) << 16;
}

void pci_cfg_set_wmask(struct pci_cfg *c, uint32_t off, uint32_t mask, uint32_t len)
{
	for (uint32_t i = 0; i < len && off + i < PCI_CFG_SPACE_SIZE; i++)
		c->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_cfg_init(struct pci_cfg *c, const struct pci_id *id)
{
	memset(c, 0, sizeof(*c));
	pci_cfg_set16(c, PCI_VENDOR_ID, id->vendor);
	pci_cfg_set16(c, PCI_DEVICE_ID, id->device);
	pci_cfg_set8(c, PCI_REVISION_ID, id->revision);
	pci_cfg_set8(c, PCI_CLASS_PROG, (uint8_t)id->class_code);
	pci_cfg_set16(c, PCI_CLASS_DEVICE, (uint16_t)(id->class_code >> 8));
	pci_cfg_set8(c, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
	pci_cfg_set16(c, PCI_SUBSYS_VENDOR, id->subsys_vendor);
	pci_cfg_set16(c, PCI_SUBSYS_ID, id->subsys_id);
	pci_cfg_set_wmask(c, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			  PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE, 2);
	c->cap_end = PCI_CAP_FIRST;
}

void pci_cfg_set_intx(struct pci_cfg *c, uint8_t pin, uint8_t line)
{
	pci_cfg_set8(c, PCI_INTERRUPT_PIN, pin);
	pci_cfg_set8(c, PCI_INTERRUPT_LINE, line);
	pci_cfg_set_wmask(c, PCI_INTERRUPT_LINE, 0xff, 1);
}

int pci_cfg_set_bar64(struct pci_cfg *c, unsigned idx, uint64_t addr, uint64_t size)
{
	if (idx + 1 >= PCI_BAR_COUNT || size < PCI_BAR_MIN_SIZE || (size & (size - 1)) ||
	    (addr & (size - 1)) || c->bar_size[idx] || c->bar_size[idx + 1] ||
	    (idx > 0 && c->bar_size[idx - 1])) {	/* all BARs are 64-bit: two slots */
		log_error("pci: BAR %u: invalid 64-bit BAR 0x%llx size 0x%llx", idx,
			  (unsigned long long)addr, (unsigned long long)size);
		return -EINVAL;
	}
	uint32_t off = PCI_BAR0 + 4 * idx;
	uint64_t mask = ~(size - 1);
	c->bar_size[idx] = size;
	pci_cfg_set32(c, off, (uint32_t)addr | PCI_BAR_MEM_64);
	pci_cfg_set32(c, off + 4, (uint32_t)(addr >> 32));
	/* Sizing: the address bits below the size read back as zero. */
	pci_cfg_set_wmask(c, off, (uint32_t)mask, 4);
	pci_cfg_set_wmask(c, off + 4, (uint32_t)(mask >> 32), 4);
	return 0;
}

uint64_t pci_cfg_bar_addr(const struct pci_cfg *c, unsigned idx)
{
	if (idx + 1 >= PCI_BAR_COUNT || !c->bar_size[idx])
		return 0;
	uint32_t off = PCI_BAR0 + 4 * idx;
	return (pci_cfg_get32(c, off) & ~0xfu) | (uint64_t)pci_cfg_get32(c, off + 4) << 32;
}

int pci_cfg_add_cap(struct pci_cfg *c, uint8_t id, uint8_t len)
{
	uint32_t at = (c->cap_end + 3u) & ~3u;	/* dword-aligned, as the spec asks */
	if (len < 2 || at + len > PCI_CFG_SPACE_SIZE) {
		log_error("pci: no room for a %u-byte capability 0x%02x", len, id);
		return -ENOSPC;
	}
	memset(c->data + at, 0, len);
	c->data[at] = id;
	if (c->last_cap)
		c->data[c->last_cap + 1] = (uint8_t)at;
	else
		pci_cfg_set8(c, PCI_CAP_PTR, (uint8_t)at);
	pci_cfg_set16(c, PCI_STATUS, pci_cfg_get16(c, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	c->last_cap = (uint8_t)at;
	c->cap_end = (uint8_t)(at + len < PCI_CFG_SPACE_SIZE ? at + len : 0xff);
	return (int)at;
}

static bool access_ok(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SPACE_SIZE &&
	       len <= PCI_CFG_SPACE_SIZE - off;
}

void pci_cfg_read(const struct pci_cfg *c, uint32_t off, void *data, uint32_t len)
{
	if (!access_ok(off, len)) {
		memset(data, 0xff, len <= 4 ? len : 4);
		return;
	}
	memcpy(data, c->data + off, len);
}

void pci_cfg_write(struct pci_cfg *c, uint32_t off, const void *data, uint32_t len)
{
	if (!access_ok(off, len))
		return;
	const uint8_t *in = data;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t m = c->wmask[off + i];
		c->data[off + i] = (uint8_t)((c->data[off + i] & ~m) | (in[i] & m));
	}
}

int pci_cfg_find_cap(const struct pci_cfg *c, uint8_t id)
{
	if (!(pci_cfg_get16(c, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return -ENOENT;
	uint8_t ptr = c->data[PCI_CAP_PTR] & ~3u;
	/* At most 48 capabilities fit in 0x40..0xff: more hops is a loop. */
	for (unsigned hops = 0; ptr; hops++) {
		if (ptr < PCI_CAP_FIRST || hops >= (PCI_CFG_SPACE_SIZE - PCI_CAP_FIRST) / 4)
			return -ELOOP;
		if (c->data[ptr] == id)
			return ptr;
		ptr = c->data[ptr + 1] & ~3u;
	}
	return -ENOENT;
}
