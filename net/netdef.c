/* Network definitions: validation, `net create` arguments, helpers. */
#include "net/netdef.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t netdef_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int netdef_parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

const char *netdef_ipstr(uint32_t ip, char *buf)
{
	struct in_addr a = {htonl(ip)};
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

const char *netdef_forward_name(enum net_forward f)
{
	return f == NET_FWD_NAT ? "nat" : f == NET_FWD_ROUTE ? "route" : "none";
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
			    s[i]))
			return false;
	return true;
}

/* Network names become file names, nftables table names and log prefixes. */
bool netdef_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > NETDEF_NAME_MAX || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			    name[i]))
			return false;
	return true;
}

static int check_hosts(const struct netdef *d, uint32_t mask)
{
	char a[INET_ADDRSTRLEN], m[18];

	for (size_t i = 0; i < d->nhosts; i++) {
		const struct dhcp_host *h = &d->hosts[i];
		netdef_ipstr(h->ip, a);
		dhcp_mac_format(h->mac, m);
		if ((h->ip & mask) != (d->addr & mask) || h->ip == d->addr ||
		    h->ip == (d->addr & mask) || h->ip == ((d->addr & mask) | ~mask)) {
			log_error("net %s: host %s address %s is not usable in subnet", d->name, m,
				  a);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(d->hosts[j].mac, h->mac, 6) || d->hosts[j].ip == h->ip) {
				log_error("net %s: host %s (%s) given twice", d->name, m, a);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_range(const struct netdef *d, uint32_t mask)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], n[INET_ADDRSTRLEN];
	uint32_t net = d->addr & mask, bcast = net | ~mask;

	netdef_ipstr(d->range_start, a);
	netdef_ipstr(d->range_end, b);
	netdef_ipstr(net, n);
	if (d->range_start > d->range_end) {
		log_error("net %s: DHCP range %s-%s: start is after end", d->name, a, b);
		return -EINVAL;
	}
	if ((d->range_start & mask) != net || (d->range_end & mask) != net ||
	    d->range_start == net || d->range_end == bcast) {
		log_error("net %s: DHCP range %s-%s is outside subnet %s/%u", d->name, a, b, n,
			  d->prefix);
		return -EINVAL;
	}
	if (d->range_end - d->range_start >= DHCP_POOL_MAX) {
		log_error("net %s: DHCP range %s-%s has more than %u addresses", d->name, a, b,
			  DHCP_POOL_MAX);
		return -EINVAL;
	}
	if (d->lease_secs < 120) {
		log_error("net %s: DHCP lease time %u s is shorter than 2 minutes", d->name,
			  d->lease_secs);
		return -EINVAL;
	}
	return 0;
}

int netdef_validate(const struct netdef *d)
{
	if (!netdef_name_ok(d->name)) {
		log_error("net: network name '%s' is invalid (1-%d of A-Z a-z 0-9 _ -)", d->name,
			  NETDEF_NAME_MAX);
		return -EINVAL;
	}
	if (!ifname_ok(d->bridge)) {
		log_error("net %s: bridge name '%s' is invalid (1-15 of A-Z a-z 0-9 _ - .)",
			  d->name, d->bridge);
		return -EINVAL;
	}
	if (d->delay > 30 || (d->mtu && (d->mtu < 68 || d->mtu > 65535))) {
		log_error("net %s: bridge delay must be 0-30 s and mtu 68-65535", d->name);
		return -EINVAL;
	}
	if (!d->has_ip) {
		if (d->forward != NET_FWD_NONE || d->has_dhcp) {
			log_error("net %s: forward mode %s needs an <ip> address", d->name,
				  netdef_forward_name(d->forward));
			return -EINVAL;
		}
		return 0;
	}
	uint32_t mask = netdef_mask(d->prefix);
	if (d->prefix < 8 || d->prefix > 30 || d->addr == (d->addr & mask) ||
	    d->addr == ((d->addr & mask) | ~mask)) {
		char a[INET_ADDRSTRLEN];
		log_error("net %s: %s/%u is not a host address in a /8../30 subnet", d->name,
			  netdef_ipstr(d->addr, a), d->prefix);
		return -EINVAL;
	}
	if (d->has_dhcp && check_range(d, mask))
		return -EINVAL;
	return check_hosts(d, mask);
}

bool netdef_overlaps(const struct netdef *a, const struct netdef *b)
{
	if (!a->has_ip || !b->has_ip)
		return false;
	uint32_t m = netdef_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
	return (a->addr & m) == (b->addr & m);
}

static int parse_cidr(const char *s, uint32_t *ip, unsigned *prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || p > 32 || netdef_parse_ip(buf, ip))
		return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

int netdef_from_args(struct netdef *d, const char *name, const char *subnet, const char *range,
		     enum net_forward fwd, const char *bridge)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (strlen(name) > NETDEF_NAME_MAX || !netdef_name_ok(name)) {
		log_error("net: network name '%s' is invalid (1-%d of A-Z a-z 0-9 _ -)", name,
			  NETDEF_NAME_MAX);
		return -EINVAL;
	}
	d->forward = fwd;
	d->stp = true;
	d->lease_secs = NETDEF_DEFAULT_LEASE;
	snprintf(d->bridge, sizeof(d->bridge), "%s", bridge ? bridge : name);
	if (strlen(bridge ? bridge : name) > 15) {
		log_error("net %s: bridge name '%s' is longer than 15 characters (use --bridge)",
			  name, bridge ? bridge : name);
		return -EINVAL;
	}
	if (!subnet || parse_cidr(subnet, &d->addr, &d->prefix)) {
		log_error("net %s: --subnet wants ADDRESS/PREFIX, e.g. 192.168.100.254/24", name);
		return -EINVAL;
	}
	d->has_ip = true;
	if (range) {
		char a[32];
		const char *dash = strchr(range, '-');
		if (!dash || (size_t)(dash - range) >= sizeof(a)) {
			log_error("net %s: --dhcp wants START-END", name);
			return -EINVAL;
		}
		memcpy(a, range, (size_t)(dash - range));
		a[dash - range] = '\0';
		if (netdef_parse_ip(a, &d->range_start) ||
		    netdef_parse_ip(dash + 1, &d->range_end)) {
			log_error("net %s: --dhcp wants START-END addresses, got '%s'", name,
				  range);
			return -EINVAL;
		}
		d->has_dhcp = true;
	}
	return netdef_validate(d);
}

void netdef_free(struct netdef *d)
{
	free(d->hosts);
	d->hosts = NULL;
	d->nhosts = 0;
}
