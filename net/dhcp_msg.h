/* DHCP messages (RFC 2131) and their options (RFC 2132): parsing a client's
 * BOOTREQUEST into a checked summary, and building the server's BOOTREPLY.
 *
 * Every byte of a received packet is hostile: dhcp_msg_parse() checks the
 * fixed header, the magic cookie and every option's length against the end of
 * the buffer (and of the sname/file fields when option 52 overloads them) and
 * returns -EBADMSG for anything malformed or truncated. */
#ifndef MINIVMM_NET_DHCP_MSG_H
#define MINIVMM_NET_DHCP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MAGIC 0x63825363u
#define DHCP_FLAG_BROADCAST 0x8000u
/* Fixed BOOTP header plus the magic cookie. */
#define DHCP_HDR_LEN 240
/* Replies are padded to the BOOTP minimum that old clients expect. */
#define DHCP_MIN_LEN 300
#define DHCP_MAX_LEN 1500
#define DHCP_HOSTNAME_MAX 63

enum dhcp_msg_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

enum dhcp_option {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_MTU = 26,
	DHCP_OPT_BROADCAST = 28,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_RENEWAL_T1 = 58,
	DHCP_OPT_REBINDING_T2 = 59,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_CLASSLESS_ROUTE = 121,	/* RFC 3442 */
	DHCP_OPT_END = 255,
};

/* The fixed part of a BOOTP/DHCP message, as on the wire (network order). */
struct dhcp_hdr {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
} __attribute__((packed));
_Static_assert(sizeof(struct dhcp_hdr) == DHCP_HDR_LEN, "DHCP header is 240 bytes");

/* What the server needs from a client's message; addresses in host order,
 * 0 when absent. */
struct dhcp_request {
	uint8_t type; /* enum dhcp_msg_type */
	uint32_t xid;
	uint16_t flags; /* host order */
	uint32_t ciaddr, giaddr;
	uint8_t mac[6];
	uint32_t requested_ip; /* option 50 */
	uint32_t server_id;    /* option 54 */
	bool has_server_id;
	char hostname[DHCP_HOSTNAME_MAX + 1]; /* option 12, sanitised, "" if none */
};

/* Parse a BOOTREQUEST. Returns 0, or -EBADMSG when it is malformed, truncated
 * or not an Ethernet DHCP request (the caller counts and drops those). */
int dhcp_msg_parse(const uint8_t *pkt, size_t len, struct dhcp_request *out);

/* Building a reply: a header copied from the request, then options. */
struct dhcp_builder {
	uint8_t buf[DHCP_MAX_LEN];
	size_t len;
	bool overflow; /* an option did not fit; the reply is not sent */
};

void dhcp_build_start(struct dhcp_builder *b, const struct dhcp_request *req, uint8_t type,
		      uint32_t yiaddr, uint32_t server_ip);
void dhcp_opt_put(struct dhcp_builder *b, uint8_t code, const void *data, size_t len);
void dhcp_opt_u8(struct dhcp_builder *b, uint8_t code, uint8_t v);
void dhcp_opt_u16(struct dhcp_builder *b, uint8_t code, uint16_t v);
void dhcp_opt_u32(struct dhcp_builder *b, uint8_t code, uint32_t v); /* host order in */
void dhcp_opt_ips(struct dhcp_builder *b, uint8_t code, const uint32_t *ips, size_t n);
/* Append END and pad to DHCP_MIN_LEN. Returns the length, or -EMSGSIZE. */
int dhcp_build_finish(struct dhcp_builder *b);

/* Find option CODE in a (well-formed) message's option area; returns a
 * pointer to its data and sets *len, or NULL. For tests and the bench. */
const uint8_t *dhcp_opt_find(const uint8_t *pkt, size_t len, uint8_t code, size_t *optlen);

#endif
