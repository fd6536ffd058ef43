#include "devices/acpi_pm.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* PM1_CNT bits a guest may set and read back (SLP_EN is write-only). */
#define PM1_CNT_RW (ACPI_PM1_CNT_SLP_TYP | 0x0006)	/* + BM_RLD, GBL_RLS */

#define NS_PER_S 1000000000u
#define TMR_MSB_SHIFT 31	/* TMR_STS follows this bit of the counter */

struct acpi_pm {
	pthread_mutex_t lock;
	struct vm_stopper stop;
	struct irq_line sci;
	bool has_sci;
	int sci_level;		/* last level driven; -1 before any */
	acpi_pm_clock_fn clock;
	void *clock_opaque;
	uint64_t start_ns;	/* clock when the counter was 0 */
	uint64_t tmr_sts_epoch;	/* counter >> TMR_MSB_SHIFT when TMR_STS was cleared */
	uint8_t evt[ACPI_PM1_EVT_LEN];	/* PM1_STS (bytes 0-1), PM1_EN (2-3) */
	uint16_t cnt;
};

static uint64_t monotonic_ns(void *opaque)
{
	(void)opaque;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t acpi_pm_ticks(uint64_t ns)
{
	/* Split so the product cannot overflow: 3.6e6 * 1e9 < 2^64. */
	return ns / NS_PER_S * ACPI_PM_TMR_HZ + ns % NS_PER_S * ACPI_PM_TMR_HZ / NS_PER_S;
}

/* The full counter (not yet wrapped to 32 bits). */
static uint64_t timer_now(const struct acpi_pm *pm)
{
	uint64_t now = pm->clock(pm->clock_opaque);
	return acpi_pm_ticks(now >= pm->start_ns ? now - pm->start_ns : 0);
}

static void copy_bytes(void *dst, const uint8_t *src, uint64_t offset, uint32_t len,
		       uint32_t size)
{
	/* The bus keeps [offset, offset+len) within our range of 'size' bytes. */
	if (offset < size && len <= size - offset)
		memcpy(dst, src + offset, len);
}

static uint16_t evt_word(const struct acpi_pm *pm, unsigned at)
{
	return (uint16_t)(pm->evt[at] | pm->evt[at + 1] << 8);
}

/* The SCI is level-triggered (MADT/MP tables): high exactly while an
 * enabled event's status is set. TMR_EN raises none (see the header), so
 * only the power button counts. Under pm->lock, so levels reach the line
 * in the order the state changed. */
static void sci_update_locked(struct acpi_pm *pm)
{
	uint16_t pending = evt_word(pm, 0) & evt_word(pm, 2) & ACPI_PM1_PWRBTN;
	int level = pending != 0;
	if (!pm->has_sci || level == pm->sci_level)
		return;
	pm->sci_level = level;
	irq_line_set(&pm->sci, level);
}

static void evt_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	uint8_t bytes[ACPI_PM1_EVT_LEN];
	memcpy(bytes, pm->evt, sizeof(bytes));
	if (timer_now(pm) >> TMR_MSB_SHIFT != pm->tmr_sts_epoch)
		bytes[0] |= ACPI_PM1_STS_TMR;
	copy_bytes(data, bytes, offset, len, ACPI_PM1_EVT_LEN);
	pthread_mutex_unlock(&pm->lock);
}

static void evt_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len && offset + i < ACPI_PM1_EVT_LEN; i++) {
		uint64_t at = offset + i;
		if (at == 0 && (in[i] & ACPI_PM1_STS_TMR))
			pm->tmr_sts_epoch = timer_now(pm) >> TMR_MSB_SHIFT;
		if (at < 2)
			pm->evt[at] &= ~in[i];	/* status: write 1 to clear */
		else
			pm->evt[at] = in[i];
	}
	sci_update_locked(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	uint16_t v = pm->cnt | ACPI_PM1_CNT_SCI_EN;
	uint8_t bytes[ACPI_PM1_CNT_LEN] = { v & 0xff, v >> 8 };
	copy_bytes(data, bytes, offset, len, ACPI_PM1_CNT_LEN);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&pm->lock);
	/* Merge the written bytes (a byte write may carry only SLP_EN/SLP_TYP). */
	uint8_t bytes[ACPI_PM1_CNT_LEN] = { pm->cnt & 0xff, pm->cnt >> 8 };
	for (uint32_t i = 0; i < len && offset + i < ACPI_PM1_CNT_LEN; i++)
		bytes[offset + i] = in[i];
	uint16_t v = bytes[0] | bytes[1] << 8;
	pm->cnt = v & PM1_CNT_RW;
	pthread_mutex_unlock(&pm->lock);

	unsigned slp_typ = (v & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;
	if (!(v & ACPI_PM1_CNT_SLP_EN))
		return;
	if (slp_typ == ACPI_SLP_TYP_S5)
		vm_request_stop(&pm->stop, VM_STOP_POWEROFF, 0);
	else
		log_debug("acpi: sleep type %u requested, not supported (ignored)", slp_typ);
}

static void reset_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque, (void)offset;
	memset(data, 0, len);
}

static void reset_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	(void)offset, (void)len;
	if (*(const uint8_t *)data == ACPI_RESET_VALUE)
		vm_request_stop(&pm->stop, VM_STOP_RESET, 0);
}

static void timer_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint32_t v = (uint32_t)timer_now(pm);	/* clock and start never change: no lock */
	uint8_t bytes[ACPI_PM_TMR_LEN] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	copy_bytes(data, bytes, offset, len, ACPI_PM_TMR_LEN);
}

static void timer_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)opaque, (void)offset, (void)data, (void)len;	/* read-only */
}

static const struct bus_dev_ops acpi_evt_ops = { .read = evt_read, .write = evt_write };
static const struct bus_dev_ops acpi_cnt_ops = { .read = cnt_read, .write = cnt_write };
static const struct bus_dev_ops acpi_reset_ops = { .read = reset_read, .write = reset_write };
static const struct bus_dev_ops acpi_timer_ops = { .read = timer_read, .write = timer_write };

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->evt[1] |= ACPI_PM1_PWRBTN >> 8;	/* PWRBTN_STS: set whatever PWRBTN_EN says */
	sci_update_locked(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_create(const struct vm_stopper *stop, const struct irq_line *sci,
			       acpi_pm_clock_fn clock, void *clock_opaque)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm) {
		log_error("acpi: out of memory");
		return NULL;
	}
	pthread_mutex_init(&pm->lock, NULL);
	pm->stop = *stop;
	if (sci) {
		pm->sci = *sci;
		pm->has_sci = true;
	}
	pm->sci_level = -1;
	pm->clock = clock ? clock : monotonic_ns;
	pm->clock_opaque = clock_opaque;
	pm->start_ns = pm->clock(pm->clock_opaque);
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

int acpi_pm_register(struct acpi_pm *pm, struct bus *pio, const struct acpi_pm_ports *ports)
{
	int ret = bus_register(pio, ports->evt, ACPI_PM1_EVT_LEN, &acpi_evt_ops, pm,
			       "acpi-pm1-evt");
	if (ret == 0)
		ret = bus_register(pio, ports->cnt, ACPI_PM1_CNT_LEN, &acpi_cnt_ops, pm,
				   "acpi-pm1-cnt");
	if (ret == 0)
		ret = bus_register(pio, ports->reset, ACPI_RESET_REG_LEN, &acpi_reset_ops, pm,
				   "acpi-reset");
	if (ret == 0)
		ret = bus_register(pio, ports->timer, ACPI_PM_TMR_LEN, &acpi_timer_ops, pm,
				   "acpi-pm-timer");
	if (ret < 0)
		log_error("acpi: cannot claim PM ports 0x%x/0x%x/0x%x/0x%x: %s", ports->evt,
			  ports->cnt, ports->reset, ports->timer, strerror(-ret));
	return ret;
}
