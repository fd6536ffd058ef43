#include "devices/serial.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Register offsets. */
enum {
	REG_RBR_THR = 0,	/* DLL when LCR.DLAB */
	REG_IER = 1,		/* DLM when LCR.DLAB */
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IER_RLSI  0x04
#define IER_MSI   0x08
#define IER_MASK  0x0f	/* a 16550A has no bits 4-7 (Linux's UUE probe) */

#define IIR_NO_INT  0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS 0x1e	/* OE, PE, FE, BI: what raises the RLS interrupt */

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_DELTAS 0x0f

struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	uart_tx_fn tx;
	void *tx_opaque;
	int space_fd;		/* eventfd: guest freed receive space */
	bool rx_waiting;	/* uart_receive() came up short since */
	bool irq_level;		/* last level given to irq */

	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t rbr_last;	/* RBR reads this when the FIFO is empty */

	uint8_t ier, lcr, mcr, lsr_errors, msr, scr, dll, dlm, fcr;
	bool thri_pending;	/* THR emptied since the guest last saw THRI */
};

static unsigned rx_capacity(const struct uart *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart *u)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };
	return levels[u->fcr >> 6];
}

/* The interrupt identification, highest priority first (16550A datasheet). */
static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;
	if ((u->ier & IER_RLSI) && (u->lsr_errors & LSR_ERRORS))
		return fifo | IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count) {
		/* There is no character timer: data below the trigger level is
		 * reported at once as a timeout, which drivers treat alike. */
		bool timeout = fifo && u->rx_count < rx_trigger(u);
		return fifo | (timeout ? IIR_TIMEOUT : IIR_RDI);
	}
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

/* On a PC, OUT2 gates the UART's interrupt output; loopback forces it off. */
static void uart_update_irq(struct uart *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT) &&
		     (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void uart_space_freed(struct uart *u)
{
	if (!u->rx_waiting)
		return;
	u->rx_waiting = false;
	uint64_t one = 1;
	if (write(u->space_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("uart: signalling receive space: %s", strerror(errno));
}

static void rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	uart_space_freed(u);
}

/* Queues one byte; false (and the overrun flag) when the FIFO is full. */
static bool rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr_errors |= LSR_OE;
		return false;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart *u)
{
	if (u->rx_count == 0)
		return u->rbr_last;
	u->rbr_last = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	uart_space_freed(u);
	return u->rbr_last;
}

/* The modem inputs: a null-modem cable with the other end always ready,
 * or in loopback the MCR outputs wired back (RTS->CTS, DTR->DSR,
 * OUT1->RI, OUT2->DCD). */
static uint8_t modem_inputs(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	uint8_t in = 0;
	in |= (mcr & MCR_RTS) ? MSR_CTS : 0;
	in |= (mcr & MCR_DTR) ? MSR_DSR : 0;
	in |= (mcr & MCR_OUT1) ? MSR_RI : 0;
	in |= (mcr & MCR_OUT2) ? MSR_DCD : 0;
	return in;
}

static void set_modem_inputs(struct uart *u, uint8_t in)
{
	uint8_t old = u->msr & ~MSR_DELTAS, deltas = u->msr & MSR_DELTAS;
	uint8_t changed = old ^ in;
	deltas |= (changed & MSR_CTS) ? MSR_DCTS : 0;
	deltas |= (changed & MSR_DSR) ? MSR_DDSR : 0;
	deltas |= (changed & MSR_DCD) ? MSR_DDCD : 0;
	deltas |= ((old & MSR_RI) && !(in & MSR_RI)) ? MSR_TERI : 0;	/* trailing edge */
	u->msr = in | deltas;
}

static void uart_transmit(struct uart *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, byte);
	else if (u->tx)
		u->tx(u->tx_opaque, &byte, 1);
	/* The byte left at once: THR is empty again. */
	u->thri_pending = true;
}

static void write_ier(struct uart *u, uint8_t val)
{
	uint8_t old = u->ier;
	u->ier = val & IER_MASK;
	/* Enabling THRI while THR is empty (it always is) raises THRE; Linux's
	 * UART_BUG_THRE test enables it twice and expects it both times. */
	if ((u->ier & IER_THRI) && !(old & IER_THRI))
		u->thri_pending = true;
}

static void write_fcr(struct uart *u, uint8_t val)
{
	/* Toggling the FIFO enable clears both FIFOs, as on a 16550A. */
	if ((val ^ u->fcr) & FCR_ENABLE)
		val |= FCR_CLEAR_RX | FCR_CLEAR_TX;
	if (val & FCR_CLEAR_RX)
		rx_clear(u);
	if (val & FCR_CLEAR_TX)
		u->thri_pending = true;
	/* Only enable and trigger level are kept; DMA mode does nothing here. */
	u->fcr = val & (FCR_ENABLE | 0xc0);
}

static void write_mcr(struct uart *u, uint8_t val)
{
	bool was_loop = u->mcr & MCR_LOOP;
	u->mcr = val & MCR_MASK;
	set_modem_inputs(u, modem_inputs(u->mcr));
	/* Host input is held off during loopback; let the console retry. */
	if (was_loop && !(u->mcr & MCR_LOOP))
		uart_space_freed(u);
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			u->dll = val;
		else
			uart_transmit(u, val);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case REG_IIR_FCR:
		write_fcr(u, val);
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		write_mcr(u, val);
		break;
	case REG_SCR:
		u->scr = val;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
}

static uint8_t read_iir(struct uart *u)
{
	uint8_t iir = uart_iir(u);
	/* Reading IIR acknowledges THRE when that is the reported cause. */
	if ((iir & 0x0f) == IIR_THRI)
		u->thri_pending = false;
	return iir;
}

static uint8_t read_lsr(struct uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_errors;
	if (u->rx_count)
		lsr |= LSR_DR;
	u->lsr_errors = 0;	/* errors clear on read */
	return lsr;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t val;
	switch (reg) {
	case REG_RBR_THR:
		return dlab ? u->dll : rx_pop(u);
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		return read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return read_lsr(u);
	case REG_MSR:
		val = u->msr;
		u->msr &= ~MSR_DELTAS;
		return val;
	default:
		return u->scr;
	}
}

/* Wider accesses behave like the byte accesses an 8-bit ISA device sees. */
static void uart_pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct uart *u = opaque;
	uint8_t *out = data;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		out[i] = offset + i < UART_NR_PORTS ? uart_read_reg(u, offset + i) : 0xff;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct uart *u = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		if (offset + i < UART_NR_PORTS)
			uart_write_reg(u, offset + i, in[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_dev_ops uart_ops = {
	.read = uart_pio_read,
	.write = uart_pio_write,
};

struct uart *uart_create(const struct irq_line *irq, uart_tx_fn tx, void *tx_opaque)
{
	struct uart *u = calloc(1, sizeof(*u));
	if (!u) {
		log_error("uart: out of memory");
		return NULL;
	}
	u->space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->space_fd < 0) {
		int err = errno;
		log_error("uart: eventfd: %s", strerror(err));
		free(u);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->irq = *irq;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	u->msr = modem_inputs(0);
	return u;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	close(u->space_fd);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

int uart_register(struct uart *u, struct bus *pio, uint16_t base)
{
	int ret = bus_register(pio, base, UART_NR_PORTS, &uart_ops, u, "uart");
	if (ret < 0)
		log_error("uart: cannot claim ports 0x%x-0x%x: %s", base,
			  base + UART_NR_PORTS - 1, strerror(-ret));
	return ret;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	if (!(u->mcr & MCR_LOOP))
		while (n < len && u->rx_count < rx_capacity(u))
			rx_push(u, buf[n++]);
	if (n < len)
		u->rx_waiting = true;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

int uart_rx_space_fd(const struct uart *u)
{
	return u->space_fd;
}
