/* Cache of cluster-sized metadata tables (L2 tables, refcount blocks).
 *
 * Write-through: the engine writes a table to the file first and then
 * updates the cached copy, so entries are never dirty and eviction is free.
 * Lookup by a chained hash on the host offset; eviction by the clock
 * algorithm (one "referenced" bit per slot). */
#include "qcow2/qcow2_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cache_slot {
	uint64_t off; /* 0 = empty (offset 0 is the header, never a table) */
	int next;     /* hash chain, -1 ends */
	bool referenced;
};

struct qcow2_cache {
	uint32_t cluster_size;
	unsigned nslots;
	unsigned nbuckets; /* power of two */
	unsigned hand;
	int *buckets;
	struct cache_slot *slots;
	uint8_t *data;
};

struct qcow2_cache *qcow2_cache_new(size_t bytes, uint32_t cluster_size)
{
	struct qcow2_cache *c = calloc(1, sizeof(*c));
	size_t n = bytes / cluster_size;

	if (!c)
		return NULL;
	if (n < 4)
		n = 4;
	if (n > 65536)
		n = 65536;
	c->cluster_size = cluster_size;
	c->nslots = (unsigned)n;
	c->nbuckets = 1;
	while (c->nbuckets < 2 * n)
		c->nbuckets <<= 1;
	c->buckets = malloc(sizeof(int) * c->nbuckets);
	c->slots = calloc(n, sizeof(*c->slots));
	c->data = malloc(n * cluster_size);
	if (!c->buckets || !c->slots || !c->data) {
		qcow2_cache_free(c);
		return NULL;
	}
	for (unsigned i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
	return c;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	if (!c)
		return;
	free(c->buckets);
	free(c->slots);
	free(c->data);
	free(c);
}

static unsigned bucket_of(const struct qcow2_cache *c, uint64_t off)
{
	uint64_t h = (off / c->cluster_size) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 32) & (c->nbuckets - 1);
}

static int find(const struct qcow2_cache *c, uint64_t off)
{
	for (int i = c->buckets[bucket_of(c, off)]; i >= 0; i = c->slots[i].next)
		if (c->slots[i].off == off)
			return i;
	return -1;
}

static void unlink_slot(struct qcow2_cache *c, int s)
{
	int *link = &c->buckets[bucket_of(c, c->slots[s].off)];

	while (*link >= 0 && *link != s)
		link = &c->slots[*link].next;
	if (*link == s)
		*link = c->slots[s].next;
	c->slots[s].off = 0;
	c->slots[s].next = -1;
}

/* Pick a victim slot (clock) and bind it to OFF. */
static int claim(struct qcow2_cache *c, uint64_t off)
{
	int s;

	for (;;) {
		s = (int)c->hand;
		c->hand = (c->hand + 1) % c->nslots;
		if (c->slots[s].off == 0 || !c->slots[s].referenced)
			break;
		c->slots[s].referenced = false;
	}
	if (c->slots[s].off)
		unlink_slot(c, s);
	unsigned b = bucket_of(c, off);
	c->slots[s].off = off;
	c->slots[s].next = c->buckets[b];
	c->slots[s].referenced = true;
	c->buckets[b] = s;
	return s;
}

uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, const char *what)
{
	int s = find(c, off);

	if (s >= 0) {
		c->slots[s].referenced = true;
		return c->data + (size_t)s * c->cluster_size;
	}
	if (qcow2_check_extent(q, off, c->cluster_size, what))
		return NULL;
	s = claim(c, off);
	uint8_t *buf = c->data + (size_t)s * c->cluster_size;
	if (qcow2_pread(q, buf, c->cluster_size, off, what)) {
		unlink_slot(c, s);
		return NULL;
	}
	return buf;
}

void qcow2_cache_put(struct qcow2_cache *c, uint64_t off, const uint8_t *data)
{
	int s = find(c, off);

	if (s < 0)
		s = claim(c, off);
	memcpy(c->data + (size_t)s * c->cluster_size, data, c->cluster_size);
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	int s = find(c, off);

	if (s >= 0)
		unlink_slot(c, s);
}
