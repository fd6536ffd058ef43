/* The CMOS RAM and MC146818 real-time clock behind ports 0x70 (index; bit 7
 * masks NMI) and 0x71 (data).
 *
 * Time registers show the clock (host UTC time by default) in BCD or binary
 * and 24- or 12-hour form as register B asks; century at CMOS_REG_CENTURY
 * (0x32, what the FADT should name). Register A never shows an update in
 * progress; register D reports valid RAM and time. A guest setting the time
 * (with or without register B's SET bit) moves an offset, never the host
 * clock. Other bytes are plain NVRAM. No IRQ 8 is raised: periodic, alarm
 * and update interrupts never fire (register C reads 0). */
#ifndef MINIVMM_DEVICES_CMOS_H
#define MINIVMM_DEVICES_CMOS_H

#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"

#define CMOS_REG_CENTURY 0x32

struct cmos;

/* Seconds since the epoch (UTC); lets tests freeze time. */
typedef time_t (*cmos_clock_fn)(void *opaque);

/* clock NULL: the host's time(). NULL on out-of-memory (logged). */
struct cmos *cmos_create(cmos_clock_fn clock, void *clock_opaque);
void cmos_destroy(struct cmos *c);

/* Claims one port each at index_port and data_port. 0 or -errno (logged). */
int cmos_register(struct cmos *c, struct bus *pio, uint16_t index_port, uint16_t data_port);

#endif
