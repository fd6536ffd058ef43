/* Building client-side DHCP packets for the tests (and the benchmark). */
#ifndef MINIVMM_TESTS_DHCP_CLIENT_PKT_H
#define MINIVMM_TESTS_DHCP_CLIENT_PKT_H

#include "net/dhcp_msg.h"

#include <arpa/inet.h>
#include <string.h>

struct client_pkt {
	uint8_t buf[600];
	size_t len;
};

static inline void cpkt_start(struct client_pkt *p, uint8_t type, uint32_t xid,
			      const uint8_t mac[6], uint32_t ciaddr)
{
	struct dhcp_hdr h;

	memset(p, 0, sizeof(*p));
	memset(&h, 0, sizeof(h));
	h.op = 1;
	h.htype = 1;
	h.hlen = 6;
	h.xid = htonl(xid);
	h.flags = htons(DHCP_FLAG_BROADCAST);
	h.ciaddr = htonl(ciaddr);
	memcpy(h.chaddr, mac, 6);
	h.magic = htonl(DHCP_MAGIC);
	memcpy(p->buf, &h, sizeof(h));
	p->len = sizeof(h);
	p->buf[p->len++] = DHCP_OPT_MSG_TYPE;
	p->buf[p->len++] = 1;
	p->buf[p->len++] = type;
}

static inline void cpkt_opt(struct client_pkt *p, uint8_t code, const void *d, uint8_t len)
{
	p->buf[p->len++] = code;
	p->buf[p->len++] = len;
	memcpy(p->buf + p->len, d, len);
	p->len += len;
}

static inline void cpkt_ip(struct client_pkt *p, uint8_t code, uint32_t ip)
{
	uint32_t be = htonl(ip);
	cpkt_opt(p, code, &be, 4);
}

static inline void cpkt_end(struct client_pkt *p) { p->buf[p->len++] = DHCP_OPT_END; }

#endif
