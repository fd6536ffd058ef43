/* An 8250/16550A UART (the PC's COM ports) on the port-I/O bus.
 *
 * Transmission is instantaneous: every byte the guest writes to THR is handed
 * to tx() at once, so THR/TSR are always empty (LSR.THRE|TEMT) and a THRE
 * interrupt becomes pending again after each byte. Reception goes through a
 * 16-byte FIFO (1 byte while the guest has FIFOs disabled) filled by
 * uart_receive(), which applies back-pressure instead of dropping bytes.
 *
 * The interrupt line is a level that follows "an interrupt is pending and
 * the PC's OUT2 gate is open (MCR.OUT2 set, not in loopback)"; set_level is
 * only called when that level changes.
 *
 * Threads: vCPU threads access the registers, a console thread calls
 * uart_receive(); one mutex per UART serializes both. tx() and the irq
 * callback run with that mutex held: they must not call back into the UART
 * and should not block (queue the bytes; write them from another thread). */
#ifndef MINIVMM_DEVICES_SERIAL_H
#define MINIVMM_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

#define UART_NR_PORTS 8
#define UART_FIFO_SIZE 16

struct uart;

typedef void (*uart_tx_fn)(void *opaque, const uint8_t *buf, size_t len);

/* The irq line is copied; tx may be NULL (output dropped). NULL on error
 * (errno set, logged). */
struct uart *uart_create(const struct irq_line *irq, uart_tx_fn tx, void *tx_opaque);
void uart_destroy(struct uart *u);

/* Claims [base, base + UART_NR_PORTS) on pio. 0 or -errno (logged). */
int uart_register(struct uart *u, struct bus *pio, uint16_t base);

/* Host -> guest input. Returns how many bytes of buf were queued (the free
 * space of the receive FIFO; 0 while the guest has the UART in loopback).
 * When it returns less than len, the UART remembers that the caller waits:
 * the next time the guest frees receive space, uart_rx_space_fd() becomes
 * readable. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);

/* A non-blocking eventfd, readable after uart_receive() came up short and
 * the guest has since made room. The console thread polls it (instead of its
 * input) while it holds unsent bytes, reads it to reset it, and retries
 * uart_receive(). Owned by the UART. A console loop, roughly:
 *
 *	for (;;) {
 *		if (pending == 0) { poll(stdin, stop_fd); pending = read(stdin, buf); off = 0; }
 *		off += uart_receive(u, buf + off, pending - off);
 *		if (off < pending) { poll(uart_rx_space_fd(u), stop_fd); read(space_fd, &v, 8); }
 *		else pending = 0;
 *	}
 */
int uart_rx_space_fd(const struct uart *u);

#endif
