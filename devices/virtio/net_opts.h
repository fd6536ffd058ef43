/* The syntax of a NIC on the command line: `--bridge NAME[,mac=MAC]` and
 * `--tap NAME[,mac=MAC]`, apart from the device so that the command-line
 * parser (and its tests) need neither a TAP nor a device. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_OPTS_H
#define MINIVMM_DEVICES_VIRTIO_NET_OPTS_H

#include "devices/virtio/net_mac.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_OPTS_NAME_MAX 63	/* a network name (minivmm net), bridge or TAP */

struct net_opts {
	char name[NET_OPTS_NAME_MAX + 1];
	bool has_mac;
	uint8_t mac[NET_MAC_LEN];
};

/* FLAG ("--bridge") is for the messages. 0 or -EINVAL (logged, naming the
 * flag, the value and what is wrong). */
int net_opts_parse(const char *flag, const char *value, struct net_opts *o);
/* The option "mac=MAC" (OPT, LEN bytes, not NUL-terminated) of VALUE into
 * MAC; -EINVAL (logged) when malformed or when *HAS_MAC says it came twice. */
int net_opts_parse_mac(const char *flag, const char *value, const char *opt, size_t len,
		       bool *has_mac, uint8_t mac[NET_MAC_LEN]);

#endif
