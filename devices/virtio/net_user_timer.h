/* The timers libslirp asks its embedder for (SlirpCb.timer_new_opaque,
 * timer_mod, timer_free), kept by net_user.c for its I/O thread: a short
 * list (libslirp makes one, for IPv6 router advertisements), the poll
 * timeout lowered to the nearest deadline, the expired ones fired. Times
 * are milliseconds of CLOCK_MONOTONIC, as slirp's clock_get_ns gives it. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_USER_TIMER_H
#define MINIVMM_DEVICES_VIRTIO_NET_USER_TIMER_H

#include <stdint.h>

struct user_timer;

/* A disarmed timer at the head of *LIST, or NULL (out of memory). */
struct user_timer *user_timer_new(struct user_timer **list, int id, void *cb_opaque);
/* Takes T off *LIST and frees it; a T not on the list is left alone. */
void user_timer_free(struct user_timer **list, struct user_timer *t);
/* Arms T for EXPIRE_MS (a time in the past fires at the next run). */
void user_timer_mod(struct user_timer *t, int64_t expire_ms);
/* TIMEOUT_MS, or less if an armed timer expires sooner (0: one is due). */
uint32_t user_timers_clamp(const struct user_timer *list, int64_t now_ms, uint32_t timeout_ms);
/* Fires (disarmed first) each timer due at NOW_MS: FIRE(id, cb_opaque,
 * ARG). FIRE may arm, make or free timers. */
void user_timers_run(struct user_timer **list, int64_t now_ms,
		     void (*fire)(int id, void *cb_opaque, void *arg), void *arg);
void user_timers_free_all(struct user_timer **list);

#endif
