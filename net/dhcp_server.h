/* The DHCP server's protocol engine (RFC 2131 section 4.3): one request in,
 * at most one reply out, no sockets, so unit tests drive it directly.
 * dhcp_serve.h puts it on a socket. */
#ifndef MINIVMM_NET_DHCP_SERVER_H
#define MINIVMM_NET_DHCP_SERVER_H

#include "net/dhcp_lease.h"
#include "net/dhcp_msg.h"

#include <stdint.h>
#include <time.h>

#define DHCP_DNS_MAX 3

struct dhcp_server_cfg {
	const char *name;   /* network name, for log lines */
	uint32_t server_ip; /* the bridge address: server id and router */
	uint32_t netmask;
	uint32_t router; /* 0: no router option (forward mode none) */
	/* Not 0: a classless static route (option 121) for 169.254.169.254/32
	 * via this address, so guests without a router reach the metadata
	 * service (net/mdata_serve.h). */
	uint32_t mdata_gateway;
	uint32_t dns[DHCP_DNS_MAX];
	size_t ndns;
	uint32_t lease_secs;
	uint16_t mtu; /* 0: no MTU option */
	struct dhcp_pool pool;
	const char *lease_path; /* NULL: leases not persisted */
};

struct dhcp_stats {
	uint64_t received, malformed, ignored;
	uint64_t offers, acks, naks, releases, declines, informs, exhausted;
};

struct dhcp_reply {
	uint8_t buf[DHCP_MAX_LEN];
	size_t len;
	uint32_t dst_ip; /* host order; 0xffffffff = broadcast */
	uint16_t dst_port;
	/* An ACK of a new binding: send it only after dhcp_server_flush()
	 * succeeded, so a client never holds an address the lease file does
	 * not know (the loop commits a whole batch with one fsync). */
	bool needs_commit;
};

struct dhcp_server;

int dhcp_server_new(struct dhcp_server **out, const struct dhcp_server_cfg *cfg, time_t now);
void dhcp_server_free(struct dhcp_server *s);

/* Handle one received packet. Returns 1 with *reply filled, 0 for no reply
 * (including malformed packets, which are counted), or -errno. */
int dhcp_server_handle(struct dhcp_server *s, const uint8_t *pkt, size_t len, time_t now,
		       struct dhcp_reply *reply);
/* Write the lease file if anything changed: before sending replies marked
 * needs_commit, and every few seconds for renewals. */
int dhcp_server_flush(struct dhcp_server *s);
const struct dhcp_stats *dhcp_server_stats(const struct dhcp_server *s);
struct dhcp_leases *dhcp_server_leases(struct dhcp_server *s);

#endif
