/* The CMOS RAM and MC146818 RTC: time registers, and the update, alarm
 * and periodic interrupts (flags in register C, IRQ 8, the timer thread). */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "devices/cmos.h"
#include "tests/devices/fakes.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define NS 1000000000LL

/* IRQ 8 as the device drives it, from a vCPU (the test) or its thread. */
struct irq8 {
	int level;
	unsigned raises;
};

static void irq8_set(void *opaque, unsigned gsi, int level)
{
	struct irq8 *f = opaque;
	ck_assert_uint_eq(gsi, IRQ_RTC);
	if (level)
		__atomic_add_fetch(&f->raises, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&f->level, level, __ATOMIC_SEQ_CST);
}

static unsigned raises(const struct irq8 *f)
{
	return __atomic_load_n(&f->raises, __ATOMIC_SEQ_CST);
}

static int level(const struct irq8 *f)
{
	return __atomic_load_n(&f->level, __ATOMIC_SEQ_CST);
}

static struct bus *pio;
static struct cmos *cmos;
static struct irq8 irq;
static int64_t clock_ns;	/* the fake clock; the RTC thread reads it too */

static struct timespec fake_clock(void *opaque)
{
	int64_t ns = __atomic_load_n((int64_t *)opaque, __ATOMIC_SEQ_CST);
	return (struct timespec){ .tv_sec = ns / NS, .tv_nsec = ns % NS };
}

static void advance_ns(int64_t ns)
{
	__atomic_add_fetch(&clock_ns, ns, __ATOMIC_SEQ_CST);
}

static void advance_s(int64_t s)
{
	advance_ns(s * NS);
}

/* The fraction of the current second, in ns. */
static int64_t frac_ns(void)
{
	return __atomic_load_n(&clock_ns, __ATOMIC_SEQ_CST) % NS;
}

static void setup(void)
{
	log_set_quiet(true);
	pio = bus_create("pio");
	ck_assert_ptr_nonnull(pio);
	irq = (struct irq8){ 0 };
	clock_ns = 1795592709 * NS;	/* Wed 2026-11-25 07:45:09.000 UTC */
	struct irq_line line = { .set_level = irq8_set, .opaque = &irq, .gsi = IRQ_RTC };
	cmos = cmos_create(&line, fake_clock, &clock_ns);
	ck_assert_ptr_nonnull(cmos);
	ck_assert_int_eq(cmos_register(cmos, pio, PORT_CMOS_INDEX, PORT_CMOS_DATA), 0);
}

static void teardown(void)
{
	bus_destroy(pio);
	cmos_destroy(cmos);
}

static uint8_t rd(uint8_t reg)
{
	outb(pio, PORT_CMOS_INDEX, reg);
	return inb(pio, PORT_CMOS_DATA);
}

static void wr(uint8_t reg, uint8_t v)
{
	outb(pio, PORT_CMOS_INDEX, reg);
	outb(pio, PORT_CMOS_DATA, v);
}

/* ---- time registers ---- */

START_TEST(cmos_bcd_24h_time)
{
	ck_assert_uint_eq(rd(0x0b) & 0x06, 0x02);	/* BCD, 24h */
	ck_assert_uint_eq(rd(0x00), 0x09);
	ck_assert_uint_eq(rd(0x02), 0x45);
	ck_assert_uint_eq(rd(0x04), 0x07);
	ck_assert_uint_eq(rd(0x06), 0x04);		/* Wednesday; Sunday = 1 */
	ck_assert_uint_eq(rd(0x07), 0x25);
	ck_assert_uint_eq(rd(0x08), 0x11);
	ck_assert_uint_eq(rd(0x09), 0x26);
	ck_assert_uint_eq(rd(CMOS_REG_CENTURY), 0x20);
	advance_s(3600 * 12 + 5);
	ck_assert_uint_eq(rd(0x04), 0x19);
	ck_assert_uint_eq(rd(0x00), 0x14);
}
END_TEST

START_TEST(cmos_binary_time)
{
	wr(0x0b, 0x02 | 0x04);
	ck_assert_uint_eq(rd(0x00), 9);
	ck_assert_uint_eq(rd(0x02), 45);
	ck_assert_uint_eq(rd(0x04), 7);
	ck_assert_uint_eq(rd(0x07), 25);
	ck_assert_uint_eq(rd(0x08), 11);
	ck_assert_uint_eq(rd(0x09), 26);
	ck_assert_uint_eq(rd(CMOS_REG_CENTURY), 20);
}
END_TEST

START_TEST(cmos_12h_mode)
{
	wr(0x0b, 0x00);				/* BCD, 12-hour */
	ck_assert_uint_eq(rd(0x04), 0x07);	/* 7 AM */
	advance_s(3600 * 12);
	ck_assert_uint_eq(rd(0x04), 0x87);	/* 7 PM */
	advance_s(-3600 * 19);			/* 00:45 -> 12 AM */
	ck_assert_uint_eq(rd(0x04), 0x12);
}
END_TEST

START_TEST(cmos_status_registers)
{
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(rd(0x0a) & 0x80, 0);	/* on a whole second: no UIP */
	ck_assert_uint_eq(rd(0x0a), 0x26);
	ck_assert_uint_eq(rd(0x0d), 0x80);
	ck_assert_uint_eq(rd(0x0c), 0x00);
	wr(0x0d, 0x00);
	ck_assert_uint_eq(rd(0x0d), 0x80);	/* read-only */
}
END_TEST

START_TEST(cmos_nvram_and_nmi_bit)
{
	wr(0x40, 0x12);
	wr(0x7f, 0x34);
	ck_assert_uint_eq(rd(0x40), 0x12);
	ck_assert_uint_eq(rd(0x80 | 0x40), 0x12);	/* bit 7 is the NMI mask */
	ck_assert_uint_eq(rd(0x7f), 0x34);
	ck_assert_uint_eq(rd(0x80 | 0x00), 0x09);
	ck_assert_uint_eq(inb(pio, PORT_CMOS_INDEX), 0xff);
}
END_TEST

START_TEST(cmos_guest_sets_time_with_set_bit)
{
	wr(0x0b, 0x82);				/* SET: clock frozen */
	wr(0x09, 0x30);
	wr(0x08, 0x01);
	wr(0x07, 0x02);
	wr(0x04, 0x03);
	wr(0x02, 0x04);
	wr(0x00, 0x05);
	advance_s(100);
	ck_assert_uint_eq(rd(0x00), 0x05);	/* still frozen */
	wr(0x0b, 0x02);
	ck_assert_uint_eq(rd(0x09), 0x30);
	ck_assert_uint_eq(rd(0x08), 0x01);
	ck_assert_uint_eq(rd(0x07), 0x02);
	ck_assert_uint_eq(rd(0x04), 0x03);
	ck_assert_uint_eq(rd(0x02), 0x04);
	ck_assert_uint_eq(rd(0x00), 0x05);
	advance_s(10);
	ck_assert_uint_eq(rd(0x00), 0x15);	/* runs on from there */
}
END_TEST

START_TEST(cmos_single_field_write_and_bad_bcd)
{
	wr(0x02, 0x59);
	ck_assert_uint_eq(rd(0x02), 0x59);
	ck_assert_uint_eq(rd(0x04), 0x07);
	wr(0x02, 0x5a);				/* not BCD: ignored */
	wr(0x04, 0x24);				/* out of range: ignored */
	ck_assert_uint_eq(rd(0x02), 0x59);
	ck_assert_uint_eq(rd(0x04), 0x07);
}
END_TEST

/* ---- interrupts ---- */

enum { A = 0x0a, B = 0x0b, C = 0x0c, D = 0x0d };
#define B_24H 0x02
#define B_UIE 0x10
#define B_AIE 0x20
#define B_PIE 0x40
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

/* The interrupt tests start with the periodic rate off (PF would rise
 * with the others at the default 1024 Hz), except where they set it. */
static void irq_setup(void)
{
	setup();
	wr(A, 0x20);
}

START_TEST(rtc_update_flag_each_second_read_clears)
{
	ck_assert_uint_eq(rd(C), 0);
	advance_ns(NS / 2);
	ck_assert_uint_eq(rd(C), 0);			/* no second boundary yet */
	advance_ns(NS / 2);
	ck_assert_uint_eq(rd(C), C_UF);			/* flag without its interrupt */
	ck_assert_uint_eq(rd(C), 0);			/* the read cleared it */
	advance_s(5);
	ck_assert_uint_eq(rd(C), C_UF);			/* several updates: one flag */
	ck_assert_uint_eq(raises(&irq), 0);		/* UIE off: IRQ 8 quiet */
}
END_TEST

START_TEST(rtc_uie_raises_irq8_until_c_read)
{
	wr(B, B_24H | B_UIE);
	ck_assert_uint_eq(raises(&irq), 0);
	advance_ns(NS - 1);
	ck_assert_uint_eq(rd(D), 0x80);
	ck_assert_uint_eq(raises(&irq), 0);
	advance_ns(1);					/* the update */
	ck_assert_uint_eq(rd(D), 0x80);			/* any access notices it */
	ck_assert_uint_eq(raises(&irq), 1);
	ck_assert_int_eq(level(&irq), 1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_UF);
	ck_assert_int_eq(level(&irq), 0);		/* reading C lowers it */
	ck_assert_uint_eq(rd(C), 0);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_UF);	/* next second, next one */
	ck_assert_uint_eq(raises(&irq), 2);
	wr(B, B_24H);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_UF);
	ck_assert_uint_eq(raises(&irq), 2);
}
END_TEST

/* As on the chip: enabling with a flag already up interrupts at once;
 * Linux reads C before enabling for that reason. */
START_TEST(rtc_enabling_with_a_stale_flag_fires)
{
	advance_s(1);
	wr(B, B_24H | B_UIE);
	ck_assert_uint_eq(raises(&irq), 1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_UF);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_UF);
	wr(B, B_24H);
	advance_s(1);
	rd(C);						/* flushed, then enabled: quiet */
	wr(B, B_24H | B_UIE);
	ck_assert_uint_eq(raises(&irq), 2);
	ck_assert_int_eq(level(&irq), 0);
}
END_TEST

START_TEST(rtc_periodic_rate_from_register_a)
{
	wr(A, 0x26);					/* 1024 Hz: 976.5625 us */
	ck_assert_uint_eq(rd(C), 0);
	advance_ns(976562);
	ck_assert_uint_eq(rd(C), 0);
	advance_ns(1);
	ck_assert_uint_eq(rd(C), C_PF);
	wr(B, B_24H | B_PIE);
	advance_ns(976561);				/* next tick at 2 x 976562.5 */
	ck_assert_uint_eq(rd(D), 0x80);
	ck_assert_uint_eq(raises(&irq), 0);
	advance_ns(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_PF);
	ck_assert_uint_eq(raises(&irq), 1);
	wr(A, 0x2f);					/* 2 Hz */
	advance_ns(NS / 2 - frac_ns() - 1);
	ck_assert_uint_eq(rd(C), 0);
	advance_ns(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_PF);
	wr(A, 0x21);					/* rate 1 = 256 Hz: 3.90625 ms */
	advance_ns(3906249);
	ck_assert_uint_eq(rd(C), 0);
	advance_ns(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_PF);
	wr(A, 0x20);					/* rate 0: off */
	advance_ns(NS / 4);
	ck_assert_uint_eq(rd(C), 0);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_UF);			/* updates go on */
}
END_TEST

START_TEST(rtc_alarm_matches_time)
{
	wr(0x01, 0x11);					/* alarm 07:45:11 (BCD) */
	wr(0x03, 0x45);
	wr(0x05, 0x07);
	wr(B, B_24H | B_AIE);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_UF);			/* 07:45:10 */
	ck_assert_uint_eq(raises(&irq), 0);
	advance_s(1);					/* 07:45:11 */
	ck_assert_uint_eq(rd(D), 0x80);
	ck_assert_uint_eq(raises(&irq), 1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_UF);
	/* a day later, seen in one read: the alarm time went by */
	advance_s(86400);
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
	/* minutes and hours "don't care": every minute at :30 */
	wr(0x01, 0x30);
	wr(0x03, 0xc0);
	wr(0x05, 0xff);
	advance_s(30 - 12 - 1);				/* 07:45:29 */
	ck_assert_uint_eq(rd(C), C_UF);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
	advance_s(59);
	ck_assert_uint_eq(rd(C), C_UF);
	advance_s(1);					/* 07:46:30 */
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
}
END_TEST

START_TEST(rtc_alarm_in_binary_12_hour_mode)
{
	wr(B, 0x04);					/* binary, 12-hour */
	wr(0x01, 9);
	wr(0x03, 45);
	wr(0x05, 0x80 | 7);				/* 7 PM */
	wr(B, 0x04 | B_AIE);
	rd(C);
	advance_s(86400);				/* a day: 7:45:09 PM went by */
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
	advance_s(3600 * 12);				/* 07:45:09 PM exactly */
	ck_assert_uint_eq(rd(C), C_IRQF | C_AF | C_UF);
	advance_s(3600 * 12);				/* AM again: no match */
	ck_assert_uint_eq(rd(C), C_UF);
}
END_TEST

START_TEST(rtc_uip_before_each_update)
{
	advance_ns(NS - 244001);
	ck_assert_uint_eq(rd(A), 0x20);
	advance_ns(1);
	ck_assert_uint_eq(rd(A), 0x80 | 0x20);		/* 244 us before the update */
	ck_assert_uint_eq(rd(0x00), 0x09);		/* the old second still */
	advance_ns(244000 - 1);
	ck_assert_uint_eq(rd(A) & 0x80, 0x80);
	advance_ns(1);
	ck_assert_uint_eq(rd(A), 0x20);			/* updated */
	ck_assert_uint_eq(rd(0x00), 0x10);
	wr(A, 0xa0);					/* UIP is read-only */
	ck_assert_uint_eq(rd(A), 0x20);
	wr(B, 0x80 | B_24H);				/* SET: no updates, no UIP */
	advance_ns(NS - 100000);
	ck_assert_uint_eq(rd(A), 0x20);
}
END_TEST

START_TEST(rtc_set_bit_holds_updates)
{
	wr(B, 0x80 | B_24H | B_UIE);
	ck_assert_uint_eq(rd(B), 0x80 | B_24H);		/* SET going high clears UIE */
	rd(C);
	advance_s(3);
	ck_assert_uint_eq(rd(C), 0);
	ck_assert_uint_eq(raises(&irq), 0);
	wr(0x00, 0x30);					/* 07:45:30 */
	wr(B, B_24H | B_UIE);				/* the new time is no update */
	ck_assert_uint_eq(rd(C), 0);
	ck_assert_uint_eq(rd(0x00), 0x30);
	advance_s(1);
	ck_assert_uint_eq(rd(C), C_IRQF | C_UF);
	/* setting one field without SET is no update either, even backwards */
	wr(0x02, 0x10);
	ck_assert_uint_eq(rd(C), 0);
	wr(0x02, 0x50);
	ck_assert_uint_eq(rd(C), 0);
	ck_assert_uint_eq(raises(&irq), 1);
}
END_TEST

START_TEST(rtc_no_irq_line_still_has_flags)
{
	struct bus *b = bus_create("pio2");
	struct cmos *c = cmos_create(NULL, fake_clock, &clock_ns);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cmos_register(c, b, PORT_CMOS_INDEX, PORT_CMOS_DATA), 0);
	outb(b, PORT_CMOS_INDEX, A);
	outb(b, PORT_CMOS_DATA, 0x20);
	outb(b, PORT_CMOS_INDEX, B);
	outb(b, PORT_CMOS_DATA, B_24H | B_UIE);
	advance_s(1);
	outb(b, PORT_CMOS_INDEX, C);
	ck_assert_uint_eq(inb(b, PORT_CMOS_DATA), C_IRQF | C_UF);
	cmos_destroy(c);
	bus_destroy(b);
}
END_TEST

/* ---- the timer thread, on the real clock ---- */

static bool wait_raises(const struct irq8 *f, unsigned want, int ms)
{
	for (int i = 0; i < ms && raises(f) < want; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	return raises(f) >= want;
}

START_TEST(rtc_thread_delivers_update_interrupts)
{
	struct bus *b = bus_create("pio2");
	struct irq8 f = { 0 };
	struct irq_line line = { .set_level = irq8_set, .opaque = &f, .gsi = IRQ_RTC };
	struct cmos *c = cmos_create(&line, NULL, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cmos_register(c, b, PORT_CMOS_INDEX, PORT_CMOS_DATA), 0);
	outb(b, PORT_CMOS_INDEX, A);
	outb(b, PORT_CMOS_DATA, 0x20);
	outb(b, PORT_CMOS_INDEX, C);
	inb(b, PORT_CMOS_DATA);
	outb(b, PORT_CMOS_INDEX, B);
	outb(b, PORT_CMOS_DATA, B_24H | B_UIE);
	/* nobody touches the device: the thread raises IRQ 8 at the update */
	ck_assert_msg(wait_raises(&f, 1, 1500), "no update interrupt within 1.5 s");
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	/* Generous: a loaded CI host may run the thread late. */
	ck_assert_msg(t.tv_nsec < 600000000, "raised %ld ms after the second", t.tv_nsec / 1000000);
	outb(b, PORT_CMOS_INDEX, C);
	ck_assert_uint_eq(inb(b, PORT_CMOS_DATA), C_IRQF | C_UF);
	ck_assert_int_eq(level(&f), 0);
	ck_assert_msg(wait_raises(&f, 2, 1500), "no second update interrupt");
	/* disabled: quiet */
	outb(b, PORT_CMOS_INDEX, B);
	outb(b, PORT_CMOS_DATA, B_24H);
	outb(b, PORT_CMOS_INDEX, C);
	inb(b, PORT_CMOS_DATA);
	ck_assert(!wait_raises(&f, 3, 1200));
	cmos_destroy(c);			/* stops the thread */
	bus_destroy(b);
}
END_TEST

START_TEST(rtc_thread_delivers_periodic_interrupts)
{
	struct bus *b = bus_create("pio2");
	struct irq8 f = { 0 };
	struct irq_line line = { .set_level = irq8_set, .opaque = &f, .gsi = IRQ_RTC };
	struct cmos *c = cmos_create(&line, NULL, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cmos_register(c, b, PORT_CMOS_INDEX, PORT_CMOS_DATA), 0);
	outb(b, PORT_CMOS_INDEX, A);
	outb(b, PORT_CMOS_DATA, 0x2d);		/* 8 Hz */
	outb(b, PORT_CMOS_INDEX, C);
	inb(b, PORT_CMOS_DATA);
	outb(b, PORT_CMOS_INDEX, B);
	outb(b, PORT_CMOS_DATA, B_24H | B_PIE);
	/* a guest's handler: read C at each interrupt, for one second */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (level(&f)) {
			outb(b, PORT_CMOS_INDEX, C);
			ck_assert_uint_eq(inb(b, PORT_CMOS_DATA) & (C_IRQF | C_PF), C_IRQF | C_PF);
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * NS + (t.tv_nsec - t0.tv_nsec) < NS);
	unsigned n = raises(&f);
	/* 8 expected; a loaded host may delay (coalesce) a few, never add. */
	ck_assert_msg(n >= 4 && n <= 9, "%u periodic interrupts in 1 s at 8 Hz", n);
	cmos_destroy(c);
	bus_destroy(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("time");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cmos_bcd_24h_time);
	tcase_add_test(tc, cmos_binary_time);
	tcase_add_test(tc, cmos_12h_mode);
	tcase_add_test(tc, cmos_status_registers);
	tcase_add_test(tc, cmos_nvram_and_nmi_bit);
	tcase_add_test(tc, cmos_guest_sets_time_with_set_bit);
	tcase_add_test(tc, cmos_single_field_write_and_bad_bcd);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupts");
	tcase_add_checked_fixture(tc, irq_setup, teardown);
	tcase_add_test(tc, rtc_update_flag_each_second_read_clears);
	tcase_add_test(tc, rtc_uie_raises_irq8_until_c_read);
	tcase_add_test(tc, rtc_enabling_with_a_stale_flag_fires);
	tcase_add_test(tc, rtc_periodic_rate_from_register_a);
	tcase_add_test(tc, rtc_alarm_matches_time);
	tcase_add_test(tc, rtc_alarm_in_binary_12_hour_mode);
	tcase_add_test(tc, rtc_uip_before_each_update);
	tcase_add_test(tc, rtc_set_bit_holds_updates);
	tcase_add_test(tc, rtc_no_irq_line_still_has_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("thread");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, rtc_thread_delivers_update_interrupts);
	tcase_add_test(tc, rtc_thread_delivers_periodic_interrupts);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
