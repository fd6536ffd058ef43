/* Lease allocation, exhaustion, static hosts and the lease file. */
#include "net/dhcp_lease.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IP(d) (0xc0a86400u | (d)) /* 192.168.100.d */

static char dir[64];
static char path[128];

static void mkmac(uint8_t mac[6], int n)
{
	uint8_t m[6] = {0x52, 0x54, 0x00, 0, (uint8_t)(n >> 8), (uint8_t)n};
	memcpy(mac, m, 6);
}

static void setup(void)
{
	log_set_quiet(true);
	snprintf(dir, sizeof(dir), "/tmp/mvlease.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);
}

static void teardown(void)
{
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(path);
	unlink(tmp);
	rmdir(dir);
}

static struct dhcp_leases *open_pool(uint32_t s, uint32_t e, const struct dhcp_host *h, size_t nh,
				     const char *p)
{
	struct dhcp_pool pool = {
	    .start = s, .end = e, .server_ip = IP(254), .hosts = h, .nhosts = nh};
	struct dhcp_leases *l;
	ck_assert_int_eq(dhcp_leases_open(&l, &pool, p, 1000), 0);
	return l;
}

START_TEST(offer_distinct_addresses)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(131), NULL, 0, NULL);
	uint8_t mac[6];
	uint32_t seen[4];

	for (int i = 0; i < 4; i++) {
		mkmac(mac, i);
		ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &seen[i]), 0);
		ck_assert(seen[i] >= IP(128) && seen[i] <= IP(131));
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(seen[i], seen[j]);
	}
	/* The same MAC asking again gets the same offer. */
	uint32_t again;
	mkmac(mac, 2);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1001, &again), 0);
	ck_assert_uint_eq(again, seen[2]);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(pool_exhausted)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(129), NULL, 0, NULL);
	uint8_t mac[6];
	uint32_t ip;

	for (int i = 0; i < 2; i++) {
		mkmac(mac, i);
		ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &ip), 0);
		ck_assert_int_eq(dhcp_lease_bind(l, mac, ip, 3600, NULL, 1000), 0);
	}
	mkmac(mac, 9);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &ip), -ENOSPC);
	/* After the leases expire the longest-expired address is reused. */
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000 + 3601, &ip), 0);
	ck_assert(ip == IP(128) || ip == IP(129));
	dhcp_leases_close(l);
}
END_TEST

START_TEST(offer_hold_blocks_others)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(128), NULL, 0, NULL);
	uint8_t a[6], b[6];
	uint32_t ip;

	mkmac(a, 1);
	mkmac(b, 2);
	ck_assert_int_eq(dhcp_lease_offer(l, a, 0, 1000, &ip), 0);
	ck_assert_int_eq(dhcp_lease_offer(l, b, 0, 1000, &ip), -ENOSPC);
	ck_assert_int_eq(dhcp_lease_bind(l, b, IP(128), 60, NULL, 1000), -EADDRNOTAVAIL);
	/* once the offer hold lapses, b may have it */
	ck_assert_int_eq(dhcp_lease_offer(l, b, 0, 1000 + DHCP_OFFER_HOLD + 1, &ip), 0);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(requested_address_honoured)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(200), NULL, 0, NULL);
	uint8_t mac[6];
	uint32_t ip;

	mkmac(mac, 1);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, IP(150), 1000, &ip), 0);
	ck_assert_uint_eq(ip, IP(150));
	/* a requested address outside the range is not */
	mkmac(mac, 2);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, IP(10), 1000, &ip), 0);
	ck_assert_uint_ne(ip, IP(10));
	ck_assert_int_eq(dhcp_lease_bind(l, mac, IP(10), 60, NULL, 1000), -EADDRNOTAVAIL);
	ck_assert_int_eq(dhcp_lease_bind(l, mac, IP(254), 60, NULL, 1000), -EADDRNOTAVAIL);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(server_address_in_range_skipped)
{
	struct dhcp_pool pool = {.start = IP(253), .end = IP(254), .server_ip = IP(253)};
	struct dhcp_leases *l;
	uint8_t mac[6];
	uint32_t ip;

	ck_assert_int_eq(dhcp_leases_open(&l, &pool, NULL, 0), 0);
	mkmac(mac, 1);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &ip), 0);
	ck_assert_uint_eq(ip, IP(254));
	mkmac(mac, 2);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &ip), -ENOSPC);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(static_hosts)
{
	struct dhcp_host h = {.ip = IP(10), .name = "web"};
	struct dhcp_leases *l;
	uint8_t other[6];
	uint32_t ip;

	mkmac(h.mac, 7);
	l = open_pool(IP(10), IP(11), &h, 1, NULL);
	ck_assert_int_eq(dhcp_lease_offer(l, h.mac, 0, 1000, &ip), 0);
	ck_assert_uint_eq(ip, IP(10));
	ck_assert_str_eq(dhcp_lease_static(l, h.mac)->name, "web");
	/* nobody else is offered or bound the static address */
	mkmac(other, 8);
	ck_assert_int_eq(dhcp_lease_offer(l, other, IP(10), 1000, &ip), 0);
	ck_assert_uint_eq(ip, IP(11));
	ck_assert_int_eq(dhcp_lease_bind(l, other, IP(10), 60, NULL, 1000), -EADDRNOTAVAIL);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(release_and_decline)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(129), NULL, 0, NULL);
	uint8_t a[6], b[6];
	uint32_t ip, ip2;

	mkmac(a, 1);
	mkmac(b, 2);
	ck_assert_int_eq(dhcp_lease_offer(l, a, 0, 1000, &ip), 0);
	ck_assert_int_eq(dhcp_lease_bind(l, a, ip, 600, NULL, 1000), 0);
	ck_assert_uint_eq(dhcp_lease_current(l, a, 1001), ip);
	ck_assert_int_eq(dhcp_lease_release(l, b, ip, 1001), -ENOENT);
	ck_assert_int_eq(dhcp_lease_release(l, a, ip, 1001), 0);
	ck_assert_uint_eq(dhcp_lease_current(l, a, 1001), 0);
	/* a released client coming back gets the same address */
	ck_assert_int_eq(dhcp_lease_offer(l, a, 0, 1002, &ip2), 0);
	ck_assert_uint_eq(ip2, ip);
	/* declined: parked, not offered to anyone for a while */
	ck_assert_int_eq(dhcp_lease_decline(l, a, ip, 1003), 0);
	ck_assert_int_eq(dhcp_lease_offer(l, b, ip, 1003, &ip2), 0);
	ck_assert_uint_ne(ip2, ip);
	ck_assert_int_eq(dhcp_lease_decline(l, a, IP(1), 1003), -ENOENT);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(persist_same_mac_same_address)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(200), NULL, 0, path);
	uint8_t mac[6];
	uint32_t ips[5], ip;

	for (int i = 0; i < 5; i++) {
		mkmac(mac, i);
		ck_assert_int_eq(dhcp_lease_offer(l, mac, IP(200 - i), 1000, &ips[i]), 0);
		ck_assert_int_eq(dhcp_lease_bind(l, mac, ips[i], 60, i ? "vm" : "", 1000), 0);
	}
	ck_assert(dhcp_leases_dirty(l));
	ck_assert_int_eq(dhcp_leases_save(l), 0);
	ck_assert(!dhcp_leases_dirty(l));
	dhcp_leases_close(l);

	/* "restart", long after the leases expired: same MAC, same address,
	 * even when offered in a different order. */
	l = open_pool(IP(128), IP(200), NULL, 0, path);
	ck_assert_uint_eq(dhcp_leases_count(l), 5);
	for (int i = 4; i >= 0; i--) {
		mkmac(mac, i);
		ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 99999, &ip), 0);
		ck_assert_uint_eq(ip, ips[i]);
	}
	struct dhcp_lease le;
	ck_assert_int_eq(dhcp_leases_get(l, 0, &le), 0);
	ck_assert_int_eq(le.expiry, 1060);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(lease_file_bad_lines_skipped)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("2000 52:54:00:00:00:01 192.168.100.130 vm1\n"
	      "garbage\n"
	      "2000 52:54:00:00:00:02 192.168.100.130 dup-ip\n"
	      "2000 52:54:00:00:00:01 192.168.100.131 dup-mac\n"
	      "2000 52:54:00:00:00:03 10.0.0.1 out-of-range\n"
	      "2000 52:54:00:00:00:zz 192.168.100.132 badmac\n"
	      "-5 52:54:00:00:00:04 192.168.100.133 negative\n"
	      "2000 52:54:00:00:00:05 192.168.100.134 *\n",
	      f);
	fclose(f);
	struct dhcp_leases *l = open_pool(IP(128), IP(200), NULL, 0, path);
	ck_assert_uint_eq(dhcp_leases_count(l), 2);
	struct dhcp_lease le;
	ck_assert_int_eq(dhcp_leases_get(l, 0, &le), 0);
	ck_assert_str_eq(le.hostname, "vm1");
	ck_assert_int_eq(dhcp_leases_get(l, 1, &le), 0);
	ck_assert_str_eq(le.hostname, "");
	ck_assert_int_eq(dhcp_leases_get(l, 2, &le), -ENOENT);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(save_is_atomic_rename)
{
	struct dhcp_leases *l = open_pool(IP(128), IP(200), NULL, 0, path);
	uint8_t mac[6];
	uint32_t ip;
	char tmp[160];

	mkmac(mac, 1);
	ck_assert_int_eq(dhcp_lease_offer(l, mac, 0, 1000, &ip), 0);
	ck_assert_int_eq(dhcp_lease_bind(l, mac, ip, 60, NULL, 1000), 0);
	ck_assert_int_eq(dhcp_leases_save(l), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(access(path, R_OK), 0);
	/* a directory where the lease file should be: error, old file kept */
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	ck_assert_int_eq(dhcp_lease_bind(l, mac, ip, 120, NULL, 1000), 0);
	ck_assert_int_lt(dhcp_leases_save(l), 0);
	ck_assert(strstr(log_last_error(), "leases.tmp") != NULL);
	ck_assert(dhcp_leases_dirty(l));
	rmdir(tmp);
	dhcp_leases_close(l);
}
END_TEST

START_TEST(mac_parse_format)
{
	uint8_t mac[6];
	char s[18];

	ck_assert_int_eq(dhcp_mac_parse("52:54:00:AB:cd:0f", mac), 0);
	dhcp_mac_format(mac, s);
	ck_assert_str_eq(s, "52:54:00:ab:cd:0f");
	ck_assert_int_eq(dhcp_mac_parse("52:54:00:ab:cd", mac), -EINVAL);
	ck_assert_int_eq(dhcp_mac_parse("52:54:00:ab:cd:0f:11", mac), -EINVAL);
	ck_assert_int_eq(dhcp_mac_parse("52-54-00-ab-cd-0f", mac), -EINVAL);
	ck_assert_int_eq(dhcp_mac_parse("", mac), -EINVAL);
}
END_TEST

START_TEST(pool_too_large)
{
	struct dhcp_pool pool = {.start = 0x0a000000, .end = 0x0affffff};
	struct dhcp_leases *l;
	ck_assert_int_eq(dhcp_leases_open(&l, &pool, NULL, 0), -EINVAL);
	pool.start = 5;
	pool.end = 4;
	ck_assert_int_eq(dhcp_leases_open(&l, &pool, NULL, 0), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dhcp_lease");
	TCase *tc = tcase_create("lease");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, offer_distinct_addresses);
	tcase_add_test(tc, pool_exhausted);
	tcase_add_test(tc, offer_hold_blocks_others);
	tcase_add_test(tc, requested_address_honoured);
	tcase_add_test(tc, server_address_in_range_skipped);
	tcase_add_test(tc, static_hosts);
	tcase_add_test(tc, release_and_decline);
	tcase_add_test(tc, persist_same_mac_same_address);
	tcase_add_test(tc, lease_file_bad_lines_skipped);
	tcase_add_test(tc, save_is_atomic_rename);
	tcase_add_test(tc, mac_parse_format);
	tcase_add_test(tc, pool_too_large);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
