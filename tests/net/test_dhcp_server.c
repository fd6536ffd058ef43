/* The DHCP protocol engine: full exchanges, NAK, INFORM, RELEASE, DECLINE,
 * exhaustion and malformed packets, through dhcp_server_handle(). */
#include "net/dhcp_server.h"
#include "tests/net/dhcp_client_pkt.h"
#include "vmm/log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define IP(d) (0xc0a86400u | (d))

static struct dhcp_server *srv;
static char leasefile[64];
static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01};
static struct dhcp_host host = {.mac = {0x52, 0x54, 0x00, 0, 0, 0x77}, .ip = IP(5), .name = "db"};

static void new_server(uint32_t start, uint32_t end)
{
	struct dhcp_server_cfg cfg = {
	    .name = "vbr",
	    .server_ip = IP(254),
	    .netmask = 0xffffff00,
	    .router = IP(254),
	    .dns = {0x0a000001},
	    .ndns = 1,
	    .lease_secs = 3600,
	    .mtu = 1400,
	    .pool = {.start = start, .end = end, .server_ip = IP(254), .hosts = &host, .nhosts = 1},
	    .lease_path = leasefile,
	};
	ck_assert_int_eq(dhcp_server_new(&srv, &cfg, 1000), 0);
}

static void setup(void)
{
	log_set_quiet(true);
	snprintf(leasefile, sizeof(leasefile), "/tmp/mvdhcp-%d.leases", getpid());
	unlink(leasefile);
	new_server(IP(128), IP(200));
}

static void teardown(void)
{
	dhcp_server_free(srv);
	unlink(leasefile);
}

static uint32_t opt_ip(const struct dhcp_reply *r, uint8_t code)
{
	size_t n;
	const uint8_t *o = dhcp_opt_find(r->buf, r->len, code, &n);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(n, 4);
	return (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[2] << 8 | o[3];
}

static int reply_type(const struct dhcp_reply *r)
{
	size_t n;
	const uint8_t *o = dhcp_opt_find(r->buf, r->len, DHCP_OPT_MSG_TYPE, &n);
	ck_assert_ptr_nonnull(o);
	return o[0];
}

static uint32_t yiaddr(const struct dhcp_reply *r)
{
	return ntohl(((const struct dhcp_hdr *)(const void *)r->buf)->yiaddr);
}

static int send_pkt(struct client_pkt *p, time_t now, struct dhcp_reply *r)
{
	cpkt_end(p);
	return dhcp_server_handle(srv, p->buf, p->len, now, r);
}

/* DISCOVER -> OFFER -> REQUEST -> ACK; returns the address. */
static uint32_t exchange(const uint8_t mac[6], time_t now)
{
	struct client_pkt p;
	struct dhcp_reply r;

	cpkt_start(&p, DHCPDISCOVER, 42, mac, 0);
	ck_assert_int_eq(send_pkt(&p, now, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPOFFER);
	uint32_t ip = yiaddr(&r);
	cpkt_start(&p, DHCPREQUEST, 43, mac, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, ip);
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, IP(254));
	ck_assert_int_eq(send_pkt(&p, now, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPACK);
	ck_assert_uint_eq(yiaddr(&r), ip);
	/* as the serving loop does before sending a new binding's ACK */
	if (r.needs_commit)
		ck_assert_int_eq(dhcp_server_flush(srv), 0);
	return ip;
}

START_TEST(discover_offer_options)
{
	struct client_pkt p;
	struct dhcp_reply r;
	size_t n;

	cpkt_start(&p, DHCPDISCOVER, 7, MAC, 0);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPOFFER);
	ck_assert_uint_eq(r.dst_ip, 0xffffffffu);
	ck_assert_uint_eq(r.dst_port, 68);
	uint32_t ip = yiaddr(&r);
	ck_assert(ip >= IP(128) && ip <= IP(200));
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_SERVER_ID), IP(254));
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_SUBNET_MASK), 0xffffff00);
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_ROUTER), IP(254));
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_DNS), 0x0a000001);
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_BROADCAST), IP(255));
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_LEASE_TIME), 3600);
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_RENEWAL_T1), 1800);
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_REBINDING_T2), 3150);
	const uint8_t *mtu = dhcp_opt_find(r.buf, r.len, DHCP_OPT_MTU, &n);
	ck_assert_ptr_nonnull(mtu);
	ck_assert_int_eq(mtu[0] << 8 | mtu[1], 1400);
	ck_assert_ptr_null(dhcp_opt_find(r.buf, r.len, DHCP_OPT_HOSTNAME, &n));
	ck_assert_ptr_null(dhcp_opt_find(r.buf, r.len, DHCP_OPT_CLASSLESS_ROUTE, &n));
	ck_assert_uint_eq(dhcp_server_stats(srv)->offers, 1);
}
END_TEST

/* An isolated network: no router, but a route to the metadata service. */
START_TEST(isolated_gets_metadata_route)
{
	struct client_pkt p;
	struct dhcp_reply r;
	size_t n;
	struct dhcp_server_cfg cfg = {
	    .name = "iso", .server_ip = IP(254), .netmask = 0xffffff00,
	    .mdata_gateway = IP(254), .lease_secs = 3600,
	    .pool = {.start = IP(128), .end = IP(200), .server_ip = IP(254)},
	};
	dhcp_server_free(srv);
	ck_assert_int_eq(dhcp_server_new(&srv, &cfg, 1000), 0);
	cpkt_start(&p, DHCPDISCOVER, 7, MAC, 0);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_ptr_null(dhcp_opt_find(r.buf, r.len, DHCP_OPT_ROUTER, &n));
	const uint8_t *rt = dhcp_opt_find(r.buf, r.len, DHCP_OPT_CLASSLESS_ROUTE, &n);
	ck_assert_ptr_nonnull(rt);
	const uint8_t want[9] = { 32, 169, 254, 169, 254, IP(254) >> 24, (IP(254) >> 16) & 0xff,
				  (IP(254) >> 8) & 0xff, IP(254) & 0xff };
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(rt, want, sizeof(want));
}
END_TEST

START_TEST(full_exchange_and_renew)
{
	struct client_pkt p;
	struct dhcp_reply r;

	uint32_t ip = exchange(MAC, 1000);
	/* RENEWING: ciaddr set, no option 50/54; the ACK is unicast. */
	cpkt_start(&p, DHCPREQUEST, 44, MAC, ip);
	ck_assert_int_eq(send_pkt(&p, 2800, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPACK);
	ck_assert_uint_eq(r.dst_ip, ip);
	ck_assert(!r.needs_commit); /* a renewal: flushed later */
	ck_assert(dhcp_leases_dirty(dhcp_server_leases(srv)));
	ck_assert_uint_eq(dhcp_server_stats(srv)->acks, 2);
	/* the renewal is persisted on flush */
	ck_assert_int_eq(dhcp_server_flush(srv), 0);
	ck_assert(!dhcp_leases_dirty(dhcp_server_leases(srv)));
}
END_TEST

START_TEST(new_binding_needs_commit)
{
	struct client_pkt p;
	struct dhcp_reply r;

	cpkt_start(&p, DHCPREQUEST, 5, MAC, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, IP(140));
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPACK);
	ck_assert(r.needs_commit);
	/* not on disk until the loop commits */
	ck_assert_int_eq(access(leasefile, F_OK), -1);
	ck_assert_int_eq(dhcp_server_flush(srv), 0);
	FILE *f = fopen(leasefile, "r");
	char line[128] = "";
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "4600 52:54:00:aa:bb:01 192.168.100.140 *\n");
}
END_TEST

START_TEST(static_host_gets_name)
{
	struct dhcp_reply r;
	struct client_pkt p;
	size_t n;

	ck_assert_uint_eq(exchange(host.mac, 1000), IP(5));
	cpkt_start(&p, DHCPDISCOVER, 1, host.mac, 0);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	const uint8_t *name = dhcp_opt_find(r.buf, r.len, DHCP_OPT_HOSTNAME, &n);
	ck_assert_ptr_nonnull(name);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(name, "db", 2);
}
END_TEST

START_TEST(restart_same_address)
{
	uint8_t other[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02};
	uint32_t ip = exchange(MAC, 1000);
	uint32_t ip2 = exchange(other, 1000);

	dhcp_server_free(srv);
	new_server(IP(128), IP(200));
	ck_assert_uint_eq(exchange(other, 50000), ip2);
	ck_assert_uint_eq(exchange(MAC, 50000), ip);
}
END_TEST

START_TEST(request_wrong_address_nak)
{
	struct client_pkt p;
	struct dhcp_reply r;
	uint8_t other[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02};

	uint32_t ip = exchange(MAC, 1000);
	/* INIT-REBOOT asking for someone else's address */
	cpkt_start(&p, DHCPREQUEST, 5, other, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, ip);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPNAK);
	ck_assert_uint_eq(r.dst_ip, 0xffffffffu);
	ck_assert_uint_eq(yiaddr(&r), 0);
	/* ... and for an address on another network */
	cpkt_start(&p, DHCPREQUEST, 6, other, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, 0x0a000005);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPNAK);
	ck_assert_uint_eq(dhcp_server_stats(srv)->naks, 2);
}
END_TEST

START_TEST(request_for_other_server_ignored)
{
	struct client_pkt p;
	struct dhcp_reply r;

	cpkt_start(&p, DHCPREQUEST, 5, MAC, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, IP(130));
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, IP(1));
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 0);
	ck_assert_uint_eq(dhcp_server_stats(srv)->ignored, 1);
}
END_TEST

START_TEST(inform_gets_config_no_lease)
{
	struct client_pkt p;
	struct dhcp_reply r;
	size_t n;

	cpkt_start(&p, DHCPINFORM, 9, MAC, IP(20));
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_int_eq(reply_type(&r), DHCPACK);
	ck_assert_uint_eq(r.dst_ip, IP(20));
	ck_assert_uint_eq(yiaddr(&r), 0);
	ck_assert_ptr_null(dhcp_opt_find(r.buf, r.len, DHCP_OPT_LEASE_TIME, &n));
	ck_assert_uint_eq(opt_ip(&r, DHCP_OPT_ROUTER), IP(254));
}
END_TEST

START_TEST(release_then_decline)
{
	struct client_pkt p;
	struct dhcp_reply r;

	uint32_t ip = exchange(MAC, 1000);
	cpkt_start(&p, DHCPRELEASE, 9, MAC, ip);
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, IP(254));
	ck_assert_int_eq(send_pkt(&p, 1001, &r), 0);
	ck_assert_uint_eq(dhcp_server_stats(srv)->releases, 1);
	ck_assert_uint_eq(dhcp_lease_current(dhcp_server_leases(srv), MAC, 1001), 0);

	ck_assert_uint_eq(exchange(MAC, 1002), ip);
	cpkt_start(&p, DHCPDECLINE, 9, MAC, 0);
	cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, ip);
	cpkt_ip(&p, DHCP_OPT_SERVER_ID, IP(254));
	ck_assert_int_eq(send_pkt(&p, 1003, &r), 0);
	ck_assert_uint_eq(dhcp_server_stats(srv)->declines, 1);
	ck_assert_uint_ne(exchange(MAC, 1004), ip);
}
END_TEST

START_TEST(exhausted_no_offer)
{
	struct client_pkt p;
	struct dhcp_reply r;
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0, 0, 0};

	dhcp_server_free(srv);
	unlink(leasefile);
	log_set_quiet(false);
	new_server(IP(128), IP(130));
	for (int i = 1; i <= 3; i++) {
		mac[5] = (uint8_t)i;
		exchange(mac, 1000);
	}
	mac[5] = 9;
	cpkt_start(&p, DHCPDISCOVER, 1, mac, 0);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 0);
	ck_assert_uint_eq(dhcp_server_stats(srv)->exhausted, 1);
	log_set_quiet(true);
}
END_TEST

START_TEST(malformed_counted_and_dropped)
{
	struct client_pkt p;
	struct dhcp_reply r;
	uint8_t junk[300] = {1, 1, 6};

	ck_assert_int_eq(dhcp_server_handle(srv, junk, sizeof(junk), 1000, &r), 0);
	ck_assert_int_eq(dhcp_server_handle(srv, junk, 10, 1000, &r), 0);
	cpkt_start(&p, DHCPDISCOVER, 1, MAC, 0);
	ck_assert_int_eq(dhcp_server_handle(srv, p.buf, p.len - 1, 1000, &r), 0);
	/* server-side message types from a client are ignored */
	cpkt_start(&p, DHCPOFFER, 1, MAC, 0);
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 0);
	const struct dhcp_stats *st = dhcp_server_stats(srv);
	ck_assert_uint_eq(st->received, 4);
	ck_assert_uint_eq(st->malformed, 3);
	ck_assert_uint_eq(st->ignored, 1);
	ck_assert_uint_eq(st->offers, 0);
}
END_TEST

START_TEST(mutated_packets_never_crash)
{
	struct client_pkt p;
	struct dhcp_reply r;
	unsigned seed = 7;
	uint8_t types[] = {DHCPDISCOVER, DHCPREQUEST, DHCPRELEASE, DHCPDECLINE, DHCPINFORM};

	for (int i = 0; i < 20000; i++) {
		uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, (uint8_t)(i % 97)};
		cpkt_start(&p, types[i % 5], (uint32_t)i, mac, i % 3 ? 0 : IP(130 + i % 20));
		cpkt_ip(&p, DHCP_OPT_REQUESTED_IP, IP(120 + (uint32_t)(i % 90)));
		if (i % 2)
			cpkt_ip(&p, DHCP_OPT_SERVER_ID, IP(254));
		cpkt_end(&p);
		for (int k = 0; k < i % 5; k++)
			p.buf[(size_t)rand_r(&seed) % p.len] = (uint8_t)rand_r(&seed);
		size_t len = p.len - (size_t)rand_r(&seed) % 4;
		int rc = dhcp_server_handle(srv, p.buf, len, 1000 + i / 100, &r);
		ck_assert(rc == 0 || rc == 1);
		if (rc == 1) {
			ck_assert_uint_ge(r.len, DHCP_MIN_LEN);
			ck_assert_uint_le(r.len, DHCP_MAX_LEN);
		}
	}
	const struct dhcp_stats *st = dhcp_server_stats(srv);
	ck_assert_uint_eq(st->received, 20000);
	ck_assert_uint_gt(st->malformed, 0);
	ck_assert_uint_gt(st->acks, 0);
}
END_TEST

START_TEST(relay_reply_to_giaddr)
{
	struct client_pkt p;
	struct dhcp_reply r;

	cpkt_start(&p, DHCPDISCOVER, 7, MAC, 0);
	struct dhcp_hdr *h = (void *)p.buf;
	h->giaddr = htonl(IP(1));
	ck_assert_int_eq(send_pkt(&p, 1000, &r), 1);
	ck_assert_uint_eq(r.dst_ip, IP(1));
	ck_assert_uint_eq(r.dst_port, 67);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dhcp_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, discover_offer_options);
	tcase_add_test(tc, isolated_gets_metadata_route);
	tcase_add_test(tc, full_exchange_and_renew);
	tcase_add_test(tc, new_binding_needs_commit);
	tcase_add_test(tc, static_host_gets_name);
	tcase_add_test(tc, restart_same_address);
	tcase_add_test(tc, request_wrong_address_nak);
	tcase_add_test(tc, request_for_other_server_ignored);
	tcase_add_test(tc, inform_gets_config_no_lease);
	tcase_add_test(tc, release_then_decline);
	tcase_add_test(tc, exhausted_no_offer);
	tcase_add_test(tc, malformed_counted_and_dropped);
	tcase_add_test(tc, relay_reply_to_giaddr);
	tcase_add_test(tc, mutated_packets_never_crash);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
