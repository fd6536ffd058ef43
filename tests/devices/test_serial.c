/* 8250/16550A UART: registers, THRE/RDI/RLS/MSI interrupt logic and the
 * interrupt line, FIFO and back-pressure, DLAB, loopback, Linux's probes. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/devices/fakes.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define THR (PORT_COM1 + 0)
#define RBR (PORT_COM1 + 0)
#define DLL (PORT_COM1 + 0)
#define IER (PORT_COM1 + 1)
#define DLM (PORT_COM1 + 1)
#define IIR (PORT_COM1 + 2)
#define FCR (PORT_COM1 + 2)
#define LCR (PORT_COM1 + 3)
#define MCR (PORT_COM1 + 4)
#define LSR (PORT_COM1 + 5)
#define MSR (PORT_COM1 + 6)
#define SCR (PORT_COM1 + 7)

static struct bus *pio;
static struct uart *uart;
static struct fake_irq irq;
static struct fake_tx tx;

static void setup(void)
{
	log_set_quiet(true);
	struct irq_line line = fake_irq_line(&irq, IRQ_COM1);
	memset(&tx, 0, sizeof(tx));
	pio = bus_create("pio");
	ck_assert_ptr_nonnull(pio);
	uart = uart_create(&line, fake_tx_fn, &tx);
	ck_assert_ptr_nonnull(uart);
	ck_assert_int_eq(uart_register(uart, pio, PORT_COM1), 0);
}

static void teardown(void)
{
	bus_destroy(pio);
	uart_destroy(uart);
}

static bool space_signalled(void)
{
	uint64_t v = 0;
	return read(uart_rx_space_fd(uart), &v, sizeof(v)) == sizeof(v) && v > 0;
}

START_TEST(reset_state)
{
	ck_assert_uint_eq(inb(pio, LSR), 0x60);	/* THRE | TEMT, no data */
	ck_assert_uint_eq(inb(pio, IIR), 0x01);	/* no interrupt, FIFOs off */
	ck_assert_uint_eq(inb(pio, MSR), 0xb0);	/* DCD | DSR | CTS */
	ck_assert_uint_eq(inb(pio, IER), 0);
	ck_assert_uint_eq(inb(pio, LCR), 0);
	ck_assert_uint_eq(inb(pio, MCR), 0);
	ck_assert_uint_eq(irq.calls, 0);
}
END_TEST

START_TEST(transmit_reaches_tx_in_order)
{
	const char *msg = "hello\r\n";
	for (const char *p = msg; *p; p++)
		outb(pio, THR, (uint8_t)*p);
	ck_assert_uint_eq(tx.len, strlen(msg));
	ck_assert(memcmp(tx.buf, msg, tx.len) == 0);
	ck_assert_uint_eq(inb(pio, LSR) & 0x60, 0x60);
}
END_TEST

START_TEST(dlab_switches_divisor_latch)
{
	outb(pio, IER, 0x05);
	outb(pio, LCR, 0x83);
	outb(pio, DLL, 0x0c);
	outb(pio, DLM, 0x01);
	ck_assert_uint_eq(tx.len, 0);		/* DLL write did not transmit */
	ck_assert_uint_eq(inb(pio, DLL), 0x0c);
	ck_assert_uint_eq(inb(pio, DLM), 0x01);
	ck_assert_uint_eq(inw(pio, DLL), 0x010c);	/* word access = two bytes */
	outw(pio, DLL, 0x0203);
	ck_assert_uint_eq(inb(pio, DLL), 0x03);
	ck_assert_uint_eq(inb(pio, DLM), 0x02);
	outb(pio, LCR, 0x03);
	ck_assert_uint_eq(inb(pio, IER), 0x05);	/* IER untouched by DLM */
	outb(pio, THR, 'x');
	ck_assert_uint_eq(tx.len, 1);
	ck_assert_uint_eq(tx.buf[0], 'x');
}
END_TEST

START_TEST(scratch_and_ier_mask)
{
	outb(pio, SCR, 0xa5);
	ck_assert_uint_eq(inb(pio, SCR), 0xa5);
	outb(pio, IER, 0xff);
	ck_assert_uint_eq(inb(pio, IER), 0x0f);	/* 16550A: no UUE bit etc. */
	outb(pio, MCR, 0xff);
	ck_assert_uint_eq(inb(pio, MCR), 0x1f);
}
END_TEST

START_TEST(lsr_and_msr_are_read_only)
{
	outb(pio, LSR, 0x1f);			/* would fake DR and errors */
	outb(pio, MSR, 0x0f);			/* would fake modem deltas */
	ck_assert_uint_eq(inb(pio, LSR), 0x60);
	ck_assert_uint_eq(inb(pio, MSR), 0xb0);
	outb(pio, IER, 0x0f);
	inb(pio, IIR);				/* acknowledges THRE */
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
}
END_TEST

START_TEST(thre_pending_on_enable_cleared_by_iir_read)
{
	outb(pio, MCR, 0x08);			/* OUT2: IRQ gate open */
	outb(pio, IER, 0x02);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	ck_assert_int_eq(irq.level, 0);	/* read acknowledged it */
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	outb(pio, THR, 'a');			/* transmitted at once: THRE again */
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
}
END_TEST

START_TEST(thre_cleared_by_disabling)
{
	outb(pio, MCR, 0x08);
	outb(pio, IER, 0x02);
	ck_assert_int_eq(irq.level, 1);
	outb(pio, IER, 0x00);
	ck_assert_int_eq(irq.level, 0);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
}
END_TEST

/* Linux's serial8250_do_startup: THRE must re-assert on re-enable,
 * otherwise it sets UART_BUG_THRE and falls back to a timer. */
START_TEST(linux_bug_thre_test_passes)
{
	outb(pio, IER, 0x02);
	uint8_t iir1 = inb(pio, IIR);
	outb(pio, IER, 0x00);
	outb(pio, IER, 0x02);
	uint8_t iir = inb(pio, IIR);
	outb(pio, IER, 0x00);
	ck_assert_uint_eq(iir1 & 0x01, 0);
	ck_assert_uint_eq(iir & 0x01, 0);
	ck_assert_uint_eq(iir & 0x0f, 0x02);
	/* UART_BUG_TXEN test: LSR.TEMT with THRI enabled must show an interrupt */
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, LSR) & 0x40, 0x40);
	ck_assert_uint_eq(inb(pio, IIR) & 0x01, 0);
}
END_TEST

/* Linux's autoconfig(): IER test, loopback MSR test, 16550A FIFO bits,
 * no EFR, not a NatSemi, not a 16750, no UUE bit. */
START_TEST(linux_autoconfig_sees_16550a)
{
	outb(pio, IER, 0);
	ck_assert_uint_eq(inb(pio, IER) & 0x0f, 0);
	outb(pio, IER, 0x0f);
	ck_assert_uint_eq(inb(pio, IER) & 0x0f, 0x0f);
	outb(pio, IER, 0);

	outb(pio, MCR, 0x10 | 0x0a);		/* LOOP | OUT2 | RTS */
	ck_assert_uint_eq(inb(pio, MSR) & 0xf0, 0x90);	/* DCD | CTS */
	outb(pio, MCR, 0);

	outb(pio, LCR, 0xbf);
	outb(pio, FCR, 0);			/* "EFR" = FCR on a 16550A */
	outb(pio, LCR, 0);
	outb(pio, FCR, 0x01);
	ck_assert_uint_eq(inb(pio, IIR) >> 6, 3);

	outb(pio, LCR, 0x80);
	ck_assert_uint_ne(inb(pio, IIR), 0);	/* no EFR (v1) */
	outb(pio, LCR, 0xbf);
	ck_assert_uint_ne(inb(pio, IIR), 0);	/* no EFR (v2) */
	outb(pio, LCR, 0xe0);
	ck_assert_uint_eq(inb(pio, IIR) & 0x10, 0);	/* no NatSemi EXCR1 */

	outb(pio, LCR, 0);
	outb(pio, FCR, 0x21);
	ck_assert_uint_eq(inb(pio, IIR) & 0xe0, 0xc0);	/* no 64-byte FIFO */
	outb(pio, LCR, 0x80);
	outb(pio, FCR, 0x21);
	ck_assert_uint_eq(inb(pio, IIR) & 0xe0, 0xc0);
	outb(pio, LCR, 0);
	outb(pio, IER, 0x40);
	ck_assert_uint_eq(inb(pio, IER) & 0x40, 0);	/* not an XScale */
	ck_assert_uint_ne(inb(pio, LSR), 0xff);
}
END_TEST

START_TEST(receive_sets_dr_and_rdi)
{
	outb(pio, MCR, 0x08);
	outb(pio, IER, 0x01);
	ck_assert_uint_eq(irq.calls, 0);
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"k", 1), 1);
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0x01);
	ck_assert_uint_eq(inb(pio, IIR), 0x04);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(inb(pio, RBR), 'k');
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	ck_assert_int_eq(irq.level, 0);
	ck_assert_uint_eq(inb(pio, RBR), 'k');	/* empty: last byte again */
}
END_TEST

START_TEST(fifo_disabled_holds_one_byte)
{
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"ab", 2), 1);
	ck_assert_uint_eq(inb(pio, RBR), 'a');
	ck_assert(space_signalled());
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"b", 1), 1);
	ck_assert_uint_eq(inb(pio, RBR), 'b');
}
END_TEST

START_TEST(fifo_full_applies_backpressure)
{
	uint8_t in[20];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i);
	outb(pio, FCR, 0x07);
	ck_assert_uint_eq(uart_receive(uart, in, sizeof(in)), UART_FIFO_SIZE);
	ck_assert_uint_eq(uart_receive(uart, in + 16, 4), 0);
	ck_assert(!space_signalled());
	ck_assert_uint_eq(inb(pio, LSR) & 0x02, 0);	/* no overrun: nothing lost */
	ck_assert_uint_eq(inb(pio, RBR), 'A');
	ck_assert(space_signalled());
	ck_assert(!space_signalled());			/* reset by the read */
	ck_assert_uint_eq(uart_receive(uart, in + 16, 4), 1);
	for (unsigned i = 1; i <= 16; i++)
		ck_assert_uint_eq(inb(pio, RBR), in[i]);
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0);
}
END_TEST

START_TEST(no_signal_unless_receiver_waited)
{
	outb(pio, FCR, 0x01);
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"xy", 2), 2);
	inb(pio, RBR);
	ck_assert(!space_signalled());
}
END_TEST

START_TEST(fcr_clears_rx_fifo)
{
	outb(pio, FCR, 0x01);
	uart_receive(uart, (const uint8_t *)"abc", 3);
	outb(pio, FCR, 0x03);
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0);
	uart_receive(uart, (const uint8_t *)"d", 1);
	outb(pio, FCR, 0x00);				/* disabling FIFOs clears too */
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0);
	ck_assert_uint_eq(inb(pio, IIR) & 0xc0, 0);
}
END_TEST

START_TEST(timeout_below_trigger_rdi_at_trigger)
{
	outb(pio, FCR, 0x41);			/* FIFO on, trigger level 4 */
	outb(pio, IER, 0x01);
	uart_receive(uart, (const uint8_t *)"ab", 2);
	ck_assert_uint_eq(inb(pio, IIR), 0xcc);
	uart_receive(uart, (const uint8_t *)"cd", 2);
	ck_assert_uint_eq(inb(pio, IIR), 0xc4);
}
END_TEST

START_TEST(loopback_routes_thr_to_rbr)
{
	outb(pio, MCR, 0x10 | 0x08 | 0x01);	/* LOOP, OUT2, DTR */
	ck_assert_uint_eq(inb(pio, MSR), 0xa0 | 0x01);	/* DSR, DCD; CTS fell */
	ck_assert_uint_eq(inb(pio, MSR), 0xa0);	/* deltas clear on read */
	outb(pio, THR, 'L');
	ck_assert_uint_eq(tx.len, 0);
	ck_assert_uint_eq(inb(pio, LSR) & 0x01, 0x01);
	ck_assert_uint_eq(inb(pio, RBR), 'L');
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"h", 1), 0);
	outb(pio, MCR, 0x08);
	ck_assert(space_signalled());		/* host input may flow again */
	ck_assert_uint_eq(inb(pio, MSR) & 0xf0, 0xb0);
	ck_assert_uint_eq(uart_receive(uart, (const uint8_t *)"h", 1), 1);
}
END_TEST

START_TEST(loopback_overrun_sets_oe)
{
	outb(pio, MCR, 0x10);
	outb(pio, THR, '1');
	outb(pio, THR, '2');			/* 16450 mode: one-byte buffer */
	ck_assert_uint_eq(inb(pio, LSR) & 0x03, 0x03);
	ck_assert_uint_eq(inb(pio, LSR) & 0x02, 0);	/* cleared by the read */
	ck_assert_uint_eq(inb(pio, RBR), '1');
}
END_TEST

START_TEST(iir_priority_order)
{
	outb(pio, MCR, 0x10);			/* loopback: MSR deltas appear */
	outb(pio, THR, '1');
	outb(pio, THR, '2');			/* overrun */
	outb(pio, IER, 0x0f);
	ck_assert_uint_eq(inb(pio, IIR), 0x06);	/* line status first */
	inb(pio, LSR);
	ck_assert_uint_eq(inb(pio, IIR), 0x04);	/* then received data */
	inb(pio, RBR);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);	/* then THRE (acknowledged) */
	ck_assert_uint_eq(inb(pio, IIR), 0x00);	/* then modem status */
	inb(pio, MSR);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
}
END_TEST

START_TEST(irq_gated_by_out2_and_loopback)
{
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(irq.calls, 0);	/* pending, but OUT2 is clear */
	ck_assert_uint_eq(inb(pio, IIR) & 0x01, 0);
	outb(pio, IER, 0);
	outb(pio, IER, 0x02);
	outb(pio, MCR, 0x08);
	ck_assert_uint_eq(irq.calls, 1);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(irq.gsi, IRQ_COM1);
	outb(pio, MCR, 0x18);			/* loopback shuts the gate */
	ck_assert_int_eq(irq.level, 0);
	outb(pio, MCR, 0x08);
	ck_assert_int_eq(irq.level, 1);
}
END_TEST

START_TEST(irq_changes_only_on_transitions)
{
	outb(pio, MCR, 0x08);
	outb(pio, IER, 0x03);
	ck_assert_uint_eq(irq.calls, 1);
	outb(pio, THR, 'a');			/* THRE re-set within the access */
	outb(pio, THR, 'b');
	ck_assert_uint_eq(irq.calls, 1);
	uart_receive(uart, (const uint8_t *)"r", 1);	/* still pending */
	ck_assert_uint_eq(irq.calls, 1);
	inb(pio, RBR);				/* THRE still pending */
	ck_assert_uint_eq(irq.calls, 1);
	inb(pio, IIR);				/* acknowledges THRE: falls */
	ck_assert_uint_eq(irq.calls, 2);
	ck_assert_int_eq(irq.level, 0);
	inb(pio, IIR);
	inb(pio, LSR);
	ck_assert_uint_eq(irq.calls, 2);
	uart_receive(uart, (const uint8_t *)"s", 1);
	ck_assert_uint_eq(irq.calls, 3);
	ck_assert_uint_eq(irq.raises, 2);
}
END_TEST

START_TEST(msi_on_loopback_modem_change)
{
	outb(pio, MCR, 0x08);
	outb(pio, IER, 0x08);
	ck_assert_uint_eq(irq.calls, 0);
	outb(pio, MCR, 0x18 | 0x02);		/* loop: DSR drops (DDSR) */
	ck_assert_uint_eq(inb(pio, IIR), 0x00);
	ck_assert_uint_ne(inb(pio, MSR) & 0x0f, 0);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
}
END_TEST

START_TEST(unregistered_ports_around_uart)
{
	ck_assert_uint_eq(inb(pio, PORT_COM1 + 8), 0xff);
	ck_assert(!bus_read(pio, PORT_COM1 + 7, (uint8_t[2]){ 0 }, 2));	/* straddles */
	ck_assert_int_eq(uart_register(uart, pio, PORT_COM1 + 4), -EEXIST);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "0x3fc-0x403"));
}
END_TEST

/* A console thread pushing a long stream with back-pressure through the
 * eventfd while this thread drains the FIFO as a guest would. */
#define STREAM_LEN 20000
static void *producer(void *arg)
{
	(void)arg;
	uint8_t buf[64];
	size_t sent = 0;
	while (sent < STREAM_LEN) {
		size_t n = 0;
		while (n < sizeof(buf) && sent + n < STREAM_LEN) {
			buf[n] = (uint8_t)((sent + n) * 7);
			n++;
		}
		size_t off = 0;
		while (off < n) {
			off += uart_receive(uart, buf + off, n - off);
			if (off < n) {
				struct pollfd p = { .fd = uart_rx_space_fd(uart), .events = POLLIN };
				if (poll(&p, 1, 5000) != 1)
					return (void *)1;
				uint64_t v;
				if (read(p.fd, &v, sizeof(v)) != sizeof(v))
					return (void *)1;
			}
		}
		sent += n;
	}
	return NULL;
}

START_TEST(threaded_stream_arrives_intact)
{
	outb(pio, FCR, 0x01);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, producer, NULL), 0);
	size_t got = 0;
	bool ok = true;
	while (got < STREAM_LEN && ok) {
		if (!(inb(pio, LSR) & 0x01)) {
			sched_yield();
			continue;
		}
		ok = inb(pio, RBR) == (uint8_t)(got * 7);
		got++;
	}
	void *res;
	pthread_join(t, &res);
	ck_assert(ok);
	ck_assert_ptr_null(res);
	ck_assert_uint_eq(got, STREAM_LEN);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("uart");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reset_state);
	tcase_add_test(tc, transmit_reaches_tx_in_order);
	tcase_add_test(tc, dlab_switches_divisor_latch);
	tcase_add_test(tc, scratch_and_ier_mask);
	tcase_add_test(tc, lsr_and_msr_are_read_only);
	tcase_add_test(tc, thre_pending_on_enable_cleared_by_iir_read);
	tcase_add_test(tc, thre_cleared_by_disabling);
	tcase_add_test(tc, linux_bug_thre_test_passes);
	tcase_add_test(tc, linux_autoconfig_sees_16550a);
	tcase_add_test(tc, receive_sets_dr_and_rdi);
	tcase_add_test(tc, fifo_disabled_holds_one_byte);
	tcase_add_test(tc, fifo_full_applies_backpressure);
	tcase_add_test(tc, no_signal_unless_receiver_waited);
	tcase_add_test(tc, fcr_clears_rx_fifo);
	tcase_add_test(tc, timeout_below_trigger_rdi_at_trigger);
	tcase_add_test(tc, loopback_routes_thr_to_rbr);
	tcase_add_test(tc, loopback_overrun_sets_oe);
	tcase_add_test(tc, iir_priority_order);
	tcase_add_test(tc, irq_gated_by_out2_and_loopback);
	tcase_add_test(tc, irq_changes_only_on_transitions);
	tcase_add_test(tc, msi_on_loopback_modem_change);
	tcase_add_test(tc, unregistered_ports_around_uart);
	tcase_add_test(tc, threaded_stream_arrives_intact);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
