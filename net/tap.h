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
/* Like tap_open_flags() with the first free name PREFIXn (n = 0, 1, ...
 * below TAP_NEXT_MAX), as libvirt names its TAPs vnet0, vnet1, ...; the
 * name chosen is written to NAME. A name that is taken (by any interface,
 * or by a TAP opened meanwhile) is skipped. Returns the fd or -errno. */
#define TAP_NEXT_MAX 1024
int tap_open_next(const char *prefix, const char *bridge, unsigned flags, char name[IFNAMSIZ]);
/* Which TUNSETOFFLOAD bits (TUN_F_*) this host's TAP accepts, each tried
 * with TUN_F_CSUM (the kernel ignores segmentation bits without it): the
 * old ones (CSUM, TSO4/6, TSO_ECN) everywhere, UFO and USO4/6 only on some
 * kernels. FD should be a TAP opened with TAP_VNET_HDR (without a vnet
 * header the kernel takes the bits but has nowhere to say a frame is
 * partial); its offloads are left off. Returns the mask, or -errno when even TUN_F_CSUM is refused. */
int tap_probe_offload(int fd);
/* The interface name of an open TAP fd into NAME (IFNAMSIZ bytes). */
int tap_name(int fd, char name[IFNAMSIZ]);

#endif
