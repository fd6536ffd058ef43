/* --net user[,net=CIDR][,mac=MAC][,hostfwd=...]... (devices/virtio/net_user_opts.c):
 * QEMU's defaults, net= moving every address, forwards with and without
 * addresses, and every malformed form a one-line error naming --net, the
 * value and the part at fault. */
#include "tests/unit/unit.h"

#include "devices/virtio/net_user_opts.h"
#include "vmm/cli.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const char *ip(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static unsigned i;
	return inet_ntop(AF_INET, &a, buf[i++ % 4], INET_ADDRSTRLEN);
}

START_TEST(user_defaults)
{
	struct net_user_opts o;
	ck_assert_int_eq(net_user_opts_parse("user", &o), 0);
	ck_assert_str_eq(ip(o.net), "10.0.2.0");
	ck_assert_str_eq(ip(o.mask), "255.255.255.0");
	ck_assert_uint_eq(o.prefix, 24);
	ck_assert_str_eq(ip(o.gateway), "10.0.2.2");
	ck_assert_str_eq(ip(o.dns), "10.0.2.3");
	ck_assert_str_eq(ip(o.dhcp_start), "10.0.2.15");
	ck_assert(!o.has_mac);
	ck_assert_uint_eq(o.nfwds, 0);
}
END_TEST

START_TEST(user_net_and_forwards)
{
	struct net_user_opts o;
	char buf[96];

	/* hostfwd before net=: the default guest address follows net= */
	ck_assert_int_eq(net_user_opts_parse("user,hostfwd=tcp::8022-:80,net=192.168.76.0/22,"
					     "hostfwd=udp:0.0.0.0:5353-192.168.77.9:53,"
					     "hostfwd=::2222-:22,mac=52:54:00:00:00:07", &o), 0);
	ck_assert_str_eq(ip(o.net), "192.168.76.0");
	ck_assert_str_eq(ip(o.mask), "255.255.252.0");
	ck_assert_str_eq(ip(o.gateway), "192.168.76.2");
	ck_assert_str_eq(ip(o.dns), "192.168.76.3");
	ck_assert_str_eq(ip(o.dhcp_start), "192.168.76.15");
	ck_assert(o.has_mac);
	ck_assert_uint_eq(o.mac[5], 7);
	ck_assert_uint_eq(o.nfwds, 3);
	ck_assert_str_eq(net_user_fwd_format(&o.fwd[0], buf, sizeof(buf)),
			 "tcp 127.0.0.1:8022 -> 192.168.76.15:80");
	ck_assert_str_eq(net_user_fwd_format(&o.fwd[1], buf, sizeof(buf)),
			 "udp 0.0.0.0:5353 -> 192.168.77.9:53");
	ck_assert_str_eq(net_user_fwd_format(&o.fwd[2], buf, sizeof(buf)),	/* QEMU: empty is tcp */
			 "tcp 127.0.0.1:2222 -> 192.168.76.15:22");
	ck_assert_int_eq(net_user_opts_parse("user,net=10.9.0.0", &o), 0);	/* /24 implied */
	ck_assert_str_eq(ip(o.mask), "255.255.255.0");
	ck_assert_int_eq(net_user_opts_parse("user,net=172.16.0.0/27", &o), 0);
	/* the same host port on tcp and on udp, or on two addresses: fine */
	ck_assert_int_eq(net_user_opts_parse("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53,"
					     "hostfwd=tcp:127.0.0.2:53-:53", &o), 0);
	ck_assert_uint_eq(o.nfwds, 3);
}
END_TEST

static void bad(const char *value, const char *want)
{
	struct net_user_opts o;
	char full[256];

	ck_assert_msg(net_user_opts_parse(value, &o) == -EINVAL, "'%s' accepted", value);
	/* names the flag and the value first, then says what is wrong */
	snprintf(full, sizeof(full), "--net '%s': ", value);
	ck_assert_msg(strstr(log_last_error(), full) != NULL, "'%s': expected '%s', got '%s'",
		      value, full, log_last_error());
	ck_assert_msg(strstr(strstr(log_last_error(), full) + strlen(full), want) != NULL,
		      "'%s': expected '%s', got '%s'", value, want, log_last_error());
	ck_assert_msg(!strchr(log_last_error(), '\n'), "not one line: '%s'", log_last_error());
}

START_TEST(user_bad_forms)
{
	log_set_quiet(true);
	bad("", "unknown kind '' (only 'user'");
	bad("tap", "unknown kind 'tap' (only 'user'; for a TAP use --bridge or --tap)");
	bad("users", "unknown kind 'users'");
	bad("user,", "unknown option '' (expected net=CIDR, mac=MAC or hostfwd=...)");
	bad("user,model=e1000", "unknown option 'model=e1000'");
	bad("user,hostfwd", "unknown option 'hostfwd'");
	bad("user,net=", "net=: expected an IPv4 network like 10.0.2.0/24");
	bad("user,net=10.0.2", "net=10.0.2: expected an IPv4 network");
	bad("user,net=10.0.2.0/", "net=10.0.2.0/: expected an IPv4 network");
	bad("user,net=10.0.2.0/x", "net=10.0.2.0/x: expected");
	bad("user,net=10.0.2.0/24x", "net=10.0.2.0/24x: expected");
	bad("user,net=10.0.2.0/33", "net=10.0.2.0/33: expected");
	bad("user,net=fec0::/64", "net=fec0::/64: expected an IPv4 network");
	bad("user,net=10.0.2.0/28", "net=10.0.2.0/28: prefix /28: use /1 to /27");
	bad("user,net=0.0.0.0/0", "net=0.0.0.0/0: prefix /0: use /1 to /27");
	bad("user,net=10.0.2.1/24", "net=10.0.2.1/24: host bits set (the network is 10.0.2.0/24?)");
	bad("user,net=10.0.2.0/24,net=10.0.3.0/24", "net= given twice");
	bad("user,mac=52:54:00:12:34", "MAC 52:54:00:12:34: not six hex bytes");
	bad("user,mac=01:00:5e:00:00:01", "MAC 01:00:5e:00:00:01: a multicast");
	bad("user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac= given twice");
	bad("user,hostfwd=", "hostfwd=: expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
	bad("user,hostfwd=sctp::1-:2", "hostfwd=sctp::1-:2: expected tcp|udp:");
	bad("user,hostfwd=tcp", "hostfwd=tcp: expected tcp|udp:");
	bad("user,hostfwd=tcp:8022:80", "hostfwd=tcp:8022:80: no '-' between the host and the guest side");
	bad("user,hostfwd=tcp::8022-", "guest side: expected [ADDRESS]:PORT");
	bad("user,hostfwd=tcp:8022-:80", "host side: expected [ADDRESS]:PORT");
	bad("user,hostfwd=:8022-:80", "hostfwd=:8022-:80: host side: expected [ADDRESS]:PORT");
	bad("user,hostfwd=tcp::-:80", "host port '' is not a number from 1 to 65535");
	bad("user,hostfwd=tcp::0-:80", "host port '0' is not");
	bad("user,hostfwd=tcp::65536-:80", "host port '65536' is not");
	bad("user,hostfwd=tcp::+80-:80", "host port '+80' is not");
	bad("user,hostfwd=tcp::80x-:80", "host port '80x' is not");
	bad("user,hostfwd=tcp::8022-:", "guest port '' is not");
	bad("user,hostfwd=tcp::8022-:99999", "guest port '99999' is not");
	bad("user,hostfwd=tcp:localhost:8022-:80", "host address 'localhost' is not an IPv4 address");
	bad("user,hostfwd=tcp:1.2.3:8022-:80", "host address '1.2.3' is not");
	bad("user,hostfwd=tcp::8022-10.0.2.300:80", "guest address '10.0.2.300' is not");
	bad("user,hostfwd=tcp::8022-10.0.3.15:80",
	    "hostfwd guest address 10.0.3.15 is not a host of the guest network 10.0.2.0/24");
	bad("user,hostfwd=tcp::8022-10.0.2.255:80", "guest address 10.0.2.255 is not a host");
	bad("user,hostfwd=tcp::8022-10.0.2.0:80", "guest address 10.0.2.0 is not a host");
	bad("user,hostfwd=tcp::8022-:80,hostfwd=tcp:127.0.0.1:8022-:22",
	    "hostfwd=tcp:127.0.0.1:8022-:22: host port tcp 8022 forwarded twice");
	bad("user,hostfwd=tcp::8022-:80,net=10.1.0.0/16,hostfwd=tcp::1-10.0.2.15:2",
	    "guest address 10.0.2.15 is not a host of the guest network 10.1.0.0/16");
	bad("user,net=10.0.2.0/24aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "option 'net=10.0.2.0/24aaaaa...' too long");

	char many[40 * NET_USER_MAX_FWDS + 64];
	int k = snprintf(many, sizeof(many), "user");
	for (int i = 0; i <= NET_USER_MAX_FWDS; i++)
		k += snprintf(many + k, sizeof(many) - (size_t)k, ",hostfwd=tcp::%d-:22", 2000 + i);
	bad(many, "at most 16 hostfwd= per NIC");
}
END_TEST

START_TEST(user_on_the_command_line)
{
	struct vm_config cfg;
	char *argv[] = { "minivmm", "--kernel", "k", "--net", "user,hostfwd=tcp::8022-:80",
			 "--bridge", "vbr", "--net=user", NULL };
	ck_assert_int_eq(cli_parse(8, argv, &cfg), CLI_RUN);
	ck_assert_uint_eq(cfg.nnics, 3);	/* eth0, eth1, eth2 in order */
	ck_assert_int_eq(cfg.nics[0].kind, CLI_NIC_USER);
	ck_assert_str_eq(cfg.nics[0].spec, "user,hostfwd=tcp::8022-:80");
	ck_assert_int_eq(cfg.nics[1].kind, CLI_NIC_BRIDGE);
	ck_assert_int_eq(cfg.nics[2].kind, CLI_NIC_USER);

	log_set_quiet(true);
	char *bad_argv[] = { "minivmm", "--kernel", "k", "--net", "user,hostfwd=tcp::x-:80", NULL };
	ck_assert_int_eq(cli_parse(5, bad_argv, &cfg), -EINVAL);
	ck_assert_last_error("--net 'user,hostfwd=tcp::x-:80': hostfwd=tcp::x-:80: host port 'x'");
	char *no_value[] = { "minivmm", "--kernel", "k", "--net", NULL };
	ck_assert_int_eq(cli_parse(4, no_value, &cfg), -EINVAL);
	ck_assert_last_error("--net needs a value");
}
END_TEST

TCase *tcase_net_user_opts(void)
{
	TCase *tc = tcase_create("net_user_opts");
	tcase_add_test(tc, user_defaults);
	tcase_add_test(tc, user_net_and_forwards);
	tcase_add_test(tc, user_bad_forms);
	tcase_add_test(tc, user_on_the_command_line);
	return tc;
}
