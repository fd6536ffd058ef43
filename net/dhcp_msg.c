/* DHCP message parsing and building (RFC 2131 section 2, RFC 2132). */
#include "net/dhcp_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

typedef int (*opt_fn)(uint8_t code, const uint8_t *data, size_t len, void *ctx);

/* Walk one option area. Every option's length is checked against the end of
 * the area; a missing END is tolerated only when the area is used up. */
static int opt_walk(const uint8_t *p, size_t len, opt_fn fn, void *ctx)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i];

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return 0;
		if (len - i < 2)
			return -EBADMSG;
		size_t olen = p[i + 1];
		if (olen > len - i - 2)
			return -EBADMSG;
		int r = fn(code, p + i + 2, olen, ctx);
		if (r)
			return r;
		i += 2 + olen;
	}
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void copy_hostname(char *dst, const uint8_t *src, size_t len)
{
	size_t n = 0;

	/* Only characters a hostname may hold; the name goes into the lease
	 * file and into logs, so no spaces, newlines or control bytes. */
	for (size_t i = 0; i < len && n < DHCP_HOSTNAME_MAX; i++) {
		uint8_t c = src[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.')
			dst[n++] = (char)c;
	}
	dst[n] = '\0';
}

struct parse_ctx {
	struct dhcp_request *req;
	uint8_t overload;
	bool seen_type;
};

static int parse_opt(uint8_t code, const uint8_t *d, size_t len, void *arg)
{
	struct parse_ctx *c = arg;
	struct dhcp_request *r = c->req;

	switch (code) {
	case DHCP_OPT_MSG_TYPE:
		if (len != 1 || d[0] < DHCPDISCOVER || d[0] > DHCPINFORM)
			return -EBADMSG;
		r->type = d[0];
		c->seen_type = true;
		break;
	case DHCP_OPT_REQUESTED_IP:
		if (len != 4)
			return -EBADMSG;
		r->requested_ip = get_be32(d);
		break;
	case DHCP_OPT_SERVER_ID:
		if (len != 4)
			return -EBADMSG;
		r->server_id = get_be32(d);
		r->has_server_id = true;
		break;
	case DHCP_OPT_OVERLOAD:
		if (len != 1 || d[0] < 1 || d[0] > 3)
			return -EBADMSG;
		c->overload = d[0];
		break;
	case DHCP_OPT_HOSTNAME:
		copy_hostname(r->hostname, d, len);
		break;
	default:
		break;
	}
	return 0;
}

int dhcp_msg_parse(const uint8_t *pkt, size_t len, struct dhcp_request *out)
{
	struct dhcp_hdr h;
	struct parse_ctx c = {.req = out};

	memset(out, 0, sizeof(*out));
	if (!pkt || len < DHCP_HDR_LEN || len > 65535)
		return -EBADMSG;
	memcpy(&h, pkt, sizeof(h));
	if (h.op != 1 || h.htype != 1 || h.hlen != 6 || ntohl(h.magic) != DHCP_MAGIC)
		return -EBADMSG;

	int r = opt_walk(pkt + DHCP_HDR_LEN, len - DHCP_HDR_LEN, parse_opt, &c);
	/* Option 52: the file and/or sname fields carry more options. */
	if (!r && (c.overload & 1))
		r = opt_walk(h.file, sizeof(h.file), parse_opt, &c);
	if (!r && (c.overload & 2))
		r = opt_walk(h.sname, sizeof(h.sname), parse_opt, &c);
	if (r || !c.seen_type)
		return -EBADMSG;

	out->xid = ntohl(h.xid);
	out->flags = ntohs(h.flags);
	out->ciaddr = ntohl(h.ciaddr);
	out->giaddr = ntohl(h.giaddr);
	memcpy(out->mac, h.chaddr, 6);
	return 0;
}

void dhcp_build_start(struct dhcp_builder *b, const struct dhcp_request *req, uint8_t type,
		      uint32_t yiaddr, uint32_t server_ip)
{
	struct dhcp_hdr h;

	memset(&h, 0, sizeof(h));
	h.op = 2;
	h.htype = 1;
	h.hlen = 6;
	h.xid = htonl(req->xid);
	h.flags = htons(req->flags & DHCP_FLAG_BROADCAST);
	/* RFC 2131 table 3: ciaddr is echoed only in an ACK to INFORM/renew. */
	if (type == DHCPACK)
		h.ciaddr = htonl(req->ciaddr);
	h.yiaddr = htonl(yiaddr);
	h.siaddr = 0;
	h.giaddr = htonl(req->giaddr);
	memcpy(h.chaddr, req->mac, 6);
	h.magic = htonl(DHCP_MAGIC);

	memset(b, 0, sizeof(*b));
	memcpy(b->buf, &h, sizeof(h));
	b->len = sizeof(h);
	dhcp_opt_u8(b, DHCP_OPT_MSG_TYPE, type);
	dhcp_opt_u32(b, DHCP_OPT_SERVER_ID, server_ip);
}

void dhcp_opt_put(struct dhcp_builder *b, uint8_t code, const void *data, size_t len)
{
	/* Keep one byte for END. */
	if (len > 255 || b->len + 2 + len + 1 > sizeof(b->buf)) {
		b->overflow = true;
		return;
	}
	b->buf[b->len] = code;
	b->buf[b->len + 1] = (uint8_t)len;
	if (len)
		memcpy(b->buf + b->len + 2, data, len);
	b->len += 2 + len;
}

void dhcp_opt_u8(struct dhcp_builder *b, uint8_t code, uint8_t v) { dhcp_opt_put(b, code, &v, 1); }

void dhcp_opt_u16(struct dhcp_builder *b, uint8_t code, uint16_t v)
{
	uint16_t be = htons(v);
	dhcp_opt_put(b, code, &be, 2);
}

void dhcp_opt_u32(struct dhcp_builder *b, uint8_t code, uint32_t v)
{
	uint32_t be = htonl(v);
	dhcp_opt_put(b, code, &be, 4);
}

void dhcp_opt_ips(struct dhcp_builder *b, uint8_t code, const uint32_t *ips, size_t n)
{
	uint32_t be[16];

	if (n == 0)
		return;
	if (n > 16) {
		b->overflow = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		be[i] = htonl(ips[i]);
	dhcp_opt_put(b, code, be, 4 * n);
}

int dhcp_build_finish(struct dhcp_builder *b)
{
	if (b->overflow || b->len + 1 > sizeof(b->buf))
		return -EMSGSIZE;
	b->buf[b->len++] = DHCP_OPT_END;
	if (b->len < DHCP_MIN_LEN)
		b->len = DHCP_MIN_LEN; /* the buffer was zeroed: PAD */
	return (int)b->len;
}

struct find_ctx {
	uint8_t code;
	const uint8_t *data;
	size_t len;
};

static int find_opt(uint8_t code, const uint8_t *d, size_t len, void *arg)
{
	struct find_ctx *f = arg;

	if (code != f->code)
		return 0;
	f->data = d;
	f->len = len;
	return 1;
}

const uint8_t *dhcp_opt_find(const uint8_t *pkt, size_t len, uint8_t code, size_t *optlen)
{
	struct find_ctx f = {.code = code};

	if (len < DHCP_HDR_LEN)
		return NULL;
	if (opt_walk(pkt + DHCP_HDR_LEN, len - DHCP_HDR_LEN, find_opt, &f) != 1)
		return NULL;
	if (optlen)
		*optlen = f.len;
	return f.data;
}
