/* --net user's metadata service and link-local filter
 * (devices/virtio/net_user_mdata.c), frames in and out of the fake rings,
 * a real libslirp:
 *  - TCP to 169.254.169.254:80: the handshake is answered from
 *    169.254.169.254 (checksums valid after the rewrite), and a GET of
 *    /latest/meta-data/instance-id returns the VM's UUID;
 *  - two connections at once, requests interleaved: each gets its own
 *    answer (instance-id on one, the default hostname on the other);
 *  - a POST is answered 405 and closed; a head over 8 KiB, 431;
 *  - 12 connections at once: 8 (MDATA_CONN_PER_PEER) are served, the
 *    others closed at once, the device's thread never stalls;
 *  - SYNs to 169.254.169.254:22, 169.254.1.1:80, UDP to
 *    169.254.169.254:53, IPv6 to ::ffff:169.254.169.254 and fd00:ec2::254,
 *    TCP to the
 *    alias 10.0.2.4:80 never reach slirp: dropped, counted, no answer;
 *    with no identity (no service) port 80 is dropped too;
 *  - an ARP request for 169.254.169.254 is answered. */
#include "tests/virtio/user_fixture.h"

#include "devices/virtio/net.h"
#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_user.h"
#include "net/mdata_conn.h"

#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <unistd.h>

/* The EC2 tree serves i-UUID (what CirrOS's ec2 data source accepts). */
#define EC2_ID "i-5f1c0de4-9a3b-4c2d-8e7f-0123456789ab"

#define GUEST "10.0.2.15"
#define MDATA "169.254.169.254"

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* The TCP/UDP checksum of the L4 segment S (LEN bytes) over the IPv4 or
 * IPv6 pseudo-header of addresses A (ALEN bytes each, src then dst). */
static uint16_t l4_sum(const uint8_t *addrs, size_t alen, uint8_t proto, const uint8_t *s,
		       size_t len)
{
	uint8_t buf[2048] = { 0 };
	ck_assert_uint_le(2 * alen + 8 + len, sizeof(buf));
	memcpy(buf, addrs, 2 * alen);
	put32(buf + 2 * alen, (uint32_t)len);
	buf[2 * alen + 7] = proto;
	memcpy(buf + 2 * alen + 8, s, len);
	return ip_sum(buf, 2 * alen + 8 + ((len + 1) & ~(size_t)1));
}

/* An IPv4 TCP (PROTO 6, FLAGS, SEQ, ACK) or UDP (PROTO 17) frame from
 * GUEST to DST through the gateway's MAC. */
static size_t ip_frame(uint8_t *f, uint8_t proto, const char *dst, uint16_t sport,
		       uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	size_t dlen = data ? strlen(data) : 0, l4 = (proto == 6 ? 20 : 8) + dlen;
	memset(f, 0, 14 + 20 + l4 + 1);
	eth(f, slirp_mac, 0x0800);
	uint8_t *ip = f + 14, *t = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4));
	put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, GUEST, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	put16(ip + 10, ip_sum(ip, 20));
	put16(t, sport);
	put16(t + 2, dport);
	if (proto == 6) {
		put32(t + 4, seq);
		put32(t + 8, ack);
		t[12] = 5 << 4;
		t[13] = flags;
		put16(t + 14, 65535);
		memcpy(t + 20, data ? data : "", dlen);
		put16(t + 16, l4_sum(ip + 12, 4, 6, t, l4));
	} else {
		put16(t + 4, (uint16_t)l4);
		memcpy(t + 8, data ? data : "", dlen);
		put16(t + 6, l4_sum(ip + 12, 4, 17, t, l4));
	}
	return 14 + 20 + l4;
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08
#define FIN 0x01
#define RST 0x04

static unsigned txi;	/* next TX descriptor pair */

static void send_frame(const uint8_t *f, size_t len)
{
	uint32_t id, l;
	post_tx(txi++ % (QSZ / 2), f, (uint32_t)len);
	do_kick(1);
	for (int i = 0; i < 2000 && !vdrv_get_used(&txd, &id, &l); i++)
		usleep(1000);
}

static void send_tcp(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	uint8_t f[1600];
	send_frame(f, ip_frame(f, 6, MDATA, sport, 80, seq, ack, flags, data));
}

/* One guest connection as the test sees it. */
struct flow {
	uint16_t port;
	uint32_t seq;		/* ours, next */
	uint32_t rcv;		/* theirs, next expected */
	bool synack, fin;
	char data[4096];
	size_t len;
};

/* The next IPv4 TCP frame for the guest, its checksums checked, the
 * buffer back on the ring; NULL after MS ms. */
static bool next_tcp(uint8_t *copy, size_t *clen, int ms)
{
	uint32_t len;
	for (;;) {
		const uint8_t *r = wait_rx(&len, ms);
		if (!r)
			return false;
		uint32_t id = 0;
		for (unsigned i = 0; i < QSZ; i++)
			if (rx_gpa[i] && r == (const uint8_t *)vdrv_hva(&rxd, rx_gpa[i]) + NET_HDR_LEN)
				id = i;
		memcpy(copy, r, len);
		*clen = len;
		post_rx(id);
		if (get16(copy + 12) == 0x0800 && copy[14 + 9] == 6)
			break;
	}
	const uint8_t *ip = copy + 14;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4, tot = get16(ip + 2);
	ck_assert_uint_eq(ip_sum(ip, ihl), 0);
	ck_assert_uint_eq(l4_sum(ip + 12, 4, 6, ip + ihl, tot - ihl), 0);
	return true;
}

/* Frames until every flow has its FIN, data acknowledged as it comes. */
static void collect(struct flow *fl, unsigned nfl)
{
	uint8_t f[1600];
	size_t len;
	unsigned done = 0;
	while (done < nfl) {
		ck_assert_msg(next_tcp(f, &len, 5000), "no reply from the metadata service");
		const uint8_t *ip = f + 14, *t = ip + (ip[0] & 0xf) * 4;
		ck_assert_mem_eq(ip + 12, "\xa9\xfe\xa9\xfe", 4);	/* from 169.254.169.254 */
		ck_assert_uint_eq(get16(t), 80);
		struct flow *w = NULL;
		for (unsigned i = 0; i < nfl; i++)
			if (fl[i].port == get16(t + 2))
				w = &fl[i];
		ck_assert_ptr_nonnull(w);
		size_t hl = (size_t)(t[12] >> 4) * 4, dl = get16(ip + 2) - (size_t)(t - ip) - hl;
		uint32_t seq = get32(t + 4);
		if (!w->fin && (t[13] & RST)) {	/* refused: ends the flow too */
			w->fin = true;
			done++;
			continue;
		}
		if (seq != w->rcv || w->fin)
			continue;	/* a retransmission */
		ck_assert_uint_le(w->len + dl, sizeof(w->data) - 1);
		memcpy(w->data + w->len, t + hl, dl);
		w->len += dl;
		w->rcv += (uint32_t)dl;
		if (t[13] & FIN) {
			w->rcv++;
			w->fin = true;
			done++;
		}
		if (dl || (t[13] & FIN))
			send_tcp(w->port, w->seq, w->rcv, ACK, NULL);
	}
}

static void handshake(struct flow *w)
{
	uint8_t f[1600];
	size_t len;
	w->seq = 1000u * w->port;
	send_tcp(w->port, w->seq++, 0, SYN, NULL);
	const uint8_t *ip, *t;
	do {	/* another flow's frames: slirp sends them again later */
		ck_assert_msg(next_tcp(f, &len, 3000), "no SYN-ACK from 169.254.169.254:80");
		ip = f + 14;
		t = ip + (ip[0] & 0xf) * 4;
	} while (get16(t + 2) != w->port);
	ck_assert_mem_eq(ip + 12, "\xa9\xfe\xa9\xfe", 4);
	ck_assert_uint_eq(get16(t), 80);
	ck_assert_uint_eq(t[13] & (SYN | ACK), SYN | ACK);
	ck_assert_uint_eq(get32(t + 8), w->seq);
	w->rcv = get32(t + 4) + 1;
	send_tcp(w->port, w->seq, w->rcv, ACK, NULL);
}

static void request(struct flow *w, const char *req)
{
	send_tcp(w->port, w->seq, w->rcv, PSH | ACK, req);
	w->seq += (uint32_t)strlen(req);
}

/* ARP: slirp learns the guest's MAC (it answers the guest's question). */
static void boot_guest(const char *spec, const struct vnet_user_identity *id)
{
	uint8_t f[64];
	uint32_t len;
	make_with(spec, id);
	start(true);
	for (unsigned i = 0; i < 64; i++)
		post_rx(i);
	send_frame(f, arp(f, 1, GUEST, "10.0.2.2", NULL));
	ck_assert_ptr_nonnull(wait_rx(&len, 3000));
}

static const char *body_of(const struct flow *w)
{
	const char *b = strstr(w->data, "\r\n\r\n");
	ck_assert_ptr_nonnull(b);
	return b + 4;
}

START_TEST(get_instance_id)
{
	struct flow w = { .port = 40000 };
	boot_guest("user", &test_ident);
	handshake(&w);
	request(&w, "GET /latest/meta-data/instance-id HTTP/1.0\r\nHost: " MDATA "\r\n\r\n");
	collect(&w, 1);
	ck_assert_msg(!strncmp(w.data, "HTTP/1.1 200 ", 13), "got: %s", w.data);
	ck_assert_str_eq(body_of(&w), EC2_ID);
	vnet_reset(n);
	ck_assert_uint_eq(vnet_user_mdata_requests(user), 1);
	ck_assert_uint_eq(vnet_user_mdata_blocked(user), 0);
	teardown();
}
END_TEST

START_TEST(concurrent_connections_keep_their_streams)
{
	struct flow w[2] = { { .port = 40001 }, { .port = 40002 } };
	boot_guest("user", &test_ident);
	handshake(&w[0]);
	handshake(&w[1]);
	/* the second's request first, the first's in two pieces around it */
	request(&w[0], "GET /latest/meta-data/ins");
	request(&w[1], "GET /latest/meta-data/hostname HTTP/1.0\r\n\r\n");
	request(&w[0], "tance-id HTTP/1.0\r\n\r\n");
	collect(w, 2);
	ck_assert_str_eq(body_of(&w[0]), EC2_ID);
	ck_assert_str_eq(body_of(&w[1]), "minivmm-5f1c0de4");	/* the default hostname */
	teardown();
}
END_TEST

START_TEST(post_refused)
{
	struct flow w = { .port = 40003 };
	boot_guest("user", &test_ident);
	handshake(&w);
	request(&w, "POST /latest/user-data HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	collect(&w, 1);
	ck_assert_msg(!strncmp(w.data, "HTTP/1.1 405 ", 13), "got: %s", w.data);
	teardown();
}
END_TEST

START_TEST(oversized_head_refused)
{
	struct flow w = { .port = 40004 };
	char chunk[1401];
	boot_guest("user", &test_ident);
	handshake(&w);
	request(&w, "GET /latest/meta-data/ HTTP/1.1\r\nX-Pad: ");
	memset(chunk, 'a', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = 0;
	for (int i = 0; i < 7; i++)	/* 9800 bytes, no end of head */
		request(&w, chunk);
	collect(&w, 1);
	ck_assert_msg(!strncmp(w.data, "HTTP/1.1 431 ", 13), "got: %.200s", w.data);
	teardown();
}
END_TEST

START_TEST(connections_bounded)
{
	enum { N = MDATA_CONN_PER_PEER + 4 };
	struct flow w[N];
	boot_guest("user", &test_ident);
	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < N; i++) {
		w[i].port = (uint16_t)(42000 + i);
		handshake(&w[i]);
	}
	for (unsigned i = 0; i < N; i++)
		request(&w[i], "GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n");
	collect(w, N);
	unsigned served = 0, empty = 0;
	for (unsigned i = 0; i < N; i++) {
		if (w[i].len && strstr(w[i].data, "HTTP/1.1 200 ")) {
			ck_assert_str_eq(body_of(&w[i]), EC2_ID);
			served++;
		}
		empty += w[i].len == 0;
	}
	ck_assert_uint_eq(served, MDATA_CONN_PER_PEER);
	ck_assert_uint_eq(empty, N - MDATA_CONN_PER_PEER);
	teardown();
}
END_TEST

/* Nothing for the guest within MS ms but IPv6 (slirp's RAs) or ARP. */
static void no_answer(int ms)
{
	uint8_t f[1600];
	size_t len;
	ck_assert_msg(!next_tcp(f, &len, ms), "an answer came back");
}

/* A TCP SYN from the guest's fec0:: address to DST port 80. */
static size_t tcp6_syn(uint8_t *f, const char *dst)
{
	uint8_t *h = f + 14, *t = h + 40;
	memset(f, 0, 14 + 40 + 20);
	eth(f, slirp_mac, 0x86dd);
	h[0] = 0x60;
	put16(h + 4, 20);
	h[6] = 6;
	h[7] = 64;
	inet_pton(AF_INET6, "fec0::5054:ff:fe12:3456", h + 8);
	ck_assert_int_eq(inet_pton(AF_INET6, dst, h + 24), 1);
	put16(t, 41004);
	put16(t + 2, 80);
	put32(t + 4, 1);
	t[12] = 5 << 4;
	t[13] = SYN;
	put16(t + 14, 65535);
	put16(t + 16, l4_sum(h + 8, 16, 6, t, 20));
	return 14 + 40 + 20;
}

START_TEST(link_local_never_reaches_slirp)
{
	uint8_t f[1600];
	boot_guest("user", &test_ident);
	send_frame(f, ip_frame(f, 6, MDATA, 41000, 22, 1, 0, SYN, NULL));
	send_frame(f, ip_frame(f, 6, "169.254.1.1", 41001, 80, 1, 0, SYN, NULL));
	send_frame(f, ip_frame(f, 17, MDATA, 41002, 53, 0, 0, 0, "q"));
	send_frame(f, ip_frame(f, 6, "10.0.2.4", 41003, 80, 1, 0, SYN, NULL));

	/* IPv6 TCP to ::ffff:169.254.169.254 (a host socket would go IPv4)
	 * and to EC2's IPv6 metadata address */
	send_frame(f, tcp6_syn(f, "::ffff:" MDATA));
	send_frame(f, tcp6_syn(f, "fd00:ec2::254"));

	no_answer(1500);	/* no SYN-ACK, no RST: slirp never saw them */
	vnet_reset(n);
	ck_assert_uint_eq(vnet_user_mdata_blocked(user), 6);
	teardown();
}
END_TEST

START_TEST(no_identity_no_service)
{
	uint8_t f[1600];
	boot_guest("user", NULL);
	send_frame(f, ip_frame(f, 6, MDATA, 41005, 80, 1, 0, SYN, NULL));
	no_answer(1000);
	vnet_reset(n);
	ck_assert_uint_eq(vnet_user_mdata_blocked(user), 1);
	teardown();
}
END_TEST

START_TEST(arp_for_the_service)
{
	uint8_t f[64];
	uint32_t len;
	boot_guest("user", &test_ident);
	send_frame(f, arp(f, 1, GUEST, MDATA, NULL));
	const uint8_t *r = wait_rx(&len, 3000);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(get16(r + 12), 0x0806);
	ck_assert_uint_eq(get16(r + 20), 2);
	ck_assert_mem_eq(r, guest_mac, 6);
	ck_assert_mem_eq(r + 22, "\x52\x55\xa9\xfe\xa9\xfe", 6);
	ck_assert_mem_eq(r + 28, "\xa9\xfe\xa9\xfe", 4);
	ck_assert_mem_eq(r + 38, "\x0a\x00\x02\x0f", 4);
	teardown();
}
END_TEST

TCase *tcase_net_user_mdata(void)
{
	TCase *tc = tcase_create("net_user_mdata");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, get_instance_id);
	tcase_add_test(tc, concurrent_connections_keep_their_streams);
	tcase_add_test(tc, post_refused);
	tcase_add_test(tc, oversized_head_refused);
	tcase_add_test(tc, connections_bounded);
	tcase_add_test(tc, link_local_never_reaches_slirp);
	tcase_add_test(tc, no_identity_no_service);
	tcase_add_test(tc, arp_for_the_service);
	return tc;
}
