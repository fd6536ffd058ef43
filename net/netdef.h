/* A network definition: the subset of libvirt's network XML that minivmm
 * implements (name, uuid, forward mode nat/route/none, bridge name/stp/delay,
 * mac, mtu, one IPv4 <ip> with address + netmask or prefix, one DHCP range
 * with an optional lease time, static <host> entries by MAC). */
#ifndef MINIVMM_NET_NETDEF_H
#define MINIVMM_NET_NETDEF_H

#include "net/dhcp_lease.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEF_NAME_MAX 32
#define NETDEF_DEFAULT_LEASE 3600

enum net_forward { NET_FWD_NONE = 0, NET_FWD_NAT, NET_FWD_ROUTE };

struct netdef {
	char name[NETDEF_NAME_MAX + 1];
	char uuid[37]; /* "" if none given */
	enum net_forward forward;
	char bridge[16];
	bool stp;
	unsigned delay; /* seconds */
	bool has_mac;
	uint8_t mac[6];
	unsigned mtu; /* 0: not set */
	bool has_ip;
	uint32_t addr; /* the bridge's address, host order */
	unsigned prefix;
	bool has_dhcp;
	uint32_t range_start, range_end;
	uint32_t lease_secs;
	struct dhcp_host *hosts;
	size_t nhosts;
};

/* Parse libvirt network XML. Unsupported elements/attributes are errors that
 * name them; the result is validated (netdef_validate). SRC names the input
 * in messages. Free the result with netdef_free(). */
int netdef_from_xml(const char *buf, size_t len, const char *src, struct netdef *out);
/* The definition as libvirt network XML (malloc'd). */
int netdef_to_xml(const struct netdef *d, char **out);

/* `net create NAME --subnet A.B.C.D/P [--dhcp START-END] [--nat|--route]`. */
int netdef_from_args(struct netdef *d, const char *name, const char *subnet, const char *range,
		     enum net_forward fwd, const char *bridge);

/* Check the definition as a whole: names, range inside the subnet, hosts. */
int netdef_validate(const struct netdef *d);
/* True when the two networks' IPv4 subnets overlap. */
bool netdef_overlaps(const struct netdef *a, const struct netdef *b);
bool netdef_name_ok(const char *name);
void netdef_free(struct netdef *d);

uint32_t netdef_mask(unsigned prefix);
int netdef_parse_ip(const char *s, uint32_t *ip);
/* "a.b.c.d" into BUF (at least 16 bytes); returns BUF. */
const char *netdef_ipstr(uint32_t ip, char *buf);
const char *netdef_forward_name(enum net_forward f);

#endif
