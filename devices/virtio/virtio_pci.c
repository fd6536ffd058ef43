/* virtio-pci modern transport: configuration space with the virtio
 * capabilities, BAR 0 (common config, ISR, device config, notify), the
 * device status machine, and plugging into the PCI bus. Interrupts are in
 * virtio_pci_irq.c. */
#include "devices/virtio/virtio_pci_internal.h"
#include "devices/virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MSIX_CAP_LEN 12

/* Common configuration (struct virtio_pci_common_cfg, spec 4.1.4.3). */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX_CONFIG = 0x10, CC_NUM_QUEUES = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c,
	CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20, CC_Q_DRIVER = 0x28, CC_Q_DEVICE = 0x30,
};

/* Width of the field at 'off' (0: no field starts there). */
static unsigned cc_field_size(uint32_t off)
{
	static const uint8_t size[VPCI_COMMON_LEN] = {
		[CC_DFSELECT] = 4, [CC_DF] = 4, [CC_GFSELECT] = 4, [CC_GF] = 4,
		[CC_MSIX_CONFIG] = 2, [CC_NUM_QUEUES] = 2, [CC_STATUS] = 1, [CC_CFGGEN] = 1,
		[CC_Q_SELECT] = 2, [CC_Q_SIZE] = 2, [CC_Q_MSIX] = 2, [CC_Q_ENABLE] = 2,
		[CC_Q_NOFF] = 2, [CC_Q_DESC] = 8, [CC_Q_DRIVER] = 8, [CC_Q_DEVICE] = 8,
	};
	return off < VPCI_COMMON_LEN ? size[off] : 0;
}

/* An access must be a whole field, or one aligned dword of a 64-bit one
 * (the spec's drivers write 64-bit fields as two 32-bit halves). Returns
 * the field's offset, or -1. */
static int cc_field(uint64_t off, uint32_t len)
{
	if (off >= VPCI_COMMON_LEN)
		return -1;
	unsigned sz = cc_field_size((uint32_t)off);
	if (sz == len)
		return (int)off;
	if (len == 4 && (off & 7) == 4 && cc_field_size((uint32_t)off - 4) == 8)
		return (int)off - 4;
	if (len == 4 && sz == 8)
		return (int)off;
	return -1;
}

static struct vpci_queue *selected(struct vpci *t)
{
	return t->queue_select < t->nq ? &t->q[t->queue_select] : NULL;
}

static uint64_t cc_read_field(struct vpci *t, unsigned field)
{
	struct vpci_queue *q = selected(t);
	switch (field) {
	case CC_DFSELECT: return t->dfselect;
	case CC_DF: return t->dfselect < 2 ? (uint32_t)(t->offered >> (32 * t->dfselect)) : 0;
	case CC_GFSELECT: return t->gfselect;
	case CC_GF:
		return t->gfselect < 2 ? (uint32_t)(t->driver_features >> (32 * t->gfselect)) : 0;
	case CC_MSIX_CONFIG: return vpci_get_config_vector(t);
	case CC_NUM_QUEUES: return t->nq;
	case CC_STATUS:
		return t->status | (atomic_load(&t->needs_reset) ? VIRTIO_STATUS_NEEDS_RESET : 0);
	case CC_CFGGEN: return 0;	/* the device config never changes */
	case CC_Q_SELECT: return t->queue_select;
	case CC_Q_SIZE: return q ? q->size : 0;	/* 0: no such queue */
	case CC_Q_MSIX: return q ? vpci_get_queue_vector(t, t->queue_select) : VPCI_NO_VECTOR;
	case CC_Q_ENABLE: return q ? q->enabled : 0;
	case CC_Q_NOFF: return q ? t->queue_select : 0;
	case CC_Q_DESC: return q ? q->desc : 0;
	case CC_Q_DRIVER: return q ? q->driver : 0;
	case CC_Q_DEVICE: return q ? q->device : 0;
	}
	return 0;
}

static void common_read(struct vpci *t, uint64_t off, void *data, uint32_t len)
{
	int field = cc_field(off, len);
	memset(data, 0, len);
	if (field < 0) {
		vpci_log(t, "virtio-pci: %s: common config %u-byte read at 0x%llx ignored",
			 t->name, len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&t->lock);
	uint64_t v = cc_read_field(t, (unsigned)field) >> (8 * (off - (uint64_t)field));
	pthread_mutex_unlock(&t->lock);
	memcpy(data, &v, len);
}

static void device_reset(struct vpci *t)
{
	if (t->started)
		t->ops->reset(t->dev);	/* waits for in-flight I/O */
	t->started = false;
	t->dfselect = t->gfselect = 0;
	t->driver_features = 0;
	t->status = 0;
	t->queue_select = 0;
	for (unsigned i = 0; i < t->nq; i++) {
		struct vpci_queue *q = &t->q[i];
		uint64_t stale;
		q->size = (uint16_t)t->ops->queue_max_size(t->dev);
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		if (read(q->kick_fd, &stale, sizeof(stale)) < 0 && errno != EAGAIN)
			log_debug("virtio-pci: %s: kick eventfd: %s", t->name, strerror(errno));
	}
	atomic_store(&t->needs_reset, false);
	vpci_irq_reset(t);
}

static bool features_ok(struct vpci *t)
{
	if (t->driver_features & ~t->offered) {
		vpci_log(t, "virtio-pci: %s: driver accepted features 0x%llx never offered",
			 t->name, (unsigned long long)(t->driver_features & ~t->offered));
		return false;
	}
	if (!(t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		vpci_log(t, "virtio-pci: %s: driver did not accept VERSION_1 (legacy drivers "
			 "are not supported)", t->name);
		return false;
	}
	return true;
}

static int device_start(struct vpci *t)
{
	struct virtio_queue_layout layout[VPCI_MAX_QUEUES];
	int kick[VPCI_MAX_QUEUES];
	for (unsigned i = 0; i < t->nq; i++) {
		const struct vpci_queue *q = &t->q[i];
		/* A queue the driver left disabled is one it does not use (4.1.4.3:
		 * e.g. fewer request queues than offered): size 0 tells the device. */
		layout[i] = q->enabled ? (struct virtio_queue_layout){ q->size, q->desc, q->driver,
								     q->device }
				       : (struct virtio_queue_layout){ 0 };
		kick[i] = q->kick_fd;
	}
	return t->ops->start(t->dev, t->m.gm, t->driver_features, layout, kick);
}

static void status_write(struct vpci *t, uint8_t v)
{
	if (v == 0) {
		device_reset(t);
		return;
	}
	uint8_t old = t->status, added = (uint8_t)(v & ~old);
	if (old & ~v) {
		vpci_log(t, "virtio-pci: %s: driver cleared status bits 0x%02x: ignored",
			 t->name, old & ~v);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_ok(t))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;	/* the driver reads it back */
	if (added & VIRTIO_STATUS_DRIVER_OK) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK) || (v & VIRTIO_STATUS_FAILED) || t->started) {
			vpci_log(t, "virtio-pci: %s: DRIVER_OK without FEATURES_OK: ignored", t->name);
			v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		} else if (device_start(t) < 0) {
			atomic_store(&t->needs_reset, true);
			vpci_raise_config(t);
		} else {
			t->started = true;
		}
	}
	t->status = v;
}

static void queue_write(struct vpci *t, unsigned field, uint64_t v, uint64_t mask)
{
	struct vpci_queue *q = selected(t);
	if (!q || q->enabled || (t->status & VIRTIO_STATUS_DRIVER_OK)) {
		vpci_log(t, "virtio-pci: %s: queue %u: write to 0x%x while %s: ignored", t->name,
			 t->queue_select, field, q ? "enabled" : "absent");
		return;
	}
	unsigned max = t->ops->queue_max_size(t->dev);
	switch (field) {
	case CC_Q_SIZE:
		if (v == 0 || v > max || (v & (v - 1)))
			vpci_log(t, "virtio-pci: %s: queue size %llu refused (power of two up to %u)",
				 t->name, (unsigned long long)v, max);
		else
			q->size = (uint16_t)v;
		break;
	case CC_Q_MSIX: vpci_set_queue_vector(t, t->queue_select, (uint16_t)v); break;
	case CC_Q_ENABLE:
		if (v == 1)
			q->enabled = true;	/* 0 is not allowed; reset disables */
		break;
	case CC_Q_DESC: q->desc = (q->desc & ~mask) | (v & mask); break;
	case CC_Q_DRIVER: q->driver = (q->driver & ~mask) | (v & mask); break;
	case CC_Q_DEVICE: q->device = (q->device & ~mask) | (v & mask); break;
	}
}

static void cc_write_field(struct vpci *t, unsigned field, uint64_t v, uint64_t mask)
{
	switch (field) {
	case CC_DFSELECT: t->dfselect = (uint32_t)v; break;
	case CC_GFSELECT: t->gfselect = (uint32_t)v; break;
	case CC_GF:
		if (t->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) {
			vpci_log(t, "virtio-pci: %s: feature write after FEATURES_OK: ignored", t->name);
		} else if (t->gfselect < 2) {
			unsigned sh = 32 * t->gfselect;
			t->driver_features = (t->driver_features & ~(UINT64_C(0xffffffff) << sh)) |
					     (v & 0xffffffff) << sh;
		}
		break;
	case CC_MSIX_CONFIG: vpci_set_config_vector(t, (uint16_t)v); break;
	case CC_STATUS: status_write(t, (uint8_t)v); break;
	case CC_Q_SELECT: t->queue_select = (uint16_t)v; break;
	case CC_Q_SIZE: case CC_Q_MSIX: case CC_Q_ENABLE:
	case CC_Q_DESC: case CC_Q_DRIVER: case CC_Q_DEVICE:
		queue_write(t, field, v, mask);
		break;
	default:
		vpci_log(t, "virtio-pci: %s: write to read-only common config 0x%x", t->name, field);
	}
}

static void common_write(struct vpci *t, uint64_t off, const void *data, uint32_t len)
{
	int field = cc_field(off, len);
	if (field < 0) {
		vpci_log(t, "virtio-pci: %s: common config %u-byte write at 0x%llx ignored",
			 t->name, len, (unsigned long long)off);
		return;
	}
	uint64_t v = 0;
	memcpy(&v, data, len);
	unsigned shift = (unsigned)(8 * (off - (uint64_t)field));
	uint64_t mask = (len == 8 ? ~UINT64_C(0) : ((UINT64_C(1) << (8 * len)) - 1)) << shift;
	pthread_mutex_lock(&t->lock);
	cc_write_field(t, (unsigned)field, v << shift, mask);
	pthread_mutex_unlock(&t->lock);
}

static bool bar_usable(struct vpci *t, uint64_t off, bool write)
{
	if (atomic_load(&t->decode_ok))
		return true;
	vpci_log(t, "virtio-pci: %s: BAR %s at 0x%llx while memory decode is off or the "
		 "BARs moved (relocation is not supported)", t->name, write ? "write" : "read",
		 (unsigned long long)off);
	return false;
}

void vpci_bar0_read(struct vpci *t, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN)
		common_read(t, off - VPCI_COMMON_OFF, data, len);
	else if (off == VPCI_ISR_OFF)
		*(uint8_t *)data = vpci_isr_read_clear(t);	/* any width: low byte */
	else if (off >= VPCI_DEVCFG_OFF && off < VPCI_NOTIFY_OFF)
		t->ops->config_read(t->dev, (uint32_t)(off - VPCI_DEVCFG_OFF), data, len);
}

static void notify_write(struct vpci *t, uint64_t off, uint32_t len)
{
	uint64_t qi = off / VPCI_NOTIFY_MULT, one = 1;
	/* KVM catches 2-byte writes itself; other widths end up here. */
	if (qi >= t->nq || off % VPCI_NOTIFY_MULT || (len != 2 && len != 4)) {
		vpci_log(t, "virtio-pci: %s: notify %u-byte write at 0x%llx ignored", t->name, len,
			 (unsigned long long)off);
		return;
	}
	if (write(t->q[qi].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vpci_log(t, "virtio-pci: %s: kick: %s", t->name, strerror(errno));
}

void vpci_bar0_write(struct vpci *t, uint64_t off, const void *data, uint32_t len)
{
	if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN)
		common_write(t, off - VPCI_COMMON_OFF, data, len);
	else if (off >= VPCI_NOTIFY_OFF)
		notify_write(t, off - VPCI_NOTIFY_OFF, len);
	/* ISR and device config are read-only here: drop. */
}

static void bar0_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vpci *t = opaque;
	if (bar_usable(t, off, false))
		vpci_bar0_read(t, off, data, len);
	else
		memset(data, 0xff, len);
}

static void bar0_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vpci *t = opaque;
	if (bar_usable(t, off, true))
		vpci_bar0_write(t, off, data, len);
}

static void bar2_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vpci *t = opaque;
	if (bar_usable(t, off, false))
		vpci_msix_read(t, off, data, len);
	else
		memset(data, 0xff, len);
}

static void bar2_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vpci *t = opaque;
	if (bar_usable(t, off, true))
		vpci_msix_write(t, off, data, len);
}

static const struct bus_dev_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct bus_dev_ops bar2_ops = { .read = bar2_read, .write = bar2_write };

static void cfg_read(void *opaque, uint32_t off, void *data, uint32_t len)
{
	struct vpci *t = opaque;
	vpci_window_cfg_read(t, off, len);	/* fills pci_cfg_data first */
	pci_cfg_read(&t->cfg, off, data, len);
}

static void cfg_write(void *opaque, uint32_t off, const void *data, uint32_t len)
{
	struct vpci *t = opaque;
	pci_cfg_write(&t->cfg, off, data, len);
	uint16_t cmd = pci_cfg_get16(&t->cfg, PCI_COMMAND);
	atomic_store(&t->decode_ok, (cmd & PCI_COMMAND_MEMORY) &&
		     pci_cfg_bar_addr(&t->cfg, 0) == t->bar_base[0] &&
		     pci_cfg_bar_addr(&t->cfg, 2) == t->bar_base[1]);
	vpci_irq_cfg_changed(t, pci_cfg_get16(&t->cfg, (uint32_t)t->msix_cap + 2), cmd);
	vpci_window_cfg_write(t, off, len);
}

static const struct pci_func_ops vpci_cfg_ops = { .cfg_read = cfg_read, .cfg_write = cfg_write };

int vpci_add_virtio_cap(struct vpci *t, uint8_t type, uint32_t off, uint32_t len)
{
	uint8_t cap_len = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? sizeof(struct virtio_pci_notify_cap)
			: type == VIRTIO_PCI_CAP_PCI_CFG ? sizeof(struct virtio_pci_cfg_cap)
			: sizeof(struct virtio_pci_cap);
	int at = pci_cfg_add_cap(&t->cfg, PCI_CAP_ID_VENDOR, cap_len);
	if (at < 0)
		return at;
	uint32_t a = (uint32_t)at;
	pci_cfg_set8(&t->cfg, a + offsetof(struct virtio_pci_cap, cap_len), cap_len);
	pci_cfg_set8(&t->cfg, a + offsetof(struct virtio_pci_cap, cfg_type), type);
	pci_cfg_set8(&t->cfg, a + offsetof(struct virtio_pci_cap, bar), 0);
	pci_cfg_set32(&t->cfg, a + offsetof(struct virtio_pci_cap, offset), off);
	pci_cfg_set32(&t->cfg, a + offsetof(struct virtio_pci_cap, length), len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_cfg_set32(&t->cfg, a + offsetof(struct virtio_pci_notify_cap,
						    notify_off_multiplier), VPCI_NOTIFY_MULT);
	return at;
}

static int build_config_space(struct vpci *t)
{
	const struct pci_id id = {
		.vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + t->virtio_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR, .subsys_id = 0x40,	/* >= 0x40: modern */
		.revision = 1, .class_code = t->virtio_id == VIRTIO_ID_BLOCK ? 0x018000 : 0xff0000,
	};
	pci_cfg_init(&t->cfg, &id);
	pci_cfg_set_intx(&t->cfg, 1, (uint8_t)t->irq.intx_gsi);
	int r;
	if ((r = pci_cfg_set_bar64(&t->cfg, 0, t->bar_base[0], VPCI_BAR0_SIZE)) < 0 ||
	    (r = pci_cfg_set_bar64(&t->cfg, 2, t->bar_base[1], VPCI_BAR2_SIZE)) < 0 ||
	    (r = vpci_add_virtio_cap(t, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
				     VPCI_COMMON_LEN)) < 0 ||
	    (r = vpci_add_virtio_cap(t, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, VPCI_ISR_LEN)) < 0 ||
	    (r = vpci_add_virtio_cap(t, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVCFG_OFF,
				     t->ops->config_size(t->dev))) < 0 ||
	    (r = vpci_add_virtio_cap(t, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
				     VPCI_NOTIFY_MULT * t->nq)) < 0 ||
	    (r = t->msix_cap = pci_cfg_add_cap(&t->cfg, PCI_CAP_ID_MSIX, MSIX_CAP_LEN)) < 0 ||
	    (r = vpci_window_add_cap(t)) < 0)
		return r;
	uint32_t m = (uint32_t)t->msix_cap;
	pci_cfg_set16(&t->cfg, m + 2, (uint16_t)(t->irq.nvec - 1));	/* table size - 1 */
	pci_cfg_set_wmask(&t->cfg, m + 2, 0xc000, 2);			/* enable, mask all */
	pci_cfg_set32(&t->cfg, m + 4, VPCI_MSIX_TABLE_OFF | 2);	/* BIR 2 */
	pci_cfg_set32(&t->cfg, m + 8, VPCI_MSIX_PBA_OFF | 2);
	return 0;
}

static void hook_notify(void *opaque, unsigned queue) { vpci_raise_queue(opaque, queue); }

static void hook_needs_reset(void *opaque)
{
	struct vpci *t = opaque;
	atomic_store(&t->needs_reset, true);
	vpci_raise_config(t);
}

struct virtio_hooks vpci_device_hooks(struct vpci *t)
{
	return (struct virtio_hooks){ .notify = hook_notify, .needs_reset = hook_needs_reset,
				    .opaque = t };
}

struct vpci *vpci_new(const struct vpci_machine *m, uint16_t virtio_id, const char *name)
{
	struct vpci *t = calloc(1, sizeof(*t));
	if (!t) {
		log_error("virtio-pci: %s: out of memory", name);
		return NULL;
	}
	t->m = *m;
	t->virtio_id = virtio_id;
	snprintf(t->name, sizeof(t->name), "%s", name);
	pthread_mutex_init(&t->lock, NULL);
	vpci_irq_init(t);
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++)
		t->q[i].kick_fd = -1;
	return t;
}

static int plug_queues(struct vpci *t)
{
	for (unsigned i = 0; i < t->nq; i++) {
		t->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[i].kick_fd < 0) {
			int err = errno;
			log_error("virtio-pci: %s: kick eventfd: %s", t->name, strerror(err));
			return -err;
		}
		uint64_t gpa = t->bar_base[0] + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * i;
		if (t->m.ioeventfd) {
			int r = t->m.ioeventfd(t->m.opaque, gpa, 2, t->q[i].kick_fd, true);
			if (r < 0)
				return r;
			t->q[i].ioeventfd_on = true;
		}
	}
	return 0;
}

static int plug_bars(struct vpci *t)
{
	static const uint64_t size[2] = { VPCI_BAR0_SIZE, VPCI_BAR2_SIZE };
	static const struct bus_dev_ops *const ops[2] = { &bar0_ops, &bar2_ops };
	char what[32];
	snprintf(what, sizeof(what), "virtio-pci %s", t->name);
	for (unsigned i = 0; i < 2; i++) {
		int r = pci_alloc_mmio(t->m.pci, size[i], &t->bar_base[i]);
		if (r < 0)
			return r;
		r = bus_register(t->m.mmio, t->bar_base[i], size[i], ops[i], t, what);
		if (r < 0) {
			log_error("virtio-pci: %s: cannot map BAR %u at 0x%llx: %s", t->name, 2 * i,
				  (unsigned long long)t->bar_base[i], strerror(-r));
			return r;
		}
		t->bar_mapped[i] = true;
	}
	return 0;
}

/* After a failed plug: take back everything that points at t (BAR
 * ranges, the slot, ioeventfds), so t can be freed. The BAR addresses
 * are not reused (the allocator only moves forward); MSI routes stay
 * allocated, their irqfds go with the eventfds. */
static void unplug(struct vpci *t)
{
	for (unsigned i = 0; i < 2; i++)
		if (t->bar_mapped[i] && bus_unregister(t->m.mmio, t->bar_base[i], t) == 0)
			t->bar_mapped[i] = false;
	if (t->has_slot && pci_remove_function(t->m.pci, 0, t->slot, 0) == 0)
		t->has_slot = false;
	for (unsigned i = 0; i < t->nq; i++) {
		struct vpci_queue *q = &t->q[i];
		uint64_t gpa = t->bar_base[0] + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * i;
		if (q->ioeventfd_on && t->m.ioeventfd(t->m.opaque, gpa, 2, q->kick_fd, false) == 0)
			q->ioeventfd_on = false;
	}
}

static int plug(struct vpci *t)
{
	int r;
	if ((r = plug_bars(t)) < 0 || (r = plug_queues(t)) < 0)
		return r;
	/* The slot decides the INTx GSI, which the config space records:
	 * take the slot first, then build the space before any guest access. */
	if ((r = pci_add_device(t->m.pci, &vpci_cfg_ops, t, &t->slot)) < 0)
		return r;
	t->has_slot = true;
	t->irq.intx_gsi = pci_intx_gsi(t->slot, 0);
	if ((r = vpci_irq_setup(t)) < 0 || (r = build_config_space(t)) < 0)
		return r;
	return 0;
}

int vpci_plug(struct vpci *t, const struct vpci_dev_ops *ops, void *dev)
{
	t->ops = ops;
	t->dev = dev;
	t->offered = ops->features(dev) | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	t->nq = ops->num_queues(dev);
	if (t->nq == 0 || t->nq > VPCI_MAX_QUEUES) {
		log_error("virtio-pci: %s: %u queues (1 to %u supported)", t->name, t->nq,
			  VPCI_MAX_QUEUES);
		return -EINVAL;
	}
	int r = plug(t);
	if (r < 0) {
		unplug(t);
		return r;
	}
	device_reset(t);
	log_debug("virtio-pci: %s at 00:%02x.0, BARs 0x%llx and 0x%llx, INTx GSI %u", t->name,
		  t->slot, (unsigned long long)t->bar_base[0], (unsigned long long)t->bar_base[1],
		  t->irq.intx_gsi);
	return 0;
}

void vpci_destroy(struct vpci *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++)
		if (t->q[i].kick_fd >= 0)
			close(t->q[i].kick_fd);
	vpci_irq_destroy(t);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

uint8_t vpci_slot(const struct vpci *t) { return t->slot; }
void *vpci_device(const struct vpci *t) { return t->dev; }

uint64_t vpci_bar_base(const struct vpci *t, unsigned bar)
{
	return bar == 0 ? t->bar_base[0] : bar == 2 ? t->bar_base[1] : 0;
}

int vpci_vector_fd(const struct vpci *t, unsigned v)
{
	return v < VPCI_MAX_VECTORS ? t->irq.fd[v] : -1;
}

int vpci_kick_fd(const struct vpci *t, unsigned q)
{
	return q < VPCI_MAX_QUEUES ? t->q[q].kick_fd : -1;
}
