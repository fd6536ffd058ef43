/* TAP devices for virtio-net: a TAP enslaved to a bridge (normally one a
 * `minivmm net start` created). Closing the fd removes the TAP. */
#ifndef MINIVMM_NET_TAP_H
#define MINIVMM_NET_TAP_H

#include <net/if.h>

#define TAP_VNET_HDR 1u /* frames carry a struct virtio_net_hdr (IFF_VNET_HDR) */

/* Open TAP NAME (NULL: the kernel picks "tapN"), attach it to BRIDGE and set
 * it up. Returns the fd, or -errno: -ENODEV (with a one-line error) when the
 * bridge does not exist or is not a bridge. */
int tap_open(const char *name, const char *bridge);
int tap_open_flags(const char *name, const char *bridge, unsigned flags);
/* The interface name of an open TAP fd into NAME (IFNAMSIZ bytes). */
int tap_name(int fd, char name[IFNAMSIZ]);

#endif
