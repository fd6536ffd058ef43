#include "vmm/bus.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *opaque;
	const char *devname;
};

#define BUS_UNCLAIMED_LOGGED 64

struct bus {
	const char *name;
	struct bus_range *ranges;	/* sorted by base, non-overlapping */
	unsigned nranges, cap;
	pthread_mutex_t log_lock;
	uint64_t logged[BUS_UNCLAIMED_LOGGED];	/* addresses already reported */
	unsigned nlogged;
};

struct bus *bus_create(const char *name)
{
	struct bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->name = name;
	pthread_mutex_init(&bus->log_lock, NULL);
	return bus;
}

void bus_destroy(struct bus *bus)
{
	if (!bus)
		return;
	pthread_mutex_destroy(&bus->log_lock);
	free(bus->ranges);
	free(bus);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_dev_ops *ops, void *opaque, const char *devname)
{
	if (len == 0 || base + len < base || !ops)
		return -EINVAL;
	unsigned pos = 0;
	while (pos < bus->nranges && bus->ranges[pos].base < base)
		pos++;
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];
		if (prev->base + prev->len > base)
			return -EEXIST;
	}
	if (pos < bus->nranges && base + len > bus->ranges[pos].base)
		return -EEXIST;
	if (bus->nranges == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nranges - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){ base, len, ops, opaque, devname };
	bus->nranges++;
	return 0;
}

int bus_unregister(struct bus *bus, uint64_t base, const void *opaque)
{
	for (unsigned i = 0; i < bus->nranges; i++) {
		if (bus->ranges[i].base != base || bus->ranges[i].opaque != opaque)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		return 0;
	}
	return -ENOENT;
}

/* The range holding all of [addr, addr+len), or NULL. */
static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned lo = 0, hi = bus->nranges;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return len <= r->len - (addr - r->base) ? r : NULL;
	}
	return NULL;
}

static void bus_log_unclaimed(struct bus *bus, const char *what, uint64_t addr, uint32_t len)
{
	if (log_get_level() < LOG_DEBUG)
		return;
	pthread_mutex_lock(&bus->log_lock);
	bool seen = false;
	for (unsigned i = 0; i < bus->nlogged; i++)
		seen |= bus->logged[i] == addr;
	if (!seen && bus->nlogged < BUS_UNCLAIMED_LOGGED) {
		bus->logged[bus->nlogged++] = addr;
		log_debug("%s: unclaimed %s of %u bytes at 0x%llx (ignored)",
			  bus->name, what, len, (unsigned long long)addr);
	}
	pthread_mutex_unlock(&bus->log_lock);
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		if (!r)
			bus_log_unclaimed(bus, "read", addr, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (!r) {
		bus_log_unclaimed(bus, "write", addr, len);
		return false;
	}
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}
