/* virtio-pci interrupts: MSI-X (table, PBA, masking, irqfd routes) and the
 * INTx fallback with its read-to-clear ISR byte. Runs on vCPU threads
 * (table and config writes) and on the device's I/O thread (raising),
 * serialized by irq.lock. */
#include "devices/virtio/virtio_pci_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MSIX_CTRL_MASKED 1u
#define MSIX_MSGCTL_ENABLE 0x8000
#define MSIX_MSGCTL_MASKALL 0x4000

void vpci_irq_init(struct vpci *t)
{
	struct vpci_irq *q = &t->irq;
	pthread_mutex_init(&q->lock, NULL);
	for (unsigned v = 0; v < VPCI_MAX_VECTORS; v++) {
		q->fd[v] = -1;
		q->table[v].ctrl = MSIX_CTRL_MASKED;	/* masked after reset (PCI spec) */
	}
	q->config_vector = VPCI_NO_VECTOR;
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++)
		q->queue_vector[i] = VPCI_NO_VECTOR;
}

int vpci_irq_setup(struct vpci *t)
{
	struct vpci_irq *q = &t->irq;
	q->nvec = t->nq + 1;
	for (unsigned v = 0; v < q->nvec; v++) {
		q->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->fd[v] < 0) {
			int err = errno;
			log_error("virtio-pci: %s: eventfd for MSI-X vector %u: %s", t->name, v,
				  strerror(err));
			return -err;
		}
		if (t->m.msi_add) {
			int r = t->m.msi_add(t->m.opaque, q->fd[v], &q->gsi[v]);
			if (r < 0)
				return r;	/* logged by the machine */
			q->routed[v] = true;
		}
	}
	return 0;
}

void vpci_irq_destroy(struct vpci *t)
{
	for (unsigned v = 0; v < VPCI_MAX_VECTORS; v++)
		if (t->irq.fd[v] >= 0)
			close(t->irq.fd[v]);
	pthread_mutex_destroy(&t->irq.lock);
}

/* Callers hold irq.lock. */
static bool vector_masked(const struct vpci_irq *q, unsigned v)
{
	return q->func_masked || (q->table[v].ctrl & MSIX_CTRL_MASKED);
}

static void set_intx(struct vpci *t, bool level)
{
	struct vpci_irq *q = &t->irq;
	level = level && !q->intx_disabled && !q->enabled;
	if (level == q->intx_level)
		return;
	q->intx_level = level;
	t->m.set_intx(t->m.opaque, q->intx_gsi, level);
}

/* The message may have changed: re-point the route before it fires. */
static void update_route(struct vpci *t, unsigned v)
{
	struct vpci_irq *q = &t->irq;
	const struct msix_entry *e = &q->table[v];
	uint64_t addr = e->addr_lo | (uint64_t)e->addr_hi << 32;
	if (!q->routed[v] || !t->m.msi_set ||
	    (addr == q->route_addr[v] && e->data == q->route_data[v]))
		return;
	if (t->m.msi_set(t->m.opaque, q->gsi[v], addr, e->data) == 0) {
		q->route_addr[v] = addr;
		q->route_data[v] = e->data;
	}
}

static void fire(struct vpci *t, unsigned v)
{
	uint64_t one = 1;
	update_route(t, v);
	if (write(t->irq.fd[v], &one, sizeof(one)) < 0 && errno != EAGAIN)
		vpci_log(t, "virtio-pci: %s: MSI-X vector %u: %s", t->name, v, strerror(errno));
}

/* Deliver what masking held back. */
static void deliver_pending(struct vpci *t)
{
	struct vpci_irq *q = &t->irq;
	if (!q->enabled)
		return;
	for (unsigned v = 0; v < q->nvec; v++) {
		if ((q->pba >> v & 1) && !vector_masked(q, v)) {
			q->pba &= ~(UINT64_C(1) << v);
			fire(t, v);
		}
	}
}

void vpci_raise(struct vpci *t, uint16_t vector, uint8_t isr_bit)
{
	struct vpci_irq *q = &t->irq;
	pthread_mutex_lock(&q->lock);
	if (q->enabled) {
		if (vector < q->nvec) {
			if (vector_masked(q, vector))
				q->pba |= UINT64_C(1) << vector;
			else
				fire(t, vector);
		}	/* NO_VECTOR: the driver asked for no interrupt */
	} else {
		q->isr |= isr_bit;
		set_intx(t, true);
	}
	pthread_mutex_unlock(&q->lock);
}

void vpci_raise_queue(struct vpci *t, unsigned qi)
{
	pthread_mutex_lock(&t->irq.lock);
	uint16_t v = qi < VPCI_MAX_QUEUES ? t->irq.queue_vector[qi] : VPCI_NO_VECTOR;
	pthread_mutex_unlock(&t->irq.lock);
	vpci_raise(t, v, VPCI_ISR_QUEUE);
}

void vpci_raise_config(struct vpci *t)
{
	pthread_mutex_lock(&t->irq.lock);
	uint16_t v = t->irq.config_vector;
	pthread_mutex_unlock(&t->irq.lock);
	vpci_raise(t, v, VPCI_ISR_CONFIG);
}

uint8_t vpci_isr_read_clear(struct vpci *t)
{
	pthread_mutex_lock(&t->irq.lock);
	uint8_t v = t->irq.isr;
	t->irq.isr = 0;
	set_intx(t, false);
	pthread_mutex_unlock(&t->irq.lock);
	return v;
}

void vpci_irq_reset(struct vpci *t)
{
	struct vpci_irq *q = &t->irq;
	pthread_mutex_lock(&q->lock);
	q->config_vector = VPCI_NO_VECTOR;
	for (unsigned i = 0; i < VPCI_MAX_QUEUES; i++)
		q->queue_vector[i] = VPCI_NO_VECTOR;
	q->isr = 0;
	q->pba = 0;
	set_intx(t, false);
	pthread_mutex_unlock(&q->lock);
}

void vpci_irq_cfg_changed(struct vpci *t, uint16_t msix_ctrl, uint16_t command)
{
	struct vpci_irq *q = &t->irq;
	pthread_mutex_lock(&q->lock);
	q->enabled = msix_ctrl & MSIX_MSGCTL_ENABLE;
	q->func_masked = msix_ctrl & MSIX_MSGCTL_MASKALL;
	q->intx_disabled = command & PCI_COMMAND_INTX_DISABLE;
	set_intx(t, q->isr != 0);
	deliver_pending(t);
	pthread_mutex_unlock(&q->lock);
}

static uint16_t checked_vector(struct vpci *t, uint16_t v)
{
	if (v == VPCI_NO_VECTOR || v < t->irq.nvec)
		return v;
	vpci_log(t, "virtio-pci: %s: MSI-X vector %u out of range (%u vectors): NO_VECTOR",
		 t->name, v, t->irq.nvec);
	return VPCI_NO_VECTOR;
}

uint16_t vpci_set_config_vector(struct vpci *t, uint16_t v)
{
	pthread_mutex_lock(&t->irq.lock);
	v = t->irq.config_vector = checked_vector(t, v);
	pthread_mutex_unlock(&t->irq.lock);
	return v;
}

uint16_t vpci_set_queue_vector(struct vpci *t, unsigned qi, uint16_t v)
{
	pthread_mutex_lock(&t->irq.lock);
	v = t->irq.queue_vector[qi] = checked_vector(t, v);
	pthread_mutex_unlock(&t->irq.lock);
	return v;
}

uint16_t vpci_get_config_vector(struct vpci *t)
{
	pthread_mutex_lock(&t->irq.lock);
	uint16_t v = t->irq.config_vector;
	pthread_mutex_unlock(&t->irq.lock);
	return v;
}

uint16_t vpci_get_queue_vector(struct vpci *t, unsigned qi)
{
	pthread_mutex_lock(&t->irq.lock);
	uint16_t v = t->irq.queue_vector[qi];
	pthread_mutex_unlock(&t->irq.lock);
	return v;
}

/* The table and PBA take aligned 4- and 8-byte accesses (PCI spec 6.8.2). */
static bool msix_access_ok(uint64_t off, uint32_t len)
{
	return (len == 4 || len == 8) && (off & (len - 1)) == 0;
}

static uint32_t msix_dword(struct vpci *t, uint64_t off)
{
	struct vpci_irq *q = &t->irq;
	if (off >= VPCI_MSIX_PBA_OFF) {
		uint64_t at = off - VPCI_MSIX_PBA_OFF;
		return at == 0 ? (uint32_t)q->pba : at == 4 ? (uint32_t)(q->pba >> 32) : 0;
	}
	uint64_t v = (off - VPCI_MSIX_TABLE_OFF) / sizeof(struct msix_entry);
	if (v >= q->nvec)
		return 0;
	const uint32_t *e = (const uint32_t *)&q->table[v];
	return e[(off % sizeof(struct msix_entry)) / 4];
}

void vpci_msix_read(struct vpci *t, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (!msix_access_ok(off, len)) {
		vpci_log(t, "virtio-pci: %s: MSI-X %u-byte read at 0x%llx ignored", t->name, len,
			 (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&t->irq.lock);
	for (uint32_t i = 0; i < len; i += 4) {
		uint32_t d = msix_dword(t, off + i);
		memcpy((uint8_t *)data + i, &d, 4);
	}
	pthread_mutex_unlock(&t->irq.lock);
}

static void msix_write_dword(struct vpci *t, uint64_t off, uint32_t val)
{
	struct vpci_irq *q = &t->irq;
	if (off >= VPCI_MSIX_PBA_OFF)
		return;		/* the PBA is read-only */
	uint64_t v = (off - VPCI_MSIX_TABLE_OFF) / sizeof(struct msix_entry);
	if (v >= q->nvec)
		return;
	uint32_t *e = (uint32_t *)&q->table[v];
	unsigned word = (unsigned)(off % sizeof(struct msix_entry)) / 4;
	e[word] = word == 3 ? (val & MSIX_CTRL_MASKED) : val;
	if (!vector_masked(q, (unsigned)v))
		update_route(t, (unsigned)v);
}

void vpci_msix_write(struct vpci *t, uint64_t off, const void *data, uint32_t len)
{
	if (!msix_access_ok(off, len)) {
		vpci_log(t, "virtio-pci: %s: MSI-X %u-byte write at 0x%llx ignored", t->name, len,
			 (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&t->irq.lock);
	for (uint32_t i = 0; i < len; i += 4) {
		uint32_t d;
		memcpy(&d, (const uint8_t *)data + i, 4);
		msix_write_dword(t, off + i, d);
	}
	deliver_pending(t);
	pthread_mutex_unlock(&t->irq.lock);
}
