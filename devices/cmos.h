/* The CMOS RAM and MC146818 real-time clock behind ports 0x70 (index; bit 7
 * masks NMI) and 0x71 (data).
 *
 * Time registers show the clock (host UTC time by default) in BCD or binary
 * and 24- or 12-hour form as register B asks; century at CMOS_REG_CENTURY
 * (0x32, what the FADT should name). Register D reports valid RAM and time.
 * A guest setting the time (with or without register B's SET bit) moves an
 * offset, never the host clock. Other bytes are plain NVRAM.
 *
 * Interrupts, as on the chip: an update at each second boundary (unless
 * B.SET holds the clock) sets register C's UF, and AF when the time matches
 * the alarm bytes (0xC0-0xFF in one is "any"); each multiple of the
 * periodic rate (register A bits 0-3, on a 32.768 kHz base) sets PF.
 * Flags are computed from the clock at each access, rise whether or not
 * enabled, and are cleared by reading C; IRQF is set while a flag and its
 * enable bit in B (UIE, AIE, PIE) are both set, and IRQ 8 follows IRQF.
 * Register A's UIP is set for the 244 us before each update.
 *
 * So that IRQ 8 rises on time without the guest reading C, the first
 * enabling of an interrupt starts one small thread that sleeps until the
 * next event (at most 1 s, for host clock changes); it idles on a
 * condition variable while nothing is enabled or IRQF already waits for
 * the guest, and is stopped by cmos_destroy(). The irq callback runs from
 * that thread or a vCPU thread, with the device's mutex held. */
#ifndef MINIVMM_DEVICES_CMOS_H
#define MINIVMM_DEVICES_CMOS_H

#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

#define CMOS_REG_CENTURY 0x32

struct cmos;

/* Time since the epoch (UTC, CLOCK_REALTIME-like); lets tests move time. */
typedef struct timespec (*cmos_clock_fn)(void *opaque);

/* irq: IRQ 8's line (copied), or NULL for none (the flags still work for
 * a guest polling register C). clock NULL: CLOCK_REALTIME. NULL on
 * out-of-memory (logged). */
struct cmos *cmos_create(const struct irq_line *irq, cmos_clock_fn clock, void *clock_opaque);
void cmos_destroy(struct cmos *c);

/* Claims one port each at index_port and data_port. 0 or -errno (logged). */
int cmos_register(struct cmos *c, struct bus *pio, uint16_t index_port, uint16_t data_port);

#endif
