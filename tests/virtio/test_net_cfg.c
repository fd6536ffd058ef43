/* virtio-net's pieces that need no device: MAC parsing and the stable
 * default MAC (devices/virtio/net_mac.h), and the guest offloads ->
 * TUNSETOFFLOAD mapping (devices/virtio/net_offload.h). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "devices/virtio/net_mac.h"
#include "devices/virtio/net_offload.h"
#include "devices/virtio/virtio.h"

START_TEST(mac_parse_accepts_unicast)
{
	uint8_t mac[NET_MAC_LEN];
	char buf[NET_MAC_STRLEN];
	const char *why = NULL;

	ck_assert_int_eq(net_mac_parse("52:54:00:46:1c:72", mac, &why), 0);
	ck_assert_str_eq(net_mac_format(mac, buf), "52:54:00:46:1c:72");
	ck_assert_int_eq(net_mac_parse("02-AB-cd-EF-01-fe", mac, &why), 0);
	ck_assert_str_eq(net_mac_format(mac, buf), "02:ab:cd:ef:01:fe");
	ck_assert_ptr_null(why);
}
END_TEST

static const struct {
	const char *text, *why;
} bad_macs[] = {
    {"", "not six hex bytes"},
    {"52:54:00:46:1c", "not six hex bytes"},
    {"52:54:00:46:1c:72:", "not six hex bytes"},
    {"52:54:00:46:1c:7", "not six hex bytes"},
    {"52:54:00:46:1c:722", "not six hex bytes"},
    {"52:54:00-46:1c:72", "not six hex bytes"},
    {"52545:00:46:1c:72", "not six hex bytes"},
    {"52:54:00:46:1g:72", "not six hex bytes"},
    {" 52:54:00:46:1c:72", "not six hex bytes"},
    {"52:54:00:46:1c:72 ", "not six hex bytes"},
    {"5:54:00:46:1c:72", "not six hex bytes"},
    {"01:00:5e:00:00:01", "multicast"},
    {"ff:ff:ff:ff:ff:ff", "multicast"},
    {"33:33:00:00:00:01", "multicast"},
    {"00:00:00:00:00:00", "all zeros"},
};

START_TEST(mac_parse_refuses_bad)
{
	uint8_t mac[NET_MAC_LEN];
	const char *why = NULL;

	ck_assert_int_eq(net_mac_parse(bad_macs[_i].text, mac, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, bad_macs[_i].why), "'%s': reason '%s', wanted '%s'",
		      bad_macs[_i].text, why, bad_macs[_i].why);
	ck_assert_int_eq(net_mac_parse(bad_macs[_i].text, mac, NULL), -EINVAL);
}
END_TEST

START_TEST(mac_default_is_stable_and_distinct)
{
	uint8_t a[NET_MAC_LEN], b[NET_MAC_LEN], c[NET_MAC_LEN], d[NET_MAC_LEN];
	char buf[NET_MAC_STRLEN];

	net_mac_default("/var/lib/images/vmhost.img", 0, a);
	net_mac_default("/var/lib/images/vmhost.img", 0, b);
	net_mac_default("/var/lib/images/vmhost.img", 1, c);
	net_mac_default("/var/lib/images/other.img", 0, d);
	ck_assert_mem_eq(a, b, NET_MAC_LEN);
	ck_assert_mem_ne(a, c, NET_MAC_LEN);
	ck_assert_mem_ne(a, d, NET_MAC_LEN);
	ck_assert_mem_eq(a, "\x52\x54\x00", 3);
	ck_assert_mem_eq(c, "\x52\x54\x00", 3);
	ck_assert_ptr_null(net_mac_unusable(a));
	/* The rule is documented (net_mac.h): FNV-1a 64 of "KEY\nINDEX", low
	 * 24 bits. Pinned, so a change of rule (which would move every lab
	 * VM to a new DHCP address) cannot go unnoticed. FNV-1a 64 of "\n0"
	 * is 0x08549407b5086ab7 (offset basis 0xcbf29ce484222325, prime
	 * 0x100000001b3, bytes 0x0a 0x30). */
	net_mac_default("", 0, a);
	ck_assert_str_eq(net_mac_format(a, buf), "52:54:00:08:6a:b7");
}
END_TEST

#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
static const unsigned all_tun = NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6 |
				NET_TUN_F_TSO_ECN | NET_TUN_F_UFO | NET_TUN_F_USO4 | NET_TUN_F_USO6;

START_TEST(offload_mask_follows_acked)
{
	/* What Linux's virtio_net acks on a typical device. */
	uint64_t linux_acks = F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) |
			      F(CSUM) | F(HOST_TSO4) | F(MRG_RXBUF);

	ck_assert_uint_eq(net_tun_offload(linux_acks, all_tun),
			  NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN);
	ck_assert_uint_eq(net_tun_offload(F(GUEST_CSUM), all_tun), NET_TUN_F_CSUM);
	ck_assert_uint_eq(net_tun_offload(F(GUEST_CSUM) | F(GUEST_UFO) | F(GUEST_USO4) |
					      F(GUEST_USO6),
					  all_tun),
			  NET_TUN_F_CSUM | NET_TUN_F_UFO | NET_TUN_F_USO4 | NET_TUN_F_USO6);
	/* Segmentation without receive checksum offload: the TAP would
	 * ignore it, and the guest could not take partial checksums. */
	ck_assert_uint_eq(net_tun_offload(F(GUEST_TSO4) | F(GUEST_TSO6), all_tun), 0);
	/* Host-side (guest TX) features never reach the TAP's mask. */
	ck_assert_uint_eq(net_tun_offload(F(CSUM) | F(HOST_TSO4) | F(HOST_UFO), all_tun), 0);
	/* A host without UFO/USO: never asked for. */
	ck_assert_uint_eq(net_tun_offload(F(GUEST_CSUM) | F(GUEST_UFO) | F(GUEST_USO4) |
					      F(GUEST_TSO4),
					  NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6),
			  NET_TUN_F_CSUM | NET_TUN_F_TSO4);
	ck_assert_uint_eq(net_tun_offload(linux_acks, 0), 0);
}
END_TEST

START_TEST(offered_features_follow_host)
{
	uint64_t all = net_offload_features(all_tun);
	uint64_t old = net_offload_features(NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6 |
					    NET_TUN_F_TSO_ECN);

	ck_assert(all & F(GUEST_UFO));
	ck_assert(all & F(GUEST_USO4));
	ck_assert(all & F(GUEST_USO6));
	ck_assert(all & F(HOST_UFO));
	ck_assert(all & F(HOST_USO));
	ck_assert_uint_eq(old & (F(GUEST_UFO) | F(GUEST_USO4) | F(GUEST_USO6) | F(HOST_UFO) |
				 F(HOST_USO)),
			  0);
	uint64_t base = F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(HOST_TSO4) |
			F(HOST_TSO6);
	ck_assert_uint_eq(old & base, base);
	ck_assert_uint_eq(net_offload_features(0), 0);
	/* Whatever is offered and then acked maps onto bits the host has. */
	ck_assert_uint_eq(net_tun_offload(old, NET_TUN_F_CSUM | NET_TUN_F_TSO4) &
			      ~(NET_TUN_F_CSUM | NET_TUN_F_TSO4),
			  0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-net-cfg");
	TCase *t = tcase_create("net-cfg");
	SRunner *sr;
	int failed;

	tcase_add_test(t, mac_parse_accepts_unicast);
	tcase_add_loop_test(t, mac_parse_refuses_bad, 0, (int)(sizeof(bad_macs) / sizeof(bad_macs[0])));
	tcase_add_test(t, mac_default_is_stable_and_distinct);
	tcase_add_test(t, offload_mask_follows_acked);
	tcase_add_test(t, offered_features_follow_host);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
