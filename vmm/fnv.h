/* 64-bit FNV-1a: the small, stable hash minivmm derives per-VM defaults
 * from (the default MAC, devices/virtio/net_mac.c; the default UUID,
 * vmm/uuid.c). Not for anything an attacker chooses keys for. */
#ifndef MINIVMM_FNV_H
#define MINIVMM_FNV_H

#include <stdint.h>

#define FNV1A64_INIT UINT64_C(0xcbf29ce484222325)	/* offset basis */

/* h continued over the bytes of the NUL-terminated s. */
static inline uint64_t fnv1a64(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return h;
}

#endif
