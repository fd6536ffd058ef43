/* i8042, ACPI PM, debug-exit and the platform set-up (the RTC: test_rtc.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "devices/acpi_pm.h"
#include "devices/cmos.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/platform.h"
#include "tests/devices/fakes.h"
#include "vmm/layout.h"
#include "vmm/log.h"

static struct bus *pio;
static struct fake_stop stopped;
static struct vm_stopper stopper;

static void setup(void)
{
	log_set_quiet(true);
	pio = bus_create("pio");
	ck_assert_ptr_nonnull(pio);
	stopper = fake_stopper(&stopped);
}

static void teardown(void)
{
	bus_destroy(pio);
}

/* ---- i8042 ---- */

static struct i8042 *kbc;
static struct fake_irq kbd_irq;

static void kbc_setup(void)
{
	setup();
	struct irq_line line = fake_irq_line(&kbd_irq, IRQ_KEYBOARD);
	kbc = i8042_create(&stopper, &line);
	ck_assert_ptr_nonnull(kbc);
	ck_assert_int_eq(i8042_register(kbc, pio, PORT_I8042_DATA, PORT_I8042_CMD), 0);
}

static void kbc_teardown(void)
{
	teardown();
	i8042_destroy(kbc);
}

/* Linux's i8042_command(): wait for IBF clear, write, poll OBF, read. */
static int kbc_command(uint8_t cmd, int param)
{
	ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x02, 0);
	outb(pio, PORT_I8042_CMD, cmd);
	if (param >= 0)
		outb(pio, PORT_I8042_DATA, (uint8_t)param);
	if (!(inb(pio, PORT_I8042_CMD) & 0x01))
		return -1;
	return inb(pio, PORT_I8042_DATA);
}

START_TEST(kbc_status_sane_and_flushes)
{
	uint8_t st = inb(pio, PORT_I8042_CMD);
	ck_assert_uint_ne(st, 0xff);
	ck_assert_uint_eq(st & 0x03, 0);	/* nothing to read, ready for input */
	ck_assert_uint_eq(st & 0x04, 0x04);	/* system flag */
	ck_assert_uint_eq(kbc_command(0x20, -1) & 0x04, 0x04);
	ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x01, 0);	/* flushed */
}
END_TEST

START_TEST(kbc_self_test_and_ctr_round_trip)
{
	ck_assert_int_eq(kbc_command(0xaa, -1), 0x55);
	ck_assert_int_eq(kbc_command(0xab, -1), 0x00);
	kbc_command(0x60, 0x47);
	ck_assert_int_eq(kbc_command(0x20, -1), 0x47);
	kbc_command(0xad, -1);
	ck_assert_int_eq(kbc_command(0x20, -1), 0x57);
	kbc_command(0xae, -1);
	ck_assert_int_eq(kbc_command(0x20, -1), 0x47);
	ck_assert_uint_eq(stopped.calls, 0);
}
END_TEST

START_TEST(kbc_reports_no_aux_at_once)
{
	/* AUX loopback answers without the AUX flag (Linux: "auxerr") */
	outb(pio, PORT_I8042_CMD, 0xd3);
	outb(pio, PORT_I8042_DATA, 0x5a);
	uint8_t st = inb(pio, PORT_I8042_CMD);
	ck_assert_uint_eq(st & 0x21, 0x01);
	inb(pio, PORT_I8042_DATA);
	int r = kbc_command(0xa9, -1);		/* AUX interface test fails */
	ck_assert(r != 0 && r != 0xfa && r != 0xff && r >= 0);
	ck_assert_int_eq(kbc_command(0xd2, 0x33), 0x33);	/* kbd loopback */
}
END_TEST

/* atkbd's probe: each command byte to the keyboard gets "no device" at
 * once (timeout bit + 0xFE, which libps2 takes as a NAK), with IRQ 1. */
START_TEST(kbc_no_keyboard_naks_at_once_with_irq1)
{
	const uint8_t cmds[] = { 0xf2, 0xf2, 0xed, 0xed, 0xf5, 0xf4, 0xff, 0xf0 };
	for (unsigned i = 0; i < sizeof(cmds); i++) {
		outb(pio, PORT_I8042_DATA, cmds[i]);
		ck_assert_uint_eq(kbd_irq.raises, i + 1);
		ck_assert_int_eq(kbd_irq.level, 1);
		ck_assert_uint_eq(kbd_irq.gsi, IRQ_KEYBOARD);
		ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x61, 0x41);	/* OBF, timeout, kbd */
		ck_assert_uint_eq(inb(pio, PORT_I8042_DATA), 0xfe);
		ck_assert_int_eq(kbd_irq.level, 0);	/* read: IRQ 1 down */
		ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x41, 0);
	}
	ck_assert_uint_eq(stopped.calls, 0);
}
END_TEST

START_TEST(kbc_irq1_follows_command_byte)
{
	kbc_command(0x60, 0x44);		/* keyboard interrupt off */
	outb(pio, PORT_I8042_DATA, 0xf2);
	ck_assert_uint_eq(kbd_irq.raises, 0);	/* the byte is there, no interrupt */
	ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x41, 0x41);
	outb(pio, PORT_I8042_CMD, 0x60);
	outb(pio, PORT_I8042_DATA, 0x45);	/* on again while the byte waits */
	ck_assert_uint_eq(kbd_irq.raises, 1);
	ck_assert_uint_eq(inb(pio, PORT_I8042_DATA), 0xfe);
	ck_assert_int_eq(kbd_irq.level, 0);
	/* controller answers are polled: no IRQ 1 */
	ck_assert_int_eq(kbc_command(0x20, -1), 0x45);
	ck_assert_int_eq(kbc_command(0xaa, -1), 0x55);
	ck_assert_uint_eq(kbd_irq.raises, 1);
	/* a controller answer replacing a waiting keyboard byte takes IRQ 1 down */
	outb(pio, PORT_I8042_DATA, 0xf2);
	ck_assert_int_eq(kbd_irq.level, 1);
	ck_assert_int_eq(kbc_command(0x20, -1), 0x45);
	ck_assert_int_eq(kbd_irq.level, 0);
	ck_assert_uint_eq(inb(pio, PORT_I8042_CMD) & 0x40, 0);
}
END_TEST

START_TEST(kbc_without_irq_line)
{
	struct bus *b = bus_create("pio2");
	struct i8042 *k = i8042_create(&stopper, NULL);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(i8042_register(k, b, PORT_I8042_DATA, PORT_I8042_CMD), 0);
	outb(b, PORT_I8042_DATA, 0xf2);
	ck_assert_uint_eq(inb(b, PORT_I8042_DATA), 0xfe);
	outb(b, PORT_I8042_CMD, 0xfe);
	ck_assert_uint_eq(stopped.calls, 1);
	i8042_destroy(k);
	bus_destroy(b);
}
END_TEST

START_TEST(kbc_pulse_fe_resets)
{
	outb(pio, PORT_I8042_CMD, 0xfe);
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_RESET);
	ck_assert_int_eq(stopped.status, 0);
}
END_TEST

START_TEST(kbc_harmless_commands_do_not_reset)
{
	const uint8_t cmds[] = { 0xff, 0xa7, 0xa8, 0xad, 0xae, 0xd0, 0xc0, 0x00, 0xe0 };
	for (unsigned i = 0; i < sizeof(cmds); i++) {
		outb(pio, PORT_I8042_CMD, cmds[i]);
		inb(pio, PORT_I8042_DATA);
	}
	kbc_command(0xd1, 0xdf);		/* A20 on, reset line high */
	ck_assert_uint_eq(stopped.calls, 0);
	ck_assert_int_eq(kbc_command(0xd0, -1), 0xdf);
}
END_TEST

START_TEST(kbc_output_port_reset_bit)
{
	outb(pio, PORT_I8042_CMD, 0xd1);
	outb(pio, PORT_I8042_DATA, 0xfe);
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_RESET);
}
END_TEST

/* ---- ACPI ---- */

static struct acpi_pm *pm;
static struct fake_irq pm_sci;
static struct irq_line pm_sci_line;
static uint64_t pm_now;		/* the fake monotonic clock, ns */
static const struct acpi_pm_ports pm_ports = {
	.evt = PORT_ACPI_PM1A_EVT, .cnt = PORT_ACPI_PM1A_CNT,
	.reset = PORT_ACPI_RESET, .timer = PORT_ACPI_PM_TMR,
};

static uint64_t pm_fake_clock(void *opaque)
{
	return *(uint64_t *)opaque;
}

static void pm_setup(void)
{
	setup();
	pm_now = 5 * 1000000000ull;	/* the counter starts at 0 whatever the clock says */
	pm_sci_line = fake_irq_line(&pm_sci, ACPI_SCI_IRQ);
	pm = acpi_pm_create(&stopper, &pm_sci_line, pm_fake_clock, &pm_now);
	ck_assert_ptr_nonnull(pm);
	ck_assert_int_eq(acpi_pm_register(pm, pio, &pm_ports), 0);
}

static void pm_teardown(void)
{
	teardown();
	acpi_pm_destroy(pm);
}

START_TEST(acpi_sci_en_reads_set)
{
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_CNT) & 1, 1);
	outw(pio, PORT_ACPI_PM1A_CNT, 0);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_CNT) & 1, 1);
}
END_TEST

START_TEST(acpi_s5_powers_off)
{
	outw(pio, PORT_ACPI_PM1A_CNT, (ACPI_SLP_TYP_S5 << 10) | 0x2000 | 1);
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_POWEROFF);
	ck_assert_int_eq(stopped.status, 0);
}
END_TEST

START_TEST(acpi_s5_by_high_byte_write)
{
	outb(pio, PORT_ACPI_PM1A_CNT + 1, (uint8_t)(((ACPI_SLP_TYP_S5 << 10) | 0x2000) >> 8));
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_POWEROFF);
}
END_TEST

START_TEST(acpi_slp_typ_without_slp_en_only_latches)
{
	/* ACPICA writes SLP_TYP first, then SLP_TYP|SLP_EN. */
	outw(pio, PORT_ACPI_PM1A_CNT, ACPI_SLP_TYP_S5 << 10);
	ck_assert_uint_eq(stopped.calls, 0);
	uint16_t v = inw(pio, PORT_ACPI_PM1A_CNT);
	ck_assert_uint_eq((v >> 10) & 7, ACPI_SLP_TYP_S5);
	ck_assert_uint_eq(v & 0x2000, 0);	/* SLP_EN is write-only */
}
END_TEST

START_TEST(acpi_other_sleep_types_ignored)
{
	for (unsigned typ = 0; typ < 8; typ++)
		if (typ != ACPI_SLP_TYP_S5)
			outw(pio, PORT_ACPI_PM1A_CNT, (uint16_t)((typ << 10) | 0x2000));
	ck_assert_uint_eq(stopped.calls, 0);
}
END_TEST

START_TEST(acpi_reset_register)
{
	outb(pio, PORT_ACPI_RESET, ACPI_RESET_VALUE ^ 0xff);
	ck_assert_uint_eq(stopped.calls, 0);
	outb(pio, PORT_ACPI_RESET, ACPI_RESET_VALUE);
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_RESET);
	ck_assert_int_eq(stopped.status, 0);
}
END_TEST

START_TEST(acpi_pm1_status_enable)
{
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);	/* no events */
	outw(pio, PORT_ACPI_PM1A_EVT + 2, 0x0121);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT + 2), 0x0121);
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM1A_EVT), 0x01210000);
	outw(pio, PORT_ACPI_PM1A_EVT, 0xffff);	/* write-1-to-clear: stays 0 */
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT + 2), 0x0121);
}
END_TEST

#define PWRBTN ACPI_PM1_PWRBTN

START_TEST(acpi_pwrbtn_sets_status_without_sci_when_disabled)
{
	acpi_pm_press_power_button(pm);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), PWRBTN);
	ck_assert_uint_eq(pm_sci.raises, 0);	/* PWRBTN_EN clear: no SCI */
	ck_assert_uint_eq(stopped.calls, 0);	/* the guest decides, not the device */
	outw(pio, PORT_ACPI_PM1A_EVT, 0);	/* writing 0 clears nothing */
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), PWRBTN);
	outb(pio, PORT_ACPI_PM1A_EVT + 1, PWRBTN >> 8);	/* W1C, byte-wide */
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);
}
END_TEST

START_TEST(acpi_pwrbtn_sci_follows_status_and_enable)
{
	outw(pio, PORT_ACPI_PM1A_EVT + 2, PWRBTN);
	ck_assert_int_ne(pm_sci.level, 1);
	acpi_pm_press_power_button(pm);
	ck_assert_int_eq(pm_sci.level, 1);
	ck_assert_uint_eq(pm_sci.gsi, ACPI_SCI_IRQ);
	acpi_pm_press_power_button(pm);		/* pressed again: still one level */
	ck_assert_uint_eq(pm_sci.raises, 1);
	outw(pio, PORT_ACPI_PM1A_EVT + 2, 0);	/* disabled: the line drops, status stays */
	ck_assert_int_eq(pm_sci.level, 0);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), PWRBTN);
	outw(pio, PORT_ACPI_PM1A_EVT + 2, PWRBTN);	/* enabled again: pending, so high */
	ck_assert_int_eq(pm_sci.level, 1);
	ck_assert_uint_eq(pm_sci.raises, 2);
	outl(pio, PORT_ACPI_PM1A_EVT, PWRBTN << 16 | PWRBTN);	/* clear, keep enabled */
	ck_assert_int_eq(pm_sci.level, 0);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT + 2), PWRBTN);
	acpi_pm_press_power_button(pm);
	ck_assert_int_eq(pm_sci.level, 1);
	ck_assert_uint_eq(pm_sci.raises, 3);
}
END_TEST

START_TEST(acpi_pwrbtn_guest_cannot_set_status)
{
	outw(pio, PORT_ACPI_PM1A_EVT + 2, PWRBTN);
	outw(pio, PORT_ACPI_PM1A_EVT, 0xffff);
	outb(pio, PORT_ACPI_PM1A_EVT + 1, 0xff);
	outl(pio, PORT_ACPI_PM1A_EVT, 0xffffffff);	/* EN all set, STS W1C */
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT) & PWRBTN, 0);
	ck_assert_uint_eq(pm_sci.raises, 0);
}
END_TEST

/* The first clock value (ns after creation) at which the counter reads
 * 'ticks': ceil(ticks * 1e9 / 3579545), computed independently of the device. */
static uint64_t ns_for_ticks(uint64_t ticks)
{
	unsigned __int128 n = (unsigned __int128)ticks * 1000000000u;
	return (uint64_t)((n + 3579545u - 1) / 3579545u);
}

START_TEST(pm_timer_rate_on_a_fake_clock)
{
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 0);
	pm_now += 1000000000ull;
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 3579545);
	pm_now += 1000;				/* 1 us = 3.58 ticks */
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 3579548);
	ck_assert_uint_eq(acpi_pm_ticks(ns_for_ticks(123456789)), 123456789);
	ck_assert_uint_eq(acpi_pm_ticks(ns_for_ticks(123456789) - 1), 123456788);
	/* a day of uptime, and far beyond: no overflow in the conversion */
	ck_assert_uint_eq(acpi_pm_ticks(86400ull * 1000000000ull), 86400ull * 3579545);
	ck_assert_uint_eq(acpi_pm_ticks(3000000000ull * 1000000000ull), 3000000000ull * 3579545);
}
END_TEST

START_TEST(pm_timer_wraps_modulo_2_32)
{
	uint64_t start = pm_now;
	pm_now = start + ns_for_ticks((1ull << 32) - 2);
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 0xfffffffe);
	pm_now = start + ns_for_ticks((1ull << 32) + 3);
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 3);
	pm_now = start + ns_for_ticks(5 * (1ull << 32) + 0x123456);
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 0x123456);
}
END_TEST

START_TEST(pm_timer_narrow_reads_and_writes_ignored)
{
	pm_now += ns_for_ticks(0x89abcdef);
	ck_assert_uint_eq(inb(pio, PORT_ACPI_PM_TMR), 0xef);
	ck_assert_uint_eq(inb(pio, PORT_ACPI_PM_TMR + 3), 0x89);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM_TMR + 2), 0x89ab);
	outl(pio, PORT_ACPI_PM_TMR, 0);
	ck_assert_uint_eq(inl(pio, PORT_ACPI_PM_TMR), 0x89abcdef);
}
END_TEST

START_TEST(pm_timer_status_follows_bit_31)
{
	uint64_t start = pm_now;
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT) & ACPI_PM1_STS_TMR, 0);
	pm_now = start + ns_for_ticks(0x7fffffff);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT) & ACPI_PM1_STS_TMR, 0);
	pm_now = start + ns_for_ticks(0x80000000);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT) & ACPI_PM1_STS_TMR, ACPI_PM1_STS_TMR);
	outw(pio, PORT_ACPI_PM1A_EVT, 0x0100);	/* clearing another bit leaves it */
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT) & ACPI_PM1_STS_TMR, ACPI_PM1_STS_TMR);
	outw(pio, PORT_ACPI_PM1A_EVT, ACPI_PM1_STS_TMR);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);
	pm_now = start + ns_for_ticks(0xffffffff);
	ck_assert_uint_eq(inw(pio, PORT_ACPI_PM1A_EVT), 0);
	pm_now = start + ns_for_ticks(1ull << 32);	/* bit 31 falls: set again */
	ck_assert_uint_eq(inb(pio, PORT_ACPI_PM1A_EVT), ACPI_PM1_STS_TMR);
}
END_TEST

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* On the real clock: two reads 200 ms apart differ by 200 ms of ticks
 * (+-10%), and exactly by what the clock says passed between them. */
START_TEST(pm_timer_real_clock_advances)
{
	struct bus *b = bus_create("pio");
	struct acpi_pm *real = acpi_pm_create(&stopper, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(real);
	ck_assert_int_eq(acpi_pm_register(real, b, &pm_ports), 0);
	uint64_t t0 = mono_ns();
	uint32_t r1 = inl(b, PORT_ACPI_PM_TMR);
	uint64_t t1 = mono_ns();
	nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
	uint64_t t2 = mono_ns();
	uint32_t r2 = inl(b, PORT_ACPI_PM_TMR);
	uint64_t t3 = mono_ns();
	uint32_t delta = r2 - r1;
	ck_assert_uint_ge(delta, acpi_pm_ticks(t2 - t1) - 1);
	ck_assert_uint_le(delta, acpi_pm_ticks(t3 - t0) + 1);
	if (t3 - t0 < 220000000)	/* the host did not stall us: within 10% of 200 ms */
		ck_assert_msg(delta >= 3579545 / 5 * 9 / 10 && delta <= 3579545 / 5 * 11 / 10,
			      "200 ms gave %u ticks", delta);
	acpi_pm_destroy(real);
	bus_destroy(b);
}
END_TEST

/* ---- debug exit ---- */

START_TEST(debug_exit_value_becomes_status)
{
	struct debug_exit *dx = debug_exit_create(&stopper);
	ck_assert_ptr_nonnull(dx);
	ck_assert_int_eq(debug_exit_register(dx, pio, PORT_DEBUG_EXIT), 0);
	ck_assert(!bus_write(pio, PORT_DEBUG_EXIT, (uint8_t[2]){ 7, 0 }, 2));
	ck_assert_uint_eq(stopped.calls, 0);
	outb(pio, PORT_DEBUG_EXIT, 0xa5);
	ck_assert_uint_eq(stopped.calls, 1);
	ck_assert_int_eq(stopped.why, VM_STOP_DEBUG_EXIT);
	ck_assert_int_eq(stopped.status, 0xa5);
	ck_assert_int_eq(debug_exit_register(dx, pio, PORT_DEBUG_EXIT), -EEXIST);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "debug-exit: cannot claim port 0x501"));
	debug_exit_destroy(dx);
}
END_TEST

/* ---- platform ---- */

static struct fake_irq com1_irq;
static struct fake_tx tx;

START_TEST(platform_registers_everything)
{
	struct irq_line line = fake_irq_line(&com1_irq, IRQ_COM1);
	struct platform_devices *p = NULL;
	memset(&tx, 0, sizeof(tx));
	ck_assert_int_eq(platform_devices_create(pio, &line, &stopper, fake_tx_fn, &tx, &p), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(platform_uart(p));
	ck_assert_ptr_nonnull(platform_pci(p));

	const uint16_t claimed[] = { PORT_COM1, PORT_COM1 + 7, PORT_I8042_DATA, PORT_I8042_CMD,
				     PORT_CMOS_INDEX, PORT_CMOS_DATA, PORT_ACPI_PM1A_EVT,
				     PORT_ACPI_PM1A_CNT, PORT_ACPI_RESET, PORT_ACPI_PM_TMR + 3,
				     PORT_PCI_CONFIG_ADDR,
				     PORT_PCI_CONFIG_DATA + 3, 0x80, 0xed };
	for (unsigned i = 0; i < sizeof(claimed) / sizeof(claimed[0]); i++) {
		uint8_t v;
		ck_assert_msg(bus_read(pio, claimed[i], &v, 1), "port 0x%x", claimed[i]);
	}
	ck_assert(bus_write(pio, 0x80, "\x42", 1));
	uint8_t v = 0;
	ck_assert(!bus_read(pio, 0x2f8, &v, 1));	/* COM2 absent */
	ck_assert_uint_eq(v, 0xff);

	outb(pio, PORT_COM1, 'Z');
	ck_assert_uint_eq(tx.len, 1);
	ck_assert_uint_eq(tx.buf[0], 'Z');
	ck_assert_uint_eq(uart_receive(platform_uart(p), (const uint8_t *)"q", 1), 1);
	ck_assert_uint_eq(inb(pio, PORT_COM1), 'q');
	/* the keyboard's IRQ 1 goes out on com1's line with its own GSI */
	unsigned calls = com1_irq.calls;
	outb(pio, PORT_I8042_DATA, 0xf2);
	ck_assert_uint_eq(com1_irq.calls, calls + 1);
	ck_assert_uint_eq(com1_irq.gsi, IRQ_KEYBOARD);
	ck_assert_int_eq(com1_irq.level, 1);
	ck_assert_uint_eq(inb(pio, PORT_I8042_DATA), 0xfe);
	ck_assert_int_eq(com1_irq.level, 0);
	/* the SCI too, with GSI 9 */
	outw(pio, PORT_ACPI_PM1A_EVT + 2, ACPI_PM1_PWRBTN);
	acpi_pm_press_power_button(platform_acpi_pm(p));
	ck_assert_uint_eq(com1_irq.gsi, ACPI_SCI_IRQ);
	ck_assert_int_eq(com1_irq.level, 1);
	outw(pio, PORT_ACPI_PM1A_EVT, ACPI_PM1_PWRBTN);
	ck_assert_uint_eq(com1_irq.gsi, ACPI_SCI_IRQ);
	ck_assert_int_eq(com1_irq.level, 0);
	outb(pio, PORT_DEBUG_EXIT, 3);
	ck_assert_int_eq(stopped.why, VM_STOP_DEBUG_EXIT);
	ck_assert_int_eq(stopped.status, 3);
	platform_devices_destroy(p);
}
END_TEST

START_TEST(platform_conflict_reported)
{
	struct irq_line line = fake_irq_line(&com1_irq, IRQ_COM1);
	struct platform_devices *p = NULL;
	static const struct bus_dev_ops none = { 0 };
	ck_assert_int_eq(bus_register(pio, PORT_CMOS_INDEX, 2, &none, NULL, "squatter"), 0);
	ck_assert_int_eq(platform_devices_create(pio, &line, &stopper, NULL, NULL, &p), -EEXIST);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "cmos: cannot claim ports 0x70/0x71"));
}
END_TEST

static TCase *tcase(const char *name, void (*su)(void), void (*td)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, su, td);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("legacy");
	TCase *tc = tcase("i8042", kbc_setup, kbc_teardown);
	tcase_add_test(tc, kbc_status_sane_and_flushes);
	tcase_add_test(tc, kbc_self_test_and_ctr_round_trip);
	tcase_add_test(tc, kbc_reports_no_aux_at_once);
	tcase_add_test(tc, kbc_no_keyboard_naks_at_once_with_irq1);
	tcase_add_test(tc, kbc_irq1_follows_command_byte);
	tcase_add_test(tc, kbc_without_irq_line);
	tcase_add_test(tc, kbc_pulse_fe_resets);
	tcase_add_test(tc, kbc_harmless_commands_do_not_reset);
	tcase_add_test(tc, kbc_output_port_reset_bit);
	suite_add_tcase(s, tc);

	tc = tcase("acpi", pm_setup, pm_teardown);
	tcase_add_test(tc, acpi_sci_en_reads_set);
	tcase_add_test(tc, acpi_s5_powers_off);
	tcase_add_test(tc, acpi_s5_by_high_byte_write);
	tcase_add_test(tc, acpi_slp_typ_without_slp_en_only_latches);
	tcase_add_test(tc, acpi_other_sleep_types_ignored);
	tcase_add_test(tc, acpi_reset_register);
	tcase_add_test(tc, acpi_pm1_status_enable);
	tcase_add_test(tc, acpi_pwrbtn_sets_status_without_sci_when_disabled);
	tcase_add_test(tc, acpi_pwrbtn_sci_follows_status_and_enable);
	tcase_add_test(tc, acpi_pwrbtn_guest_cannot_set_status);
	tcase_add_test(tc, pm_timer_rate_on_a_fake_clock);
	tcase_add_test(tc, pm_timer_wraps_modulo_2_32);
	tcase_add_test(tc, pm_timer_narrow_reads_and_writes_ignored);
	tcase_add_test(tc, pm_timer_status_follows_bit_31);
	tcase_add_test(tc, pm_timer_real_clock_advances);
	suite_add_tcase(s, tc);

	tc = tcase("debug_exit", setup, teardown);
	tcase_add_test(tc, debug_exit_value_becomes_status);
	suite_add_tcase(s, tc);

	tc = tcase("platform", setup, teardown);
	tcase_add_test(tc, platform_registers_everything);
	tcase_add_test(tc, platform_conflict_reported);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
