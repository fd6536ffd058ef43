/* The syntax of a user-mode NIC on the command line:
 *   --net user[,net=CIDR][,mac=MAC]
 *             [,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 * apart from the device (and libslirp) so that the command-line parser and
 * its tests need neither.
 *
 * Addresses as QEMU's user networking, so guides written for it apply: the
 * network 10.0.2.0/24 unless net= says otherwise, the gateway (the host as
 * the guest sees it) at .2, the DNS forwarder at .3, DHCP leases from .15.
 * A forward binds HOSTADDR (127.0.0.1 unless given: the host's other users
 * on the network cannot reach the guest) and goes to GUESTADDR (the first
 * DHCP address unless given); an empty protocol is tcp, as in QEMU. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_USER_OPTS_H
#define MINIVMM_DEVICES_VIRTIO_NET_USER_OPTS_H

#include "devices/virtio/net_mac.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define NET_USER_MAX_FWDS 16
#define NET_USER_PREFIX_MAX 27	/* room for .2, .3 and .15 below the broadcast */

struct net_user_fwd {
	bool udp;
	struct in_addr host_addr, guest_addr;	/* network byte order */
	uint16_t host_port, guest_port;		/* host byte order */
};

struct net_user_opts {
	struct in_addr net, mask;		/* 10.0.2.0, 255.255.255.0 */
	struct in_addr gateway, dns, dhcp_start;	/* .2, .3, .15 */
	unsigned prefix;			/* 24 */
	bool has_mac;
	uint8_t mac[NET_MAC_LEN];
	unsigned nfwds;
	struct net_user_fwd fwd[NET_USER_MAX_FWDS];
};

/* VALUE is what follows --net ("user,hostfwd=tcp::2222-:22"). 0, or
 * -EINVAL logged as one line naming --net, VALUE and the part at fault. */
int net_user_opts_parse(const char *value, struct net_user_opts *o);

/* "tcp 127.0.0.1:2222 -> 10.0.2.15:22" into BUF (for messages). */
const char *net_user_fwd_format(const struct net_user_fwd *f, char *buf, size_t size);

#endif
