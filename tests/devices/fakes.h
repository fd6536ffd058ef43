/* Fakes for device unit tests: an interrupt line and a VM stopper that
 * record what devices do with them, a transmit sink, and byte/word port
 * accessors over a bus. */
#ifndef MINIVMM_TESTS_DEVICES_FAKES_H
#define MINIVMM_TESTS_DEVICES_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

struct fake_irq {
	int level;		/* last level set, -1 before any */
	unsigned calls;		/* how many times set_level ran */
	unsigned raises;	/* 0 -> 1 transitions seen */
	unsigned gsi;
};

static inline void fake_irq_set(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;
	f->calls++;
	if (level && f->level != 1)
		f->raises++;
	f->level = level;
	f->gsi = gsi;
}

static inline struct irq_line fake_irq_line(struct fake_irq *f, unsigned gsi)
{
	*f = (struct fake_irq){ .level = -1 };
	return (struct irq_line){ .set_level = fake_irq_set, .opaque = f, .gsi = gsi };
}

struct fake_stop {
	unsigned calls;
	enum vm_stop_reason why;
	int status;
};

static inline void fake_stop_request(void *opaque, enum vm_stop_reason why, int status)
{
	struct fake_stop *f = opaque;
	f->calls++;
	f->why = why;
	f->status = status;
}

static inline struct vm_stopper fake_stopper(struct fake_stop *f)
{
	*f = (struct fake_stop){ 0 };
	return (struct vm_stopper){ .request_stop = fake_stop_request, .opaque = f };
}

struct fake_tx {
	uint8_t buf[4096];
	size_t len;
	unsigned calls;
};

static inline void fake_tx_fn(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_tx *t = opaque;
	t->calls++;
	for (size_t i = 0; i < len && t->len < sizeof(t->buf); i++)
		t->buf[t->len++] = buf[i];
}

static inline uint8_t inb(struct bus *b, uint64_t port)
{
	uint8_t v = 0;
	bus_read(b, port, &v, 1);
	return v;
}

static inline void outb(struct bus *b, uint64_t port, uint8_t v)
{
	bus_write(b, port, &v, 1);
}

static inline uint16_t inw(struct bus *b, uint64_t port)
{
	uint8_t v[2] = { 0 };
	bus_read(b, port, v, 2);
	return (uint16_t)(v[0] | v[1] << 8);
}

static inline void outw(struct bus *b, uint64_t port, uint16_t v)
{
	uint8_t d[2] = { v & 0xff, v >> 8 };
	bus_write(b, port, d, 2);
}

static inline uint32_t inl(struct bus *b, uint64_t port)
{
	uint8_t v[4] = { 0 };
	bus_read(b, port, v, 4);
	return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

static inline void outl(struct bus *b, uint64_t port, uint32_t v)
{
	uint8_t d[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	bus_write(b, port, d, 4);
}

#endif
