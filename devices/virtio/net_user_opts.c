/* --net user[,net=CIDR][,mac=MAC][,hostfwd=...]... (net_user_opts.h). */
#include "devices/virtio/net_user_opts.h"

#include "devices/virtio/net_opts.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG "--net"
#define TOKEN_MAX 96	/* the longest option: hostfwd= with two addresses */

static bool parse_ipv4(const char *text, struct in_addr *out)
{
	return inet_pton(AF_INET, text, out) == 1;
}

/* "1".."65535" only: no sign, no spaces, no leading junk. */
static bool parse_port(const char *text, uint16_t *out)
{
	char *end;
	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static uint32_t host_order(struct in_addr a) { return ntohl(a.s_addr); }
static struct in_addr in_addr_of(uint32_t host) { return (struct in_addr){ htonl(host) }; }

static int parse_net(const char *value, const char *arg, struct net_user_opts *o)
{
	char addr[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	unsigned prefix = 24;
	struct in_addr net;

	if (len >= sizeof(addr))
		goto bad;
	memcpy(addr, arg, len);
	addr[len] = '\0';
	if (!parse_ipv4(addr, &net))
		goto bad;
	if (slash) {
		char *end;
		const char *p = slash + 1;
		if (*p < '0' || *p > '9')
			goto bad;
		unsigned long v = strtoul(p, &end, 10);
		if (*end || v > 32)
			goto bad;
		prefix = (unsigned)v;
	}
	if (prefix < 1 || prefix > NET_USER_PREFIX_MAX) {
		log_error("%s '%s': net=%s: prefix /%u: use /1 to /%d (the network needs room "
			  "for .2, .3 and .15)", FLAG, value, arg, prefix, NET_USER_PREFIX_MAX);
		return -EINVAL;
	}
	uint32_t mask = ~0u << (32 - prefix);
	if (host_order(net) & ~mask) {
		log_error("%s '%s': net=%s: host bits set (the network is %s/%u?)", FLAG, value,
			  arg, inet_ntop(AF_INET, &(struct in_addr){ htonl(host_order(net) & mask) },
					 addr, sizeof(addr)), prefix);
		return -EINVAL;
	}
	o->net = net;
	o->prefix = prefix;
	o->mask = in_addr_of(mask);
	o->gateway = in_addr_of(host_order(net) | 2);
	o->dns = in_addr_of(host_order(net) | 3);
	o->dhcp_start = in_addr_of(host_order(net) | 15);
	return 0;
bad:
	log_error("%s '%s': net=%s: expected an IPv4 network like 10.0.2.0/24", FLAG, value, arg);
	return -EINVAL;
}

/* "[ADDR]:PORT" of SIDE ("host", "guest") into *ADDR (untouched when
 * empty) and *PORT; false with WHY filled when malformed. */
static bool parse_endpoint(char *text, const char *side, struct in_addr *addr, bool *has_addr,
			   uint16_t *port, char *why, size_t why_size)
{
	char *colon = strrchr(text, ':');
	if (!colon) {
		snprintf(why, why_size, "%s side: expected [ADDRESS]:PORT", side);
		return false;
	}
	*colon = '\0';
	*has_addr = *text != '\0';
	if (*has_addr && !parse_ipv4(text, addr)) {
		snprintf(why, why_size, "%s address '%s' is not an IPv4 address", side, text);
		return false;
	}
	if (!parse_port(colon + 1, port)) {
		snprintf(why, why_size, "%s port '%s' is not a number from 1 to 65535", side,
			 colon + 1);
		return false;
	}
	return true;
}

static int parse_hostfwd(const char *value, const char *arg, struct net_user_opts *o)
{
	char text[TOKEN_MAX], *guest;
	struct net_user_fwd f = { .host_addr = in_addr_of(INADDR_LOOPBACK) };
	bool has_guest = false, has_host, ok;
	char why[TOKEN_MAX + 48];
	const char *proto = arg;

	if (o->nfwds == NET_USER_MAX_FWDS) {
		log_error("%s '%s': at most %d hostfwd= per NIC", FLAG, value, NET_USER_MAX_FWDS);
		return -EINVAL;
	}
	const char *colon = strchr(arg, ':');
	size_t plen = colon ? (size_t)(colon - arg) : 0;
	if (!colon || !(plen == 0 || (plen == 3 && (!strncmp(proto, "tcp", 3) ||
						   !strncmp(proto, "udp", 3))))) {
		log_error("%s '%s': hostfwd=%s: expected tcp|udp:[HOSTADDR]:HOSTPORT-"
			  "[GUESTADDR]:GUESTPORT", FLAG, value, arg);
		return -EINVAL;
	}
	f.udp = plen == 3 && !strncmp(proto, "udp", 3);
	snprintf(text, sizeof(text), "%s", colon + 1);
	if (!(guest = strchr(text, '-'))) {
		snprintf(why, sizeof(why), "no '-' between the host and the guest side");
		ok = false;
	} else {
		*guest++ = '\0';
		ok = parse_endpoint(text, "host", &f.host_addr, &has_host, &f.host_port, why,
				    sizeof(why)) &&
		     parse_endpoint(guest, "guest", &f.guest_addr, &has_guest, &f.guest_port, why,
				    sizeof(why));
	}
	if (!ok) {
		log_error("%s '%s': hostfwd=%s: %s", FLAG, value, arg, why);
		return -EINVAL;
	}
	if (!has_guest)
		f.guest_addr.s_addr = INADDR_ANY;	/* the first DHCP address, once net= is known */
	for (unsigned i = 0; i < o->nfwds; i++) {
		const struct net_user_fwd *g = &o->fwd[i];
		if (g->udp == f.udp && g->host_port == f.host_port &&
		    g->host_addr.s_addr == f.host_addr.s_addr) {
			log_error("%s '%s': hostfwd=%s: host port %s %u forwarded twice", FLAG, value,
				  arg, f.udp ? "udp" : "tcp", f.host_port);
			return -EINVAL;
		}
	}
	o->fwd[o->nfwds++] = f;
	return 0;
}

static int parse_option(const char *value, const char *opt, size_t len,
			struct net_user_opts *o)
{
	char text[TOKEN_MAX];

	if (len >= sizeof(text)) {
		log_error("%s '%s': option '%.20s...' too long", FLAG, value, opt);
		return -EINVAL;
	}
	memcpy(text, opt, len);
	text[len] = '\0';
	if (!strncmp(text, "net=", 4))
		return parse_net(value, text + 4, o);
	if (!strncmp(text, "hostfwd=", 8))
		return parse_hostfwd(value, text + 8, o);
	if (len > 4 && !strncmp(text, "mac=", 4))
		return net_opts_parse_mac(FLAG, value, text, len, &o->has_mac, o->mac);
	log_error("%s '%s': unknown option '%s' (expected net=CIDR, mac=MAC or hostfwd=...)",
		  FLAG, value, text);
	return -EINVAL;
}

/* Forwards without a guest address go to the first DHCP lease; one with
 * an address outside the network could never reach the guest. */
static int check_forwards(const char *value, struct net_user_opts *o)
{
	uint32_t mask = host_order(o->mask), net = host_order(o->net);

	for (unsigned i = 0; i < o->nfwds; i++) {
		struct net_user_fwd *f = &o->fwd[i];
		uint32_t g = host_order(f->guest_addr);
		if (f->guest_addr.s_addr == INADDR_ANY) {
			f->guest_addr = o->dhcp_start;
			continue;
		}
		if ((g & mask) != net || (g & ~mask) == 0 || (g & ~mask) == ~mask) {
			char a[INET_ADDRSTRLEN], nb[INET_ADDRSTRLEN];
			log_error("%s '%s': hostfwd guest address %s is not a host of the "
				  "guest network %s/%u", FLAG, value,
				  inet_ntop(AF_INET, &f->guest_addr, a, sizeof(a)),
				  inet_ntop(AF_INET, &o->net, nb, sizeof(nb)), o->prefix);
			return -EINVAL;
		}
	}
	return 0;
}

int net_user_opts_parse(const char *value, struct net_user_opts *o)
{
	memset(o, 0, sizeof(*o));
	const char *comma = strchr(value, ',');
	size_t kind_len = comma ? (size_t)(comma - value) : strlen(value);

	if (kind_len != 4 || strncmp(value, "user", 4)) {
		log_error("%s '%s': unknown kind '%.*s' (only 'user'; for a TAP use --bridge or "
			  "--tap)", FLAG, value, (int)kind_len, value);
		return -EINVAL;
	}
	parse_net(value, "10.0.2.0/24", o);
	bool had_net = false;
	while (comma) {
		const char *opt = comma + 1;
		comma = strchr(opt, ',');
		size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (len >= 4 && !strncmp(opt, "net=", 4)) {
			if (had_net) {
				log_error("%s '%s': net= given twice", FLAG, value);
				return -EINVAL;
			}
			had_net = true;
		}
		if (parse_option(value, opt, len, o) < 0)
			return -EINVAL;
	}
	return check_forwards(value, o);
}

const char *net_user_fwd_format(const struct net_user_fwd *f, char *buf, size_t size)
{
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	snprintf(buf, size, "%s %s:%u -> %s:%u", f->udp ? "udp" : "tcp",
		 inet_ntop(AF_INET, &f->host_addr, h, sizeof(h)), f->host_port,
		 inet_ntop(AF_INET, &f->guest_addr, g, sizeof(g)), f->guest_port);
	return buf;
}
