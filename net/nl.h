/* rtnetlink through libmnl: the few link and address operations `net start`
 * and tap_open() need. Each returns 0 or -errno and logs what failed. */
#ifndef MINIVMM_NET_NL_H
#define MINIVMM_NET_NL_H

#include <stdbool.h>
#include <stdint.h>

/* Create bridge NAME (fails with -EEXIST if any link has that name). MAC may
 * be NULL and MTU 0 for the kernel's defaults. */
int nl_bridge_create(const char *name, bool stp, unsigned delay_s, const uint8_t *mac,
		     unsigned mtu);
int nl_link_delete(const char *name);
int nl_link_up(const char *name);
int nl_link_set_master(const char *name, const char *master);
int nl_addr_add(const char *name, uint32_t addr, unsigned prefix);
/* 0 when NAME is an existing bridge; -ENODEV if no such link, -ENOTTY if it
 * is not a bridge. */
int nl_is_bridge(const char *name);

#endif
