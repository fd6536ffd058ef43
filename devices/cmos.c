#include "devices/cmos.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CMOS_SIZE 128
#define INDEX_MASK 0x7f		/* bit 7 of the index port masks NMI */

enum {
	REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03,
	REG_HOUR = 0x04, REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
	REG_MONTH = 0x08, REG_YEAR = 0x09,
	REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d,
};

#define A_UIP      0x80
#define A_DEFAULT  0x26		/* 32.768 kHz time base, 1024 Hz rate */
#define B_SET      0x80
#define B_BINARY   0x04
#define B_24H      0x02
#define B_DEFAULT  B_24H	/* BCD, 24-hour, like a PC BIOS leaves it */
#define D_VRT      0x80		/* valid RAM and time */
#define HOUR_PM    0x80		/* in 12-hour mode */

struct cmos {
	pthread_mutex_t lock;
	cmos_clock_fn clock;
	void *clock_opaque;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	time_t offset;		/* guest time minus clock time */
	struct tm set_tm;	/* the time being written while B.SET is on */
};

static time_t host_clock(void *opaque)
{
	(void)opaque;
	return time(NULL);
}

static struct tm guest_tm(const struct cmos *c)
{
	struct tm tm;
	time_t t = c->clock(c->clock_opaque) + c->offset;
	gmtime_r(&t, &tm);
	return tm;
}

static bool binary_mode(const struct cmos *c)
{
	return c->ram[REG_B] & B_BINARY;
}

static uint8_t encode(const struct cmos *c, int val)
{
	return binary_mode(c) ? (uint8_t)val : (uint8_t)(((val / 10) << 4) | (val % 10));
}

/* -1 when val is not valid BCD (the write is then ignored). */
static int decode(const struct cmos *c, uint8_t val)
{
	if (binary_mode(c))
		return val;
	if ((val >> 4) > 9 || (val & 0xf) > 9)
		return -1;
	return (val >> 4) * 10 + (val & 0xf);
}

static uint8_t encode_hour(const struct cmos *c, int hour)
{
	if (c->ram[REG_B] & B_24H)
		return encode(c, hour);
	int h12 = hour % 12 == 0 ? 12 : hour % 12;
	return encode(c, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int decode_hour(const struct cmos *c, uint8_t val)
{
	if (c->ram[REG_B] & B_24H)
		return decode(c, val);
	int h12 = decode(c, val & ~HOUR_PM);
	if (h12 < 1 || h12 > 12)
		return -1;
	return h12 % 12 + ((val & HOUR_PM) ? 12 : 0);
}

static bool is_time_reg(uint8_t reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || reg == REG_WDAY ||
	       reg == REG_MDAY || reg == REG_MONTH || reg == REG_YEAR || reg == CMOS_REG_CENTURY;
}

static uint8_t read_time_reg(const struct cmos *c, uint8_t reg)
{
	struct tm tm = (c->ram[REG_B] & B_SET) ? c->set_tm : guest_tm(c);
	int year = tm.tm_year + 1900;
	switch (reg) {
	case REG_SEC:   return encode(c, tm.tm_sec);
	case REG_MIN:   return encode(c, tm.tm_min);
	case REG_HOUR:  return encode_hour(c, tm.tm_hour);
	case REG_WDAY:  return encode(c, tm.tm_wday + 1);	/* Sunday is 1 */
	case REG_MDAY:  return encode(c, tm.tm_mday);
	case REG_MONTH: return encode(c, tm.tm_mon + 1);
	case REG_YEAR:  return encode(c, year % 100);
	default:        return encode(c, year / 100);		/* century */
	}
}

/* Puts the written field into tm; false when the value is out of range. */
static bool set_time_field(const struct cmos *c, struct tm *tm, uint8_t reg, uint8_t val)
{
	int v = reg == REG_HOUR ? decode_hour(c, val) : decode(c, val);
	int year = tm->tm_year + 1900;
	switch (reg) {
	case REG_SEC:   if (v < 0 || v > 59) return false; tm->tm_sec = v; break;
	case REG_MIN:   if (v < 0 || v > 59) return false; tm->tm_min = v; break;
	case REG_HOUR:  if (v < 0 || v > 23) return false; tm->tm_hour = v; break;
	case REG_MDAY:  if (v < 1 || v > 31) return false; tm->tm_mday = v; break;
	case REG_MONTH: if (v < 1 || v > 12) return false; tm->tm_mon = v - 1; break;
	case REG_YEAR:
		if (v < 0 || v > 99) return false;
		tm->tm_year = year / 100 * 100 + v - 1900;
		break;
	case CMOS_REG_CENTURY:
		if (v < 0 || v > 99) return false;
		tm->tm_year = v * 100 + year % 100 - 1900;
		break;
	default:	/* the weekday follows from the date */
		return false;
	}
	return true;
}

static void commit_time(struct cmos *c, struct tm *tm)
{
	tm->tm_isdst = 0;
	time_t t = timegm(tm);
	if (t != (time_t)-1)
		c->offset = t - c->clock(c->clock_opaque);
}

static void write_time_reg(struct cmos *c, uint8_t reg, uint8_t val)
{
	if (c->ram[REG_B] & B_SET) {
		set_time_field(c, &c->set_tm, reg, val);	/* committed when SET clears */
		return;
	}
	struct tm tm = guest_tm(c);
	if (set_time_field(c, &tm, reg, val))
		commit_time(c, &tm);
}

static void write_reg_b(struct cmos *c, uint8_t val)
{
	bool was_set = c->ram[REG_B] & B_SET;
	if (!was_set && (val & B_SET))
		c->set_tm = guest_tm(c);	/* the clock stops while being set */
	c->ram[REG_B] = val;
	if (was_set && !(val & B_SET))
		commit_time(c, &c->set_tm);
}

static uint8_t cmos_read_reg(struct cmos *c, uint8_t reg)
{
	if (is_time_reg(reg))
		return read_time_reg(c, reg);
	switch (reg) {
	case REG_A: return c->ram[REG_A] & ~A_UIP;	/* never mid-update */
	case REG_C: return 0;				/* no interrupt flags */
	case REG_D: return D_VRT;
	default:    return c->ram[reg];
	}
}

static void cmos_write_reg(struct cmos *c, uint8_t reg, uint8_t val)
{
	if (is_time_reg(reg))
		write_time_reg(c, reg, val);
	else if (reg == REG_A)
		c->ram[REG_A] = val & ~A_UIP;
	else if (reg == REG_B)
		write_reg_b(c, val);
	else if (reg != REG_C && reg != REG_D)	/* read-only */
		c->ram[reg] = val;
}

/* Both ports are 1-byte ranges; one ops table per port. */
static void index_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque, (void)offset, (void)len;
	*(uint8_t *)data = 0xff;	/* the index port is write-only */
}

static void index_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct cmos *c = opaque;
	(void)offset, (void)len;
	pthread_mutex_lock(&c->lock);
	c->index = *(const uint8_t *)data & INDEX_MASK;
	pthread_mutex_unlock(&c->lock);
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct cmos *c = opaque;
	(void)offset, (void)len;
	pthread_mutex_lock(&c->lock);
	*(uint8_t *)data = cmos_read_reg(c, c->index);
	pthread_mutex_unlock(&c->lock);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct cmos *c = opaque;
	(void)offset, (void)len;
	pthread_mutex_lock(&c->lock);
	cmos_write_reg(c, c->index, *(const uint8_t *)data);
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_dev_ops cmos_index_ops = { .read = index_read, .write = index_write };
static const struct bus_dev_ops cmos_data_ops = { .read = data_read, .write = data_write };

struct cmos *cmos_create(cmos_clock_fn clock, void *clock_opaque)
{
	struct cmos *c = calloc(1, sizeof(*c));
	if (!c) {
		log_error("cmos: out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->clock = clock ? clock : host_clock;
	c->clock_opaque = clock_opaque;
	c->ram[REG_A] = A_DEFAULT;
	c->ram[REG_B] = B_DEFAULT;
	return c;
}

void cmos_destroy(struct cmos *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cmos_register(struct cmos *c, struct bus *pio, uint16_t index_port, uint16_t data_port)
{
	int ret = bus_register(pio, index_port, 1, &cmos_index_ops, c, "cmos-index");
	if (ret == 0)
		ret = bus_register(pio, data_port, 1, &cmos_data_ops, c, "cmos-data");
	if (ret < 0)
		log_error("cmos: cannot claim ports 0x%x/0x%x: %s", index_port, data_port,
			  strerror(-ret));
	return ret;
}
