/* DHCP message parsing, option encoding and malformed packets. */
#include "net/dhcp_msg.h"
#include "tests/net/dhcp_client_pkt.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static struct client_pkt discover(void)
{
	struct client_pkt p;
	cpkt_start(&p, DHCPDISCOVER, 0xdeadbeef, MAC, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, 0xc0a864aa);
	cpkt_opt(&p, DHCP_OPT_HOSTNAME, "cirros", 6);
	cpkt_end(&p);
	return p;
}

START_TEST(parse_discover)
{
	struct client_pkt p = discover();
	struct dhcp_request r;

	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	ck_assert_int_eq(r.type, DHCPDISCOVER);
	ck_assert_uint_eq(r.xid, 0xdeadbeef);
	ck_assert_uint_eq(r.flags, DHCP_FLAG_BROADCAST);
	ck_assert_mem_eq(r.mac, MAC, 6);
	ck_assert_uint_eq(r.requested_ip, 0xc0a864aa);
	ck_assert(!r.has_server_id);
	ck_assert_str_eq(r.hostname, "cirros");
}
END_TEST

START_TEST(parse_server_id_and_pad)
{
	struct client_pkt p;
	struct dhcp_request r;
	uint8_t pad[3] = {0, 0, 0};

	cpkt_start(&p, DHCPREQUEST, 1, MAC, 0);
	memcpy(p.buf + p.len, pad, 3);
	p.len += 3;
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, 0xc0a864fe);
	cpkt_end(&p);
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	ck_assert(r.has_server_id);
	ck_assert_uint_eq(r.server_id, 0xc0a864fe);
}
END_TEST

START_TEST(parse_hostname_sanitised)
{
	struct client_pkt p;
	struct dhcp_request r;

	cpkt_start(&p, DHCPDISCOVER, 1, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_HOSTNAME, "a b\nc;d", 7);
	cpkt_end(&p);
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	ck_assert_str_eq(r.hostname, "abcd");
}
END_TEST

START_TEST(parse_overload_file)
{
	struct client_pkt p;
	struct dhcp_request r;
	uint8_t ov = 1;

	cpkt_start(&p, DHCPREQUEST, 1, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_OVERLOAD, &ov, 1);
	cpkt_end(&p);
	/* option 50 carried in the 'file' field (offset 108) */
	uint8_t *file = p.buf + 108;
	file[0] = DHCP_OPT_REQUESTED_IP;
	file[1] = 4;
	file[2] = 10;
	file[3] = 0;
	file[4] = 0;
	file[5] = 7;
	file[6] = DHCP_OPT_END;
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	ck_assert_uint_eq(r.requested_ip, 0x0a000007);
}
END_TEST

START_TEST(reject_truncated_header)
{
	struct client_pkt p = discover();
	struct dhcp_request r;

	for (size_t n = 0; n < DHCP_HDR_LEN; n += 7)
		ck_assert_int_eq(dhcp_msg_parse(p.buf, n, &r), -EBADMSG);
	ck_assert_int_eq(dhcp_msg_parse(NULL, 0, &r), -EBADMSG);
}
END_TEST

START_TEST(reject_truncated_option)
{
	struct client_pkt p = discover();
	struct dhcp_request r;

	/* Cut inside the hostname option: its length runs past the end. */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len - 3, &r), -EBADMSG);
	/* Cut after a code byte with no length byte. */
	p.buf[p.len - 1] = DHCP_OPT_HOSTNAME;
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
}
END_TEST

START_TEST(reject_bad_fields)
{
	struct client_pkt p = discover();
	struct dhcp_request r;

	p.buf[0] = 2; /* BOOTREPLY */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	p = discover();
	p.buf[2] = 16; /* hlen */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	p = discover();
	p.buf[236] ^= 0xff; /* magic cookie */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	p = discover();
	p.buf[242] = 9; /* message type out of range */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	p = discover();
	p.buf[241] = 2; /* message type with length 2 */
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
}
END_TEST

START_TEST(reject_missing_type)
{
	struct client_pkt p = discover();
	struct dhcp_request r;

	p.buf[240] = DHCP_OPT_PAD;
	p.buf[241] = DHCP_OPT_PAD;
	p.buf[242] = DHCP_OPT_PAD;
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
}
END_TEST

START_TEST(reject_bad_option_lengths)
{
	struct client_pkt p;
	struct dhcp_request r;
	uint8_t three[3] = {1, 2, 3};

	cpkt_start(&p, DHCPREQUEST, 1, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_REQUESTED_IP, three, 3);
	cpkt_end(&p);
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	cpkt_start(&p, DHCPREQUEST, 1, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_SERVER_ID, three, 3);
	cpkt_end(&p);
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
	uint8_t ov = 7;
	cpkt_start(&p, DHCPREQUEST, 1, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_OVERLOAD, &ov, 1);
	cpkt_end(&p);
	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), -EBADMSG);
}
END_TEST

/* An independent model of RFC 2131/2132 option parsing, the oracle for the
 * random-garbage test: what dhcp_msg_parse() must accept and what it must
 * report for an accepted packet. */
struct model {
	bool ok, seen_type;
	uint8_t type, overload;
	uint32_t requested_ip, server_id;
	bool has_server_id;
	char hostname[DHCP_HOSTNAME_MAX + 1];
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool model_area(struct model *m, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		if (p[i] == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (p[i] == DHCP_OPT_END)
			return true;
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return false; /* no length byte, or data past the end */
		uint8_t code = p[i], n = p[i + 1];
		const uint8_t *d = p + i + 2;
		if ((code == DHCP_OPT_MSG_TYPE && (n != 1 || d[0] < 1 || d[0] > 8)) ||
		    ((code == DHCP_OPT_REQUESTED_IP || code == DHCP_OPT_SERVER_ID) && n != 4) ||
		    (code == DHCP_OPT_OVERLOAD && (n != 1 || d[0] < 1 || d[0] > 3)))
			return false;
		if (code == DHCP_OPT_MSG_TYPE) {
			m->type = d[0];
			m->seen_type = true;
		} else if (code == DHCP_OPT_REQUESTED_IP) {
			m->requested_ip = be32(d);
		} else if (code == DHCP_OPT_SERVER_ID) {
			m->server_id = be32(d);
			m->has_server_id = true;
		} else if (code == DHCP_OPT_OVERLOAD) {
			m->overload = d[0];
		} else if (code == DHCP_OPT_HOSTNAME) {
			size_t k = 0;
			for (size_t j = 0; j < n && k < DHCP_HOSTNAME_MAX; j++)
				if (host_char(d[j]))
					m->hostname[k++] = (char)d[j];
			m->hostname[k] = '\0';
		}
		i += 2 + (size_t)n;
	}
	return true;
}

static struct model model_parse(const uint8_t *pkt, size_t len)
{
	struct model m;
	memset(&m, 0, sizeof(m));
	m.ok = model_area(&m, pkt + DHCP_HDR_LEN, len - DHCP_HDR_LEN) &&
	       (!(m.overload & 1) || model_area(&m, pkt + 108, 128)) &&
	       (!(m.overload & 2) || model_area(&m, pkt + 44, 64)) && m.seen_type;
	return m;
}

/* A REQUEST with option overload: more options in 'file' and 'sname'. */
static struct client_pkt overloaded(void)
{
	struct client_pkt p;
	uint8_t ov = 3;
	cpkt_start(&p, DHCPREQUEST, 0xdeadbeef, MAC, 0);
	cpkt_opt(&p, DHCP_OPT_OVERLOAD, &ov, 1);
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, 0xc0a864fe);
	cpkt_end(&p);
	const uint8_t file[] = {DHCP_OPT_REQUESTED_IP, 4, 192, 168, 100, 7, DHCP_OPT_END};
	const uint8_t sname[] = {DHCP_OPT_HOSTNAME, 3, 'v', 'm', '1', DHCP_OPT_END};
	memcpy(p.buf + 108, file, sizeof(file));
	memcpy(p.buf + 44, sname, sizeof(sname));
	return p;
}

START_TEST(random_garbage_matches_model)
{
	const struct client_pkt base[2] = {discover(), overloaded()};
	struct dhcp_request r;
	unsigned seed = 1234, accepted = 0, rejected = 0;

	/* Change a few bytes in the option areas (and sometimes cut the
	 * packet short); every outcome must be the model's: a rejection
	 * exactly when the model rejects, and otherwise the same fields. */
	for (int i = 0; i < 20000; i++) {
		struct client_pkt q = base[i % 2];
		size_t n = DHCP_HDR_LEN + (size_t)rand_r(&seed) % (q.len - DHCP_HDR_LEN + 1);
		if (i % 3)
			n = q.len;
		for (int k = 0; k < 1 + i % 4; k++) {
			size_t at = (size_t)rand_r(&seed) % (q.len - DHCP_HDR_LEN + 128 + 64);
			at = at < q.len - DHCP_HDR_LEN	       ? DHCP_HDR_LEN + at
			     : at < q.len - DHCP_HDR_LEN + 128 ? 108 + at - (q.len - DHCP_HDR_LEN)
							       : 44 + at - (q.len - DHCP_HDR_LEN + 128);
			/* small values often: they are the codes and lengths */
			q.buf[at] = (uint8_t)(rand_r(&seed) % 2 ? rand_r(&seed) % 8 : rand_r(&seed));
		}
		struct model m = model_parse(q.buf, n);
		int rc = dhcp_msg_parse(q.buf, n, &r);
		if (!m.ok) {
			ck_assert_msg(rc == -EBADMSG, "iteration %d: accepted, model rejects", i);
			rejected++;
			continue;
		}
		ck_assert_msg(rc == 0, "iteration %d: rejected (%d), model accepts", i, rc);
		accepted++;
		ck_assert_uint_eq(r.type, m.type);
		ck_assert_uint_eq(r.requested_ip, m.requested_ip);
		ck_assert_int_eq(r.has_server_id, m.has_server_id);
		ck_assert_uint_eq(r.server_id, m.server_id);
		ck_assert_str_eq(r.hostname, m.hostname);
		ck_assert_uint_eq(r.xid, 0xdeadbeef);
		ck_assert_mem_eq(r.mac, MAC, 6);
	}
	/* both outcomes well exercised */
	ck_assert_uint_gt(accepted, 2000);
	ck_assert_uint_gt(rejected, 2000);
}
END_TEST

START_TEST(build_reply_options)
{
	struct client_pkt p = discover();
	struct dhcp_request r;
	struct dhcp_builder b;
	uint32_t dns[2] = {0x01010101, 0x08080808};
	size_t n;

	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	dhcp_build_start(&b, &r, DHCPOFFER, 0xc0a86480, 0xc0a864fe);
	dhcp_opt_u32(&b, DHCP_OPT_LEASE_TIME, 3600);
	dhcp_opt_u16(&b, DHCP_OPT_MTU, 1500);
	dhcp_opt_ips(&b, DHCP_OPT_DNS, dns, 2);
	int len = dhcp_build_finish(&b);
	ck_assert_int_eq(len, DHCP_MIN_LEN);

	const struct dhcp_hdr *h = (const void *)b.buf;
	ck_assert_int_eq(h->op, 2);
	ck_assert_uint_eq(ntohl(h->xid), 0xdeadbeef);
	ck_assert_uint_eq(ntohl(h->yiaddr), 0xc0a86480);
	ck_assert_mem_eq(h->chaddr, MAC, 6);
	const uint8_t *o = dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_MSG_TYPE, &n);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(o[0], DHCPOFFER);
	o = dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_SERVER_ID, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(o[0], 192);
	ck_assert_int_eq(o[3], 254);
	o = dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_LEASE_TIME, &n);
	ck_assert_int_eq(o[2], 0x0e);
	ck_assert_int_eq(o[3], 0x10);
	o = dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_MTU, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(o[0] << 8 | o[1], 1500);
	o = dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_DNS, &n);
	ck_assert_uint_eq(n, 8);
	ck_assert_int_eq(o[4], 8);
	ck_assert_ptr_null(dhcp_opt_find(b.buf, (size_t)len, DHCP_OPT_ROUTER, &n));
}
END_TEST

START_TEST(build_overflow_refused)
{
	struct client_pkt p = discover();
	struct dhcp_request r;
	struct dhcp_builder b;
	uint8_t big[255] = {0};

	ck_assert_int_eq(dhcp_msg_parse(p.buf, p.len, &r), 0);
	dhcp_build_start(&b, &r, DHCPACK, 1, 2);
	for (int i = 0; i < 10; i++)
		dhcp_opt_put(&b, 200, big, sizeof(big));
	ck_assert_int_eq(dhcp_build_finish(&b), -EMSGSIZE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dhcp_msg");
	TCase *tc = tcase_create("msg");

	tcase_add_test(tc, parse_discover);
	tcase_add_test(tc, parse_server_id_and_pad);
	tcase_add_test(tc, parse_hostname_sanitised);
	tcase_add_test(tc, parse_overload_file);
	tcase_add_test(tc, reject_truncated_header);
	tcase_add_test(tc, reject_truncated_option);
	tcase_add_test(tc, reject_bad_fields);
	tcase_add_test(tc, reject_missing_type);
	tcase_add_test(tc, reject_bad_option_lengths);
	tcase_add_test(tc, random_garbage_matches_model);
	tcase_add_test(tc, build_reply_options);
	tcase_add_test(tc, build_overflow_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
