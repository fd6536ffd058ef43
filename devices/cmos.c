#include "devices/cmos.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
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
#define A_RATE     0x0f		/* periodic interrupt rate select */
#define A_DEFAULT  0x26		/* 32.768 kHz time base, 1024 Hz rate */
#define B_SET      0x80
#define B_PIE      0x40
#define B_AIE      0x20
#define B_UIE      0x10
#define B_BINARY   0x04
#define B_24H      0x02
#define B_DEFAULT  B_24H	/* BCD, 24-hour, like a PC BIOS leaves it */
#define C_IRQF     0x80
#define C_PF       0x40
#define C_AF       0x20
#define C_UF       0x10
#define D_VRT      0x80		/* valid RAM and time */
#define HOUR_PM    0x80		/* in 12-hour mode */
#define ALARM_ANY  0xc0		/* an alarm byte with both top bits set matches all */

#define NS_PER_S     1000000000LL
#define BASE_HZ      32768	/* the divider chain's time base */
#define UIP_NS       244000LL	/* UIP rises this long before each update */
#define MAX_WAIT_NS  NS_PER_S	/* the timer re-reads the clock at least this often */
#define SECS_PER_DAY 86400

struct cmos {
	pthread_mutex_t lock;
	cmos_clock_fn clock;
	void *clock_opaque;
	struct irq_line irq;
	bool has_irq, irq_level;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	uint8_t flags;		/* register C's PF/AF/UF until the guest reads C */
	struct timespec seen;	/* guest time up to which flags are up to date */
	time_t offset;		/* guest time minus clock time, in seconds */
	struct tm set_tm;	/* the time being written while B.SET is on */
	/* The interrupt timer, started when the guest first enables an
	 * interrupt: it sleeps until the next event while an enabled flag
	 * can still rise, else until register A, B or C is touched. */
	pthread_t thread;
	pthread_cond_t wake;	/* waits on CLOCK_MONOTONIC */
	bool thread_started, thread_failed, stopping;
};

static struct timespec host_clock(void *opaque)
{
	(void)opaque;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/* Seconds can be negative (a guest may set 1900): floor, not truncation. */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static struct timespec guest_now(const struct cmos *c)
{
	struct timespec ts = c->clock(c->clock_opaque);
	ts.tv_sec += c->offset;
	return ts;
}

static struct tm guest_tm(const struct cmos *c)
{
	struct tm tm;
	time_t t = guest_now(c).tv_sec;
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

/* ---- interrupt flags, computed from the clock when looked at ---- */

/* The periodic rate in time-base ticks, 0 when off. Rates 1 and 2 repeat
 * 8 and 9 (256 and 128 Hz) on a 32.768 kHz base. */
static int64_t periodic_ticks(const struct cmos *c)
{
	unsigned rs = c->ram[REG_A] & A_RATE;
	if (rs == 0)
		return 0;
	return rs < 3 ? 1LL << (rs + 6) : 1LL << (rs - 1);
}

/* Time-base ticks since the epoch: never overflows for years 0-9999. */
static int64_t base_ticks(struct timespec t)
{
	return (int64_t)t.tv_sec * BASE_HZ + t.tv_nsec * BASE_HZ / NS_PER_S;
}

static bool alarm_byte_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & ALARM_ANY) == ALARM_ANY || alarm == now;
}

static bool alarm_matches(const struct cmos *c, int64_t sec)
{
	int64_t sod = sec - floor_div(sec, SECS_PER_DAY) * SECS_PER_DAY;
	return alarm_byte_matches(c->ram[REG_SEC_ALARM], encode(c, (int)(sod % 60))) &&
	       alarm_byte_matches(c->ram[REG_MIN_ALARM], encode(c, (int)(sod / 60 % 60))) &&
	       alarm_byte_matches(c->ram[REG_HOUR_ALARM], encode_hour(c, (int)(sod / 3600)));
}

/* Whether an update in (from, to] hit the alarm: a day covers every time. */
static bool alarm_hit(const struct cmos *c, int64_t from, int64_t to)
{
	if (to - from > SECS_PER_DAY)
		from = to - SECS_PER_DAY;
	for (int64_t s = from + 1; s <= to; s++)
		if (alarm_matches(c, s))
			return true;
	return false;
}

/* Sets the flags of the events between c->seen and now. Updates (UF, and
 * AF on an alarm match) happen at each second boundary unless B.SET holds
 * the clock; periodic ticks (PF) at multiples of the rate. As on the chip,
 * flags rise whether or not their interrupt is enabled. */
static void catch_up(struct cmos *c)
{
	struct timespec now = guest_now(c), was = c->seen;
	c->seen = now;
	if (now.tv_sec < was.tv_sec || (now.tv_sec == was.tv_sec && now.tv_nsec <= was.tv_nsec))
		return;
	if (!(c->ram[REG_B] & B_SET) && now.tv_sec > was.tv_sec) {
		c->flags |= C_UF;
		if (alarm_hit(c, was.tv_sec, now.tv_sec))
			c->flags |= C_AF;
	}
	int64_t period = periodic_ticks(c);
	if (period && floor_div(base_ticks(now), period) > floor_div(base_ticks(was), period))
		c->flags |= C_PF;
}

/* Register C without the read side effect. B's PIE/AIE/UIE sit at the
 * bit positions of PF/AF/UF. */
static uint8_t reg_c(const struct cmos *c)
{
	return c->flags | ((c->flags & c->ram[REG_B]) ? C_IRQF : 0);
}

/* IRQ 8 follows IRQF (an edge on the IOAPIC/PIC when it rises). */
static void update_irq(struct cmos *c)
{
	bool level = reg_c(c) & C_IRQF;
	if (c->has_irq && level != c->irq_level) {
		c->irq_level = level;
		irq_line_set(&c->irq, level);
	}
}

/* Nanoseconds until the next event that would raise IRQF; -1 for none. */
static int64_t next_event_ns(const struct cmos *c)
{
	uint8_t enabled = c->ram[REG_B] & (B_PIE | B_AIE | B_UIE);
	if (!enabled || (reg_c(c) & C_IRQF))
		return -1;	/* nothing can rise before the guest acts */
	struct timespec now = guest_now(c);
	int64_t wait = -1;
	if ((enabled & (B_AIE | B_UIE)) && !(c->ram[REG_B] & B_SET))
		wait = NS_PER_S - now.tv_nsec;
	int64_t period = periodic_ticks(c);
	if ((enabled & B_PIE) && period) {
		/* The next multiple of period, in ticks from this second's start. */
		int64_t base = (int64_t)now.tv_sec * BASE_HZ;
		int64_t next = (floor_div(base_ticks(now), period) + 1) * period - base;
		int64_t at = (next * NS_PER_S + BASE_HZ - 1) / BASE_HZ;
		if (wait < 0 || at - now.tv_nsec < wait)
			wait = at - now.tv_nsec;
	}
	/* The host's clock may be set meanwhile: look again within a second. */
	return wait > MAX_WAIT_NS ? MAX_WAIT_NS : wait;
}

static void *timer_thread(void *opaque)
{
	struct cmos *c = opaque;
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		catch_up(c);
		update_irq(c);
		int64_t wait = next_event_ns(c);
		if (wait < 0) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		int64_t ns = until.tv_nsec + wait;
		until.tv_sec += ns / NS_PER_S;
		until.tv_nsec = ns % NS_PER_S;
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* After a change that may move the next event: wake the timer, or start it
 * the first time an interrupt is enabled. Without a thread the flags still
 * work for a guest that polls register C. */
static void kick_timer(struct cmos *c)
{
	if (c->thread_started) {
		pthread_cond_signal(&c->wake);
		return;
	}
	if (!c->has_irq || c->thread_failed || !(c->ram[REG_B] & (B_PIE | B_AIE | B_UIE)))
		return;
	/* No signal for this thread: it inherits the mask it is created with. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&c->thread, NULL, timer_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("cmos: cannot start the RTC interrupt thread: %s (IRQ 8 only "
			  "follows the guest's own register accesses)", strerror(err));
		/* The line keeps following the flags (so a raised IRQ 8 is
		 * lowered by the guest's read of register C); no retries. */
		c->thread_failed = true;
		return;
	}
	c->thread_started = true;
}

/* ---- registers ---- */

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

/* A new time is not an event: the flags restart from it. */
static void commit_time(struct cmos *c, struct tm *tm)
{
	tm->tm_isdst = 0;
	time_t t = timegm(tm);
	if (t == (time_t)-1)
		return;
	catch_up(c);
	c->offset = t - c->clock(c->clock_opaque).tv_sec;
	c->seen = guest_now(c);
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
	if (!was_set && (val & B_SET)) {
		c->set_tm = guest_tm(c);	/* the clock stops while being set */
		val &= (uint8_t)~B_UIE;		/* MC146818A: SET clears UIE */
	}
	c->ram[REG_B] = val;
	if (was_set && !(val & B_SET))
		commit_time(c, &c->set_tm);
}

/* UIP: set from UIP_NS before each update to the update (the time
 * registers change at the second boundary); never while SET holds the
 * clock. A guest waiting for it to clear waits at most 244 us. */
static uint8_t read_reg_a(const struct cmos *c)
{
	bool uip = !(c->ram[REG_B] & B_SET) && guest_now(c).tv_nsec >= NS_PER_S - UIP_NS;
	return (c->ram[REG_A] & ~A_UIP) | (uip ? A_UIP : 0);
}

/* Reading C returns the flags and clears them, which lowers IRQ 8. */
static uint8_t read_reg_c(struct cmos *c)
{
	uint8_t v = reg_c(c);
	c->flags = 0;
	return v;
}

static uint8_t cmos_read_reg(struct cmos *c, uint8_t reg)
{
	if (is_time_reg(reg))
		return read_time_reg(c, reg);
	switch (reg) {
	case REG_A: return read_reg_a(c);
	case REG_C: return read_reg_c(c);
	case REG_D: return D_VRT;
	default:    return c->ram[reg];
	}
}

static void cmos_write_reg(struct cmos *c, uint8_t reg, uint8_t val)
{
	if (is_time_reg(reg)) {
		write_time_reg(c, reg, val);
	} else if (reg == REG_A) {
		c->ram[REG_A] = val & ~A_UIP;
	} else if (reg == REG_B) {
		write_reg_b(c, val);
	} else if (reg != REG_C && reg != REG_D) {	/* read-only */
		c->ram[reg] = val;
	}
}

/* Registers whose access can change IRQ 8 or the next event. */
static bool moves_interrupts(uint8_t reg)
{
	return reg == REG_A || reg == REG_B || reg == REG_C || is_time_reg(reg);
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
	/* Any access brings the flags and IRQ 8 up to date; an event since
	 * the last look raised IRQ 8 even if this very read of C lowers it. */
	catch_up(c);
	update_irq(c);
	*(uint8_t *)data = cmos_read_reg(c, c->index);
	update_irq(c);
	if (c->index == REG_C)
		kick_timer(c);
	pthread_mutex_unlock(&c->lock);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct cmos *c = opaque;
	(void)offset, (void)len;
	pthread_mutex_lock(&c->lock);
	catch_up(c);		/* events so far count under the old settings */
	update_irq(c);
	cmos_write_reg(c, c->index, *(const uint8_t *)data);
	update_irq(c);
	if (moves_interrupts(c->index))
		kick_timer(c);
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_dev_ops cmos_index_ops = { .read = index_read, .write = index_write };
static const struct bus_dev_ops cmos_data_ops = { .read = data_read, .write = data_write };

struct cmos *cmos_create(const struct irq_line *irq, cmos_clock_fn clock, void *clock_opaque)
{
	struct cmos *c = calloc(1, sizeof(*c));
	if (!c) {
		log_error("cmos: out of memory");
		return NULL;
	}
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&c->lock, NULL);
	if (irq) {
		c->irq = *irq;
		c->has_irq = true;
	}
	c->clock = clock ? clock : host_clock;
	c->clock_opaque = clock_opaque;
	c->ram[REG_A] = A_DEFAULT;
	c->ram[REG_B] = B_DEFAULT;
	c->seen = guest_now(c);
	return c;
}

void cmos_destroy(struct cmos *c)
{
	if (!c)
		return;
	if (c->thread_started) {
		pthread_mutex_lock(&c->lock);
		c->stopping = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->wake);
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
