/* An address-range map for one bus (port I/O or MMIO).
 *
 * A device registers a range with a static ops table; accesses are handed
 * to it with the offset into its range. Unclaimed reads return all-ones and
 * unclaimed writes are dropped; each is logged once (debug level) per
 * address so a guest probing ports cannot flood the log or stop the VM.
 * Registration happens before vCPUs start; lookups are then lock-free.
 * Devices serialize their own state. */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_dev_ops {
	/* len is 1, 2, 4 or 8; data is little-endian guest data. */
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct bus;

struct bus *bus_create(const char *name);
void bus_destroy(struct bus *bus);

/* 0, -EINVAL (zero length or wrapping range), -EEXIST (overlap), -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_dev_ops *ops, void *opaque, const char *devname);

/* Removes the range registered at 'base' for 'opaque' (a device whose
 * set-up failed half-way). Like registration: before vCPUs start or after
 * they stopped. 0, or -ENOENT if no such range. */
int bus_unregister(struct bus *bus, uint64_t base, const void *opaque);

/* true when a device claimed the access; otherwise reads fill data with 0xff. */
bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
