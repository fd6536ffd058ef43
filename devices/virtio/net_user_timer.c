/* slirp's timers for the user-mode backend (net_user_timer.h). */
#include "devices/virtio/net_user_timer.h"

#include <stdbool.h>
#include <stdlib.h>

struct user_timer {
	struct user_timer *next;
	int id;
	void *cb_opaque;
	int64_t expire_ms;	/* -1: not armed */
};

struct user_timer *user_timer_new(struct user_timer **list, int id, void *cb_opaque)
{
	struct user_timer *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct user_timer){ .next = *list, .id = id, .cb_opaque = cb_opaque,
				  .expire_ms = -1 };
	*list = t;
	return t;
}

void user_timer_free(struct user_timer **list, struct user_timer *t)
{
	for (struct user_timer **pp = list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
}

void user_timer_mod(struct user_timer *t, int64_t expire_ms)
{
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

uint32_t user_timers_clamp(const struct user_timer *list, int64_t now_ms, uint32_t timeout_ms)
{
	for (const struct user_timer *t = list; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		int64_t left = t->expire_ms - now_ms;
		if (left <= 0)
			return 0;
		if (left < (int64_t)timeout_ms)
			timeout_ms = (uint32_t)left;
	}
	return timeout_ms;
}

void user_timers_run(struct user_timer **list, int64_t now_ms,
		     void (*fire)(int id, void *cb_opaque, void *arg), void *arg)
{
	/* A handler may change the list: start again after each one. */
	for (struct user_timer *t = *list; t;) {
		if (t->expire_ms < 0 || t->expire_ms > now_ms) {
			t = t->next;
			continue;
		}
		t->expire_ms = -1;
		fire(t->id, t->cb_opaque, arg);
		t = *list;
	}
}

void user_timers_free_all(struct user_timer **list)
{
	while (*list) {
		struct user_timer *t = *list;
		*list = t->next;
		free(t);
	}
}
