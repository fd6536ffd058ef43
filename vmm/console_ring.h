/* A fixed-size byte ring, used two ways by the detached console:
 *   history  byte_ring_push_overwrite(): always takes the bytes, the oldest
 *            make room (the last VM_CONSOLE_RING bytes of guest output);
 *   queue    byte_ring_push(): all or nothing (output a client has yet to
 *            read), drained with byte_ring_peek() + byte_ring_drop().
 * No locking: the owner serialises. */
#ifndef MINIVMM_CONSOLE_RING_H
#define MINIVMM_CONSOLE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct byte_ring {
	uint8_t *buf;
	size_t cap;
	size_t start;	/* index of the oldest byte */
	size_t len;
};

/* 0 or -ENOMEM. cap > 0. */
int byte_ring_init(struct byte_ring *r, size_t cap);
void byte_ring_free(struct byte_ring *r);
void byte_ring_clear(struct byte_ring *r);
void byte_ring_push_overwrite(struct byte_ring *r, const uint8_t *p, size_t n);
/* false (nothing taken) when N bytes do not fit. */
bool byte_ring_push(struct byte_ring *r, const uint8_t *p, size_t n);
/* Appends all of SRC, oldest first; false (nothing taken) if it does not fit. */
bool byte_ring_push_ring(struct byte_ring *dst, const struct byte_ring *src);
/* The oldest bytes that are contiguous in memory: *p and their count (0: empty). */
size_t byte_ring_peek(const struct byte_ring *r, const uint8_t **p);
/* Forgets the N oldest bytes (N <= len). */
void byte_ring_drop(struct byte_ring *r, size_t n);

#endif
