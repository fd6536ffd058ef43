/* net suite: tap_open() in a private network namespace (root only). */
#include "net/nl.h"
#include "net/tap.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

START_TEST(tap_on_bridge)
{
	char name[IFNAMSIZ], cmd[128];

	ck_assert_int_eq(nl_bridge_create("mvbr0", false, 0, NULL, 0), 0);
	ck_assert_int_eq(nl_is_bridge("mvbr0"), 0);
	int fd = tap_open(NULL, "mvbr0");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tap_name(fd, name), 0);
	ck_assert(strncmp(name, "tap", 3) == 0);
	snprintf(cmd, sizeof(cmd), "ip -o link show %s | grep -q 'master mvbr0.*' ", name);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "ip -o link show %s | grep -q '[<,]UP[,>]'", name);
	ck_assert_int_eq(system(cmd), 0);
	close(fd);
	/* a non-persistent TAP goes away with its fd */
	ck_assert_uint_eq(if_nametoindex(name), 0);
	ck_assert_int_eq(nl_link_delete("mvbr0"), 0);
}
END_TEST

START_TEST(tap_named_with_vnet_hdr)
{
	ck_assert_int_eq(nl_bridge_create("mvbr1", true, 2, NULL, 0), 0);
	int fd = tap_open_flags("vm0-tap", "mvbr1", TAP_VNET_HDR);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_ne(if_nametoindex("vm0-tap"), 0);
	/* the same name twice is refused */
	ck_assert_int_lt(tap_open("vm0-tap", "mvbr1"), 0);
	close(fd);
	ck_assert_int_eq(nl_link_delete("mvbr1"), 0);
}
END_TEST

START_TEST(tap_missing_bridge)
{
	log_clear_last_error();
	ck_assert_int_eq(tap_open(NULL, "nosuchbr"), -ENODEV);
	ck_assert_str_eq(log_last_error(), "tap: bridge nosuchbr does not exist (define and start "
					   "a network for it with `minivmm net`)");
	ck_assert_int_eq(tap_open(NULL, "lo"), -ENODEV);
	ck_assert(strstr(log_last_error(), "lo is not a bridge") != NULL);
}
END_TEST

/* How many links the namespace has. */
static unsigned links(void)
{
	struct if_nameindex *l = if_nameindex(), *i;
	unsigned n = 0;
	ck_assert_ptr_nonnull(l);
	for (i = l; i->if_index; i++)
		n++;
	if_freenameindex(l);
	return n;
}

START_TEST(tap_name_length)
{
	/* IFNAMSIZ is 16 with the NUL: 15 characters fit, 16 are refused
	 * with a message (never cut to 15, which would name another TAP),
	 * and nothing is created. */
	ck_assert_int_eq(nl_bridge_create("mvbr2", false, 0, NULL, 0), 0);
	unsigned before = links();
	log_clear_last_error();
	int fd = tap_open("tap-name-15-chr", "mvbr2");
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(log_last_error(), "");
	ck_assert_uint_ne(if_nametoindex("tap-name-15-chr"), 0);
	ck_assert_uint_eq(links(), before + 1);
	ck_assert_int_eq(tap_open("tap-name-16-chrs", "mvbr2"), -EINVAL);
	ck_assert_str_eq(log_last_error(), "tap: name tap-name-16-chrs is longer than 15 characters");
	ck_assert_int_eq(tap_open_flags("a-name-far-too-long", "mvbr2", TAP_VNET_HDR), -EINVAL);
	ck_assert_str_eq(log_last_error(),
			 "tap: name a-name-far-too-long is longer than 15 characters");
	ck_assert_uint_eq(if_nametoindex("tap-name-16-chr"), 0);
	ck_assert_uint_eq(if_nametoindex("a-name-far-too-"), 0);
	ck_assert_uint_eq(links(), before + 1);
	close(fd);
	ck_assert_uint_eq(links(), before);
	ck_assert_int_eq(nl_link_delete("mvbr2"), 0);
}
END_TEST

/* The offload probe finds at least what every kernel since 2.6.27 has,
 * and nothing the kernel refuses when asked for alone. */
START_TEST(tap_offload_probe)
{
	ck_assert_int_eq(nl_bridge_create("mvbr3", false, 0, NULL, 0), 0);
	int fd = tap_open_flags("vm3-tap", "mvbr3", TAP_VNET_HDR);
	ck_assert_int_ge(fd, 0);
	int mask = tap_probe_offload(fd);
	ck_assert_int_ge(mask, 0);
	ck_assert_int_eq(mask & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	ck_assert_int_eq(ioctl(fd, TUNSETOFFLOAD, (unsigned long)mask), 0);
	/* USO4 and USO6 come as a pair or not at all */
	ck_assert_int_ne(!(mask & 0x20), !!(mask & 0x40));
	for (unsigned bit = 1; bit <= 0x40; bit <<= 1)
		if (!(mask & (int)bit))
			ck_assert_int_lt(ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | bit)), 0);
	printf("tap offloads accepted by this kernel: 0x%x\n", (unsigned)mask);
	close(fd);
	ck_assert_int_eq(nl_link_delete("mvbr3"), 0);
}
END_TEST

/* vnetN: the first free N, skipping names any interface holds. */
START_TEST(tap_next_free_name)
{
	char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ];

	ck_assert_int_eq(nl_bridge_create("mvbr4", false, 0, NULL, 0), 0);
	int fa, fb, fc;
	ck_assert_int_eq(tap_open_next("vnet", "mvbr4", TAP_VNET_HDR, 1, &fa, a), 0);
	ck_assert_str_eq(a, "vnet0");
	/* vnet1 held by something that is not a TAP of ours */
	ck_assert_int_eq(nl_bridge_create("vnet1", false, 0, NULL, 0), 0);
	ck_assert_int_eq(tap_open_next("vnet", "mvbr4", TAP_VNET_HDR, 1, &fb, b), 0);
	ck_assert_str_eq(b, "vnet2");
	/* vnet0 freed: taken again first */
	close(fa);
	ck_assert_int_eq(tap_open_next("vnet", "mvbr4", 0, 1, &fc, c), 0);
	ck_assert_str_eq(c, "vnet0");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ip -o link show vnet2 | grep -q 'master mvbr4'");
	ck_assert_int_eq(system(cmd), 0);
	/* a missing bridge is the bridge's error, not a name hunt */
	ck_assert_int_eq(tap_open_next("vnet", "nosuchbr", 0, 1, &fa, a), -ENODEV);
	ck_assert_int_eq(tap_open_next("a-long-prefix-x", "mvbr4", 0, 1, &fa, a), -EINVAL);
	close(fb);
	close(fc);
	ck_assert_int_eq(nl_link_delete("vnet1"), 0);
	ck_assert_int_eq(nl_link_delete("mvbr4"), 0);
}
END_TEST

/* TUNGETIFF's flags of the TAP behind FD. */
static int tap_flags(int fd)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ck_assert_int_eq(ioctl(fd, TUNGETIFF, &ifr), 0);
	return ifr.ifr_flags;
}

/* One TAP, four queues (one per guest queue pair); a queue can be detached
 * and attached again; all fds closed, the TAP is gone. */
START_TEST(tap_multi_queue)
{
	char name[IFNAMSIZ];
	int fds[4];

	ck_assert_int_eq(nl_bridge_create("mvbr5", false, 0, NULL, 0), 0);
	ck_assert_int_eq(tap_open_next("vnet", "mvbr5", TAP_VNET_HDR, 4, fds, name), 0);
	for (int i = 0; i < 4; i++) {
		char qname[IFNAMSIZ];
		ck_assert_int_eq(tap_name(fds[i], qname), 0);
		ck_assert_str_eq(qname, name);
		ck_assert(tap_flags(fds[i]) & IFF_MULTI_QUEUE);
		ck_assert(tap_flags(fds[i]) & IFF_VNET_HDR);
	}
	ck_assert_int_eq(tap_set_vnet_hdr_size(fds[0], 12), 0);
	ck_assert_int_eq(tap_set_offload(fds[0], TUN_F_CSUM | TUN_F_TSO4), 0);
	ck_assert_int_eq(tap_set_queue(fds[3], false), 0);
	/* the guest's MTU comes from the bridge (a network's <mtu>) */
	ck_assert_int_eq(system("ip link set mvbr5 mtu 1400"), 0);
	ck_assert_int_eq(tap_if_mtu("mvbr5"), 1400);
	ck_assert_int_eq(tap_if_mtu("nosuchif0"), -ENODEV);
	ck_assert_int_eq(tap_set_queue(fds[3], true), 0);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	ck_assert_uint_eq(if_nametoindex(name), 0);
	ck_assert_int_eq(nl_link_delete("mvbr5"), 0);
}
END_TEST

/* --tap NAME: a persistent TAP made beforehand; without multi_queue it
 * gives one queue; missing names are a clear error. */
START_TEST(tap_attach_existing)
{
	int fds[2];
	unsigned n = 2;

	ck_assert_int_eq(system("ip tuntap add mvtap0 mode tap"), 0);
	ck_assert_int_eq(tap_attach("mvtap0", TAP_VNET_HDR, &n, fds), 0);
	ck_assert_uint_eq(n, 1);
	/* a second user of a single-queue TAP: busy */
	unsigned m = 1;
	int other;
	ck_assert_int_eq(tap_attach("mvtap0", TAP_VNET_HDR, &m, &other), -EBUSY);
	close(fds[0]);
	ck_assert_uint_ne(if_nametoindex("mvtap0"), 0); /* persistent: stays */
	ck_assert_int_eq(system("ip tuntap del mvtap0 mode tap"), 0);

	ck_assert_int_eq(system("ip tuntap add mvtap1 mode tap multi_queue"), 0);
	n = 2;
	ck_assert_int_eq(tap_attach("mvtap1", TAP_VNET_HDR, &n, fds), 0);
	ck_assert_uint_eq(n, 2);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(system("ip tuntap del mvtap1 mode tap multi_queue"), 0);

	n = 1;
	ck_assert_int_eq(tap_attach("mvnosuch", TAP_VNET_HDR, &n, fds), -ENODEV);
}
END_TEST

int main(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: needs root and a private network namespace\n");
		const char *ci = getenv("CI");
		return ci && !strcmp(ci, "true") ? EXIT_FAILURE : 77;
	}
	log_set_quiet(true);
	Suite *s = suite_create("tap");
	TCase *tc = tcase_create("tap");
	tcase_add_test(tc, tap_on_bridge);
	tcase_add_test(tc, tap_named_with_vnet_hdr);
	tcase_add_test(tc, tap_missing_bridge);
	tcase_add_test(tc, tap_name_length);
	tcase_add_test(tc, tap_offload_probe);
	tcase_add_test(tc, tap_next_free_name);
	tcase_add_test(tc, tap_multi_queue);
	tcase_add_test(tc, tap_attach_existing);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK); /* stay in our namespace */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
