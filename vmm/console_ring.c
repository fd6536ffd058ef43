#include "vmm/console_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int byte_ring_init(struct byte_ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = r->buf ? cap : 0;
	r->start = r->len = 0;
	return r->buf ? 0 : -ENOMEM;
}

void byte_ring_free(struct byte_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->start = r->len = 0;
}

void byte_ring_clear(struct byte_ring *r)
{
	r->start = r->len = 0;
}

/* Copies N bytes (N <= free space) after the newest. */
static void ring_append(struct byte_ring *r, const uint8_t *p, size_t n)
{
	size_t end = (r->start + r->len) % r->cap;
	size_t first = n < r->cap - end ? n : r->cap - end;
	memcpy(r->buf + end, p, first);
	memcpy(r->buf, p + first, n - first);
	r->len += n;
}

void byte_ring_push_overwrite(struct byte_ring *r, const uint8_t *p, size_t n)
{
	if (n >= r->cap) {	/* only the last cap bytes survive */
		memcpy(r->buf, p + (n - r->cap), r->cap);
		r->start = 0;
		r->len = r->cap;
		return;
	}
	if (n > r->cap - r->len)
		byte_ring_drop(r, n - (r->cap - r->len));
	ring_append(r, p, n);
}

bool byte_ring_push(struct byte_ring *r, const uint8_t *p, size_t n)
{
	if (n > r->cap - r->len)
		return false;
	ring_append(r, p, n);
	return true;
}

bool byte_ring_push_ring(struct byte_ring *dst, const struct byte_ring *src)
{
	if (src->len > dst->cap - dst->len)
		return false;
	size_t first = src->len < src->cap - src->start ? src->len : src->cap - src->start;
	ring_append(dst, src->buf + src->start, first);
	ring_append(dst, src->buf, src->len - first);
	return true;
}

size_t byte_ring_peek(const struct byte_ring *r, const uint8_t **p)
{
	*p = r->buf + r->start;
	return r->len < r->cap - r->start ? r->len : r->cap - r->start;
}

void byte_ring_drop(struct byte_ring *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->start = r->len ? (r->start + n) % r->cap : 0;
}
