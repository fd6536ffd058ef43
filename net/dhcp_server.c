/* DHCP server state machine: DISCOVER/OFFER, REQUEST/ACK|NAK, RELEASE,
 * DECLINE, INFORM. */
#include "net/dhcp_server.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dhcp_server {
	struct dhcp_server_cfg cfg;
	char name[64];
	struct dhcp_leases *leases;
	struct dhcp_stats stats;
};

static const char *ipstr(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = {htonl(ip)};
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int dhcp_server_new(struct dhcp_server **out, const struct dhcp_server_cfg *cfg, time_t now)
{
	struct dhcp_server *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	snprintf(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "?");
	s->cfg.name = s->name;
	if (s->cfg.ndns > DHCP_DNS_MAX)
		s->cfg.ndns = DHCP_DNS_MAX;
	int r = dhcp_leases_open(&s->leases, &cfg->pool, cfg->lease_path, now);
	if (r < 0) {
		free(s);
		return r;
	}
	s->cfg.lease_path = NULL; /* owned by the lease table from here */
	*out = s;
	return 0;
}

void dhcp_server_free(struct dhcp_server *s)
{
	if (!s)
		return;
	dhcp_leases_close(s->leases);
	free(s);
}

/* Options every OFFER/ACK carries; LEASE false for an ACK to INFORM. */
static void put_config(struct dhcp_server *s, struct dhcp_builder *b, const uint8_t mac[6],
		       bool lease)
{
	const struct dhcp_server_cfg *c = &s->cfg;

	if (lease) {
		dhcp_opt_u32(b, DHCP_OPT_LEASE_TIME, c->lease_secs);
		dhcp_opt_u32(b, DHCP_OPT_RENEWAL_T1, c->lease_secs / 2);
		dhcp_opt_u32(b, DHCP_OPT_REBINDING_T2, (uint32_t)((uint64_t)c->lease_secs * 7 / 8));
	}
	dhcp_opt_u32(b, DHCP_OPT_SUBNET_MASK, c->netmask);
	dhcp_opt_u32(b, DHCP_OPT_BROADCAST, (c->server_ip & c->netmask) | ~c->netmask);
	if (c->router)
		dhcp_opt_u32(b, DHCP_OPT_ROUTER, c->router);
	if (c->mdata_gateway) {
		/* RFC 3442: prefix length, the significant octets, the router */
		const uint32_t g = c->mdata_gateway;
		const uint8_t route[9] = { 32, 169, 254, 169, 254, (uint8_t)(g >> 24),
					   (uint8_t)(g >> 16), (uint8_t)(g >> 8), (uint8_t)g };
		dhcp_opt_put(b, DHCP_OPT_CLASSLESS_ROUTE, route, sizeof(route));
	}
	dhcp_opt_ips(b, DHCP_OPT_DNS, c->dns, c->ndns);
	if (c->mtu)
		dhcp_opt_u16(b, DHCP_OPT_MTU, c->mtu);
	const struct dhcp_host *h = dhcp_lease_static(s->leases, mac);
	if (h && h->name[0])
		dhcp_opt_put(b, DHCP_OPT_HOSTNAME, h->name, strlen(h->name));
}

/* RFC 2131 4.1: to the relay if any; unicast to ciaddr when the client has
 * an address; otherwise broadcast (we do not inject ARP entries, and every
 * client accepts a broadcast reply). */
static int finish(struct dhcp_builder *b, const struct dhcp_request *req, uint8_t type,
		  struct dhcp_reply *rep)
{
	int n = dhcp_build_finish(b);
	if (n < 0)
		return n;
	memcpy(rep->buf, b->buf, (size_t)n);
	rep->len = (size_t)n;
	rep->needs_commit = false;
	rep->dst_port = DHCP_CLIENT_PORT;
	if (req->giaddr) {
		rep->dst_ip = req->giaddr;
		rep->dst_port = DHCP_SERVER_PORT;
	} else if (req->ciaddr && type != DHCPNAK) {
		rep->dst_ip = req->ciaddr;
	} else {
		rep->dst_ip = 0xffffffffu;
	}
	return 1;
}

static int on_discover(struct dhcp_server *s, const struct dhcp_request *req, time_t now,
		       struct dhcp_reply *rep)
{
	struct dhcp_builder b;
	uint32_t ip;
	char mac[18];

	if (dhcp_lease_offer(s->leases, req->mac, req->requested_ip, now, &ip) < 0) {
		dhcp_mac_format(req->mac, mac);
		s->stats.exhausted++;
		log_warn("dhcp %s: address pool exhausted, no offer to %s", s->name, mac);
		return 0;
	}
	dhcp_build_start(&b, req, DHCPOFFER, ip, s->cfg.server_ip);
	put_config(s, &b, req->mac, true);
	s->stats.offers++;
	return finish(&b, req, DHCPOFFER, rep);
}

static int nak(struct dhcp_server *s, const struct dhcp_request *req, const char *why,
	       struct dhcp_reply *rep)
{
	struct dhcp_builder b;

	dhcp_build_start(&b, req, DHCPNAK, 0, s->cfg.server_ip);
	dhcp_opt_put(&b, DHCP_OPT_MESSAGE, why, strlen(why));
	s->stats.naks++;
	return finish(&b, req, DHCPNAK, rep);
}

static int on_request(struct dhcp_server *s, const struct dhcp_request *req, time_t now,
		      struct dhcp_reply *rep)
{
	struct dhcp_builder b;
	uint32_t ip, mask = s->cfg.netmask;

	if (req->has_server_id && req->server_id != s->cfg.server_ip) {
		s->stats.ignored++; /* the client chose another server */
		return 0;
	}
	/* SELECTING and INIT-REBOOT name the address in option 50;
	 * RENEWING and REBINDING in ciaddr. */
	ip = req->requested_ip ? req->requested_ip : req->ciaddr;
	if (!ip) {
		s->stats.ignored++;
		return 0;
	}
	if ((ip & mask) != (s->cfg.server_ip & mask))
		return nak(s, req, "wrong network", rep);
	bool renewal = dhcp_lease_current(s->leases, req->mac, now) == ip;
	if (dhcp_lease_bind(s->leases, req->mac, ip, s->cfg.lease_secs, req->hostname, now) < 0)
		return nak(s, req, "address not available", rep);
	dhcp_build_start(&b, req, DHCPACK, ip, s->cfg.server_ip);
	put_config(s, &b, req->mac, true);
	s->stats.acks++;
	int r = finish(&b, req, DHCPACK, rep);
	/* A new binding must be on disk before the client is told; a renewal
	 * only moves the expiry and is flushed shortly after. */
	rep->needs_commit = !renewal;
	return r;
}

static int on_inform(struct dhcp_server *s, const struct dhcp_request *req, struct dhcp_reply *rep)
{
	struct dhcp_builder b;

	if (!req->ciaddr) {
		s->stats.ignored++;
		return 0;
	}
	dhcp_build_start(&b, req, DHCPACK, 0, s->cfg.server_ip);
	put_config(s, &b, req->mac, false);
	s->stats.informs++;
	return finish(&b, req, DHCPACK, rep);
}

int dhcp_server_handle(struct dhcp_server *s, const uint8_t *pkt, size_t len, time_t now,
		       struct dhcp_reply *rep)
{
	struct dhcp_request req;
	char ip[INET_ADDRSTRLEN], mac[18];

	s->stats.received++;
	if (dhcp_msg_parse(pkt, len, &req) < 0) {
		s->stats.malformed++;
		return 0;
	}
	switch (req.type) {
	case DHCPDISCOVER:
		return on_discover(s, &req, now, rep);
	case DHCPREQUEST:
		return on_request(s, &req, now, rep);
	case DHCPINFORM:
		return on_inform(s, &req, rep);
	case DHCPRELEASE:
		if (req.has_server_id && req.server_id != s->cfg.server_ip)
			break;
		s->stats.releases++;
		/* Persisted by the next flush: losing a release in a crash
		 * only keeps the address reserved for its MAC until expiry. */
		dhcp_lease_release(s->leases, req.mac, req.ciaddr, now);
		return 0;
	case DHCPDECLINE:
		if (req.has_server_id && req.server_id != s->cfg.server_ip)
			break;
		if (dhcp_lease_decline(s->leases, req.mac, req.requested_ip, now) == 0) {
			s->stats.declines++;
			dhcp_mac_format(req.mac, mac);
			log_warn("dhcp %s: %s declined %s (in use by someone else?)", s->name, mac,
				 ipstr(req.requested_ip, ip));
		}
		return 0;
	default:
		break; /* OFFER/ACK/NAK are server messages */
	}
	s->stats.ignored++;
	return 0;
}

int dhcp_server_flush(struct dhcp_server *s) { return dhcp_leases_save(s->leases); }

const struct dhcp_stats *dhcp_server_stats(const struct dhcp_server *s) { return &s->stats; }
struct dhcp_leases *dhcp_server_leases(struct dhcp_server *s) { return s->leases; }
