/* virtio-net on libslirp (devices/virtio/net_user.c), a real libslirp and
 * a fake driver's rings, no VM:
 *  - a DHCP DISCOVER on the TX ring comes back as slirp's OFFER of
 *    10.0.2.15 in the RX ring (the I/O thread's poll loop running slirp);
 *  - a host connection to a hostfwd port: slirp's poll set sees the
 *    accept, an ARP request for the guest arrives, and once the guest
 *    answers, slirp's retry (the poll timeout, no other event) sends the
 *    SYN to guest port 80;
 *  - a router solicitation is answered with an advertisement of fec0::/64;
 *  - frames while no RX buffer is posted wait in the bounded backlog, in
 *    order; beyond it they are dropped and counted; runts counted; a
 *    reset drops what was kept for the old driver;
 *  - a host port already in use fails vnet_user_create with one line;
 *  - slirp's timers: the poll timeout clamped to the nearest deadline, due
 *    ones fired once, handlers re-arming or freeing timers. */
#include "tests/virtio/user_fixture.h"

#include "devices/virtio/net.h"
#include "devices/virtio/net_offload.h"
#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_user.h"
#include "devices/virtio/net_user_opts.h"
#include "devices/virtio/net_user_timer.h"
#include "devices/virtio/virtq.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* DHCP DISCOVER: 0.0.0.0:68 -> 255.255.255.255:67, a full BOOTP body. */
static size_t dhcp_discover(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const size_t bootp = 548, udp = 8 + bootp, ip = 20 + udp;
	memset(f, 0, 14 + ip);
	eth(f, bcast, 0x0800);
	uint8_t *h = f + 14, *u = h + 20, *b = u + 8;
	h[0] = 0x45;
	put16(h + 2, (uint16_t)ip);
	h[8] = 64;
	h[9] = 17;
	memset(h + 16, 0xff, 4);
	put16(h + 10, ip_sum(h, 20));
	put16(u, 68);
	put16(u + 2, 67);
	put16(u + 4, (uint16_t)udp);	/* checksum 0: none */
	b[0] = 1;	/* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	memcpy(b + 4, "\x12\x34\x56\x78", 4);
	memcpy(b + 28, guest_mac, 6);
	memcpy(b + 236, "\x63\x82\x53\x63\x35\x01\x01\xff", 8);	/* cookie, DISCOVER, end */
	return 14 + ip;
}

/* A DHCP option of the BOOTP body B (LEN bytes), or NULL. */
static const uint8_t *dhcp_option(const uint8_t *b, size_t len, uint8_t code)
{
	for (size_t i = 240; i + 1 < len && b[i] != 255;) {
		if (b[i] == 0) {
			i++;
			continue;
		}
		if (b[i] == code)
			return b + i + 2;
		i += 2u + b[i + 1];
	}
	return NULL;
}

START_TEST(dhcp_offer_through_the_thread)
{
	uint8_t f[1600];
	uint32_t len, id;

	make("user");
	start(true);
	for (unsigned i = 0; i < 8; i++)
		post_rx(i);
	post_tx(0, f, (uint32_t)dhcp_discover(f));
	do_kick(1);
	const uint8_t *r = wait_rx(&len, 3000);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(get16(r + 12), 0x0800);
	ck_assert_mem_eq(r + 6, slirp_mac, 6);
	const uint8_t *ip = r + 14, *udp = ip + 20, *b = udp + 8;
	ck_assert_uint_eq(ip[9], 17);
	ck_assert_mem_eq(ip + 12, "\x0a\x00\x02\x02", 4);	/* from the gateway */
	ck_assert_uint_eq(get16(udp), 67);
	ck_assert_uint_eq(get16(udp + 2), 68);
	ck_assert_uint_eq(b[0], 2);				/* BOOTREPLY */
	ck_assert_mem_eq(b + 4, "\x12\x34\x56\x78", 4);		/* our xid */
	ck_assert_mem_eq(b + 16, "\x0a\x00\x02\x0f", 4);	/* yiaddr 10.0.2.15 */
	const uint8_t *type = dhcp_option(b, len - 42, 53);
	ck_assert_ptr_nonnull(type);
	ck_assert_uint_eq(type[0], 2);				/* OFFER */
	const uint8_t *dns = dhcp_option(b, len - 42, 6);
	ck_assert_ptr_nonnull(dns);
	ck_assert_mem_eq(dns, "\x0a\x00\x02\x03", 4);
	ck_assert(vdrv_get_used(&txd, &id, &len));		/* TX chain given back */
	vnet_reset(n);
	struct vnet_stats s;
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.tx_frames, 1);
	ck_assert_uint_eq(s.rx_frames, 1);
	teardown();
}
END_TEST

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

START_TEST(hostfwd_connection_reaches_the_guest)
{
	char spec[64];
	uint8_t f[64];
	uint32_t len;
	uint16_t port = free_port();

	snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:80", port);
	make(spec);
	start(true);
	for (unsigned i = 0; i < 8; i++)
		post_rx(i);
	do_kick(0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int r = connect(c, (struct sockaddr *)&a, sizeof(a));
	ck_assert(r == 0 || errno == EINPROGRESS);	/* slirp listens on 127.0.0.1 */

	/* slirp accepted (its socket in the poll set) and asks who 10.0.2.15 is */
	const uint8_t *q = wait_rx(&len, 3000);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(get16(q + 12), 0x0806);
	ck_assert_uint_eq(get16(q + 20), 1);
	ck_assert_mem_eq(q + 28, "\x0a\x00\x02\x02", 4);
	ck_assert_mem_eq(q + 38, "\x0a\x00\x02\x0f", 4);

	/* the guest answers; nothing else happens, slirp's own timeout resends */
	post_tx(0, f, (uint32_t)arp(f, 2, "10.0.2.15", "10.0.2.2", slirp_mac));
	do_kick(1);
	const uint8_t *syn = wait_rx(&len, 3000);
	ck_assert_ptr_nonnull(syn);
	ck_assert_uint_eq(get16(syn + 12), 0x0800);
	ck_assert_mem_eq(syn, guest_mac, 6);
	ck_assert_uint_eq(syn[14 + 9], 6);				/* TCP */
	ck_assert_mem_eq(syn + 14 + 16, "\x0a\x00\x02\x0f", 4);
	const uint8_t *tcp = syn + 14 + (syn[14] & 0xf) * 4;
	ck_assert_uint_eq(get16(tcp + 2), 80);
	ck_assert_uint_eq(tcp[13] & 0x12, 0x02);			/* SYN */
	close(c);
	teardown();
}
END_TEST

/* Without the thread (vnet_process): 300 ARP requests for the gateway
 * while the guest posts no RX buffer. The first reply waits in the RX
 * buffer, the next VNET_USER_BACKLOG in the backlog, the rest are dropped;
 * once buffers come they arrive in order. A runt is counted, not sent. */
START_TEST(backlog_bounded_and_in_order)
{
	uint8_t f[64];
	uint32_t len, id;
	const unsigned total = 300, kept = 1 + VNET_USER_BACKLOG;

	make("user");
	start(false);
	for (unsigned sent = 0; sent < total;) {
		unsigned batch = total - sent < QSZ / 2 ? total - sent : QSZ / 2;
		for (unsigned i = 0; i < batch; i++) {
			char sip[16];
			snprintf(sip, sizeof(sip), "10.0.2.%u", 20 + (sent + i) % 200);
			post_tx(i, f, (uint32_t)arp(f, 1, sip, "10.0.2.2", NULL));
		}
		ck_assert_int_eq(vnet_process(n), 0);
		for (unsigned i = 0; i < batch; i++)
			ck_assert(vdrv_get_used(&txd, &id, &len));
		sent += batch;
	}
	post_tx(0, f, 8);	/* a runt */
	ck_assert_int_eq(vnet_process(n), 0);
	struct vnet_stats s;
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.tx_frames, total);
	ck_assert_uint_eq(s.tx_runts, 1);
	ck_assert_uint_eq(s.rx_frames, 0);
	ck_assert_uint_eq(s.rx_backlog_drops, total - kept);
	ck_assert_uint_ge(s.rx_waits, 1);

	unsigned got = 0;
	while (got < kept) {
		for (unsigned i = 0; i < QSZ; i++)
			post_rx(i);
		ck_assert_int_eq(vnet_process(n), 0);
		const uint8_t *r;
		while ((r = wait_rx(&len, 0)) != NULL) {
			ck_assert_uint_eq(get16(r + 12), 0x0806);
			ck_assert_uint_eq(get16(r + 20), 2);		/* reply */
			ck_assert_mem_eq(r + 22, slirp_mac, 6);	/* 10.0.2.2 is at */
			ck_assert_uint_eq(r[41], 20 + got % 200);	/* to each asker, in order */
			if (++got == kept)
				break;
		}
	}
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.rx_frames, kept);
	ck_assert_uint_eq(s.rx_backlog_drops, total - kept);
	teardown();
}
END_TEST

/* A router solicitation from the guest's link-local address: slirp
 * advertises fec0::/64 (IPv6 as QEMU's). */
START_TEST(ipv6_router_solicitation)
{
	uint8_t f[14 + 40 + 8] = { 0 };
	uint32_t len;
	static const uint8_t all_routers_mac[6] = { 0x33, 0x33, 0, 0, 0, 2 };

	make("user");
	start(true);
	for (unsigned i = 0; i < 8; i++)
		post_rx(i);
	eth(f, all_routers_mac, 0x86dd);
	uint8_t *h = f + 14, *icmp = h + 40;
	h[0] = 0x60;
	put16(h + 4, 8);
	h[6] = 58;
	h[7] = 255;
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", h + 8);
	inet_pton(AF_INET6, "ff02::2", h + 24);
	icmp[0] = 133;
	/* checksum over the pseudo-header (addresses, length, next header) */
	uint8_t ph[40 + 8] = { 0 };
	memcpy(ph, h + 8, 32);
	ph[35] = 8;
	ph[39] = 58;
	memcpy(ph + 40, icmp, 8);
	put16(icmp + 2, ip_sum(ph, sizeof(ph)));
	post_tx(0, f, sizeof(f));
	do_kick(1);
	const uint8_t *ra = wait_rx_any(&len, 3000, true);
	ck_assert_ptr_nonnull(ra);
	ck_assert_uint_eq(get16(ra + 12), 0x86dd);
	ck_assert_mem_eq(ra + 6, "\x52\x56\x00\x00\x00\x02", 6);	/* slirp's IPv6 MAC */
	ck_assert_uint_eq(ra[14 + 6], 58);		/* ICMPv6 */
	ck_assert_uint_eq(ra[14 + 40], 134);		/* router advertisement */
	uint8_t fec0[16];
	inet_pton(AF_INET6, "fec0::", fec0);
	bool prefix = false;	/* a prefix information option for fec0::/64 */
	for (size_t o = 14 + 40 + 16; o + 8 <= len && ra[o + 1]; o += 8u * ra[o + 1])
		if (ra[o] == 3 && o + 32 <= len && ra[o + 2] == 64 && !memcmp(ra + o + 16, fec0, 16))
			prefix = true;
	ck_assert(prefix);
	teardown();
}
END_TEST

/* The driver starting over (a reset, then DRIVER_OK): what slirp sent for
 * the old one and waited for buffers is not delivered to the new one. */
static void driver_reinit(struct vdrv *q)
{
	memset(vdrv_hva(q, q->avail_gpa), 0, virtq_avail_bytes(QSZ));
	memset(vdrv_hva(q, q->used_gpa), 0, virtq_used_bytes(QSZ));
	q->avail_idx = q->last_used = 0;
}

START_TEST(reset_drops_kept_frames)
{
	uint8_t f[64];
	uint32_t len, id;

	make("user");
	start(false);
	for (unsigned i = 0; i < 3; i++)	/* three replies: one in the RX buffer, two kept */
		post_tx(i, f, (uint32_t)arp(f, 1, "10.0.2.15", "10.0.2.2", NULL));
	ck_assert_int_eq(vnet_process(n), 0);
	for (unsigned i = 0; i < 3; i++)
		ck_assert(vdrv_get_used(&txd, &id, &len));
	vnet_reset(n);
	driver_reinit(&rxd);
	driver_reinit(&txd);
	for (unsigned q = 0; q < 3; q++)
		close(kick[q]);
	start(false);
	for (unsigned i = 0; i < 8; i++)
		post_rx(i);
	ck_assert_int_eq(vnet_process(n), 0);
	ck_assert_ptr_null(wait_rx(&len, 0));
	post_tx(0, f, (uint32_t)arp(f, 1, "10.0.2.15", "10.0.2.3", NULL));
	ck_assert_int_eq(vnet_process(n), 0);
	const uint8_t *r = wait_rx(&len, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_mem_eq(r + 28, "\x0a\x00\x02\x03", 4);	/* the new question's answer */
	ck_assert_ptr_null(wait_rx(&len, 0));
	teardown();
}
END_TEST

START_TEST(hostfwd_port_in_use)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);

	char spec[96], want[256];
	struct net_user_opts o;
	struct vnet_user *u = (void *)1;
	unsigned port = ntohs(a.sin_port);
	/* the first forward binds, the second cannot: the first is undone */
	snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:22,hostfwd=tcp::%u-:80", free_port(),
		 port);
	log_set_quiet(true);
	ck_assert_int_eq(net_user_opts_parse(spec, &o), 0);
	ck_assert_int_eq(vnet_user_create("eth0", spec, &o, NULL, &u), -EADDRINUSE);
	ck_assert_ptr_null(u);
	snprintf(want, sizeof(want), "--net '%s': hostfwd tcp 127.0.0.1:%u -> 10.0.2.15:80: cannot "
		 "listen on the host port: Address already in use", spec, port);
	ck_assert_str_eq(log_last_error(), want);
	close(s);
}
END_TEST

/* slirp's timers (net_user_timer.c): the poll timeout follows the nearest
 * armed deadline; due timers fire once, disarmed first, and a handler may
 * re-arm its timer or free another. */
static struct user_timer *timer_list, *victim, *rearm;
static int fired[3];

static void on_fire(int id, void *cb_opaque, void *arg)
{
	ck_assert_ptr_eq(arg, &timer_list);
	fired[id]++;
	ck_assert_ptr_eq(cb_opaque, &fired[id]);
	if (id == 0)
		user_timer_mod(rearm, 5000);	/* re-arms itself */
	if (id == 1 && victim) {
		user_timer_free(&timer_list, victim);	/* frees timer 2 */
		victim = NULL;
	}
}

START_TEST(timers_clamp_and_fire)
{
	struct user_timer *t0 = user_timer_new(&timer_list, 0, &fired[0]);
	struct user_timer *t1 = user_timer_new(&timer_list, 1, &fired[1]);
	struct user_timer *t2 = user_timer_new(&timer_list, 2, &fired[2]);
	rearm = t0;
	ck_assert_ptr_nonnull(t0);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(t2);
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1000, 1000), 1000);	/* none armed */
	user_timer_mod(t0, 1500);
	user_timer_mod(t1, 1200);
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1000, 1000), 200);
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1000, 50), 50);
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1200, 1000), 0);	/* t1 due */
	user_timers_run(&timer_list, 1100, on_fire, &timer_list);
	ck_assert_int_eq(fired[0] + fired[1] + fired[2], 0);			/* none due yet */

	victim = t2;
	user_timer_mod(t2, 9000);
	user_timers_run(&timer_list, 1600, on_fire, &timer_list);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 1);
	ck_assert_int_eq(fired[2], 0);		/* freed by t1's handler, never fired */
	/* t1 is disarmed now; t0 re-armed itself for 5000 */
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1600, 10000), 3400);
	user_timers_run(&timer_list, 1600, on_fire, &timer_list);
	ck_assert_int_eq(fired[0], 1);		/* not twice */
	user_timer_mod(t1, -5);			/* the past: due at once */
	ck_assert_uint_eq(user_timers_clamp(timer_list, 1600, 10000), 0);
	user_timers_run(&timer_list, 1600, on_fire, &timer_list);
	ck_assert_int_eq(fired[1], 2);
	user_timer_free(&timer_list, (struct user_timer *)&fired);	/* not on the list */
	user_timers_free_all(&timer_list);
	ck_assert_ptr_null(timer_list);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("net_user");
	TCase *tc = tcase_create("net_user");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, dhcp_offer_through_the_thread);
	tcase_add_test(tc, hostfwd_connection_reaches_the_guest);
	tcase_add_test(tc, backlog_bounded_and_in_order);
	tcase_add_test(tc, ipv6_router_solicitation);
	tcase_add_test(tc, reset_drops_kept_frames);
	tcase_add_test(tc, hostfwd_port_in_use);
	tcase_add_test(tc, timers_clamp_and_fire);
	suite_add_tcase(su, tc);
	suite_add_tcase(su, tcase_net_user_mdata());
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
