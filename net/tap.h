/* TAP devices for virtio-net: a TAP enslaved to a bridge (normally one a
 * `minivmm net start` created). Closing the fd removes the TAP. */
#ifndef MINIVMM_NET_TAP_H
#define MINIVMM_NET_TAP_H

#include <net/if.h>

#include <stdbool.h>

#define TAP_VNET_HDR 1u	   /* frames carry a struct virtio_net_hdr (IFF_VNET_HDR) */
#define TAP_MULTI_QUEUE 2u /* several fds, each a queue (IFF_MULTI_QUEUE) */
#define TAP_MAX_QUEUES 16

/* Open TAP NAME (NULL: the kernel picks "tapN"), attach it to BRIDGE and set
 * it up. Returns the fd, or -errno: -ENODEV (with a one-line error) when the
 * bridge does not exist or is not a bridge. */
int tap_open(const char *name, const char *bridge);
int tap_open_flags(const char *name, const char *bridge, unsigned flags);
/* The same with N queues (N fds into FDS; N > 1 adds TAP_MULTI_QUEUE).
 * 0 or -errno (logged); on error no fd is left open. */
int tap_open_queues(const char *name, const char *bridge, unsigned flags, unsigned n, int *fds);
/* Like tap_open_flags() with the first free name PREFIXn (n = 0, 1, ...
 * below TAP_NEXT_MAX), as libvirt names its TAPs vnet0, vnet1, ...; the
 * name chosen is written to NAME. A name that is taken (by any interface,
 * or by a TAP opened meanwhile) is skipped. Returns the fd or -errno. */
#define TAP_NEXT_MAX 1024
int tap_open_next(const char *prefix, const char *bridge, unsigned flags, unsigned n, int *fds,
		  char name[IFNAMSIZ]);
/* An existing TAP NAME (`ip tuntap add NAME mode tap [multi_queue] user U`:
 * no privilege needed when it is the caller's), *N queues asked; a TAP
 * made without multi_queue gives one (*N is set to what was opened). Set
 * up if we may (warned otherwise). 0 or -errno (logged: missing, busy, not
 * a TAP, not ours). */
int tap_attach(const char *name, unsigned flags, unsigned *n, int *fds);
/* TUNSETVNETHDRSZ, TUNSETOFFLOAD (TUN_F_* mask), TUNSETQUEUE attach or
 * detach (a detached queue gets no frames). 0 or -errno. */
int tap_set_vnet_hdr_size(int fd, int size);
int tap_set_offload(int fd, unsigned mask);
int tap_set_queue(int fd, bool attach);
/* The MTU of interface NAME (a bridge, a TAP), or -errno. */
int tap_if_mtu(const char *name);
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
