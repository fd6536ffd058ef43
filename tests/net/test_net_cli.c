/* `net` commands that need no privileges, on a temporary state directory:
 * define/list/info/dumpxml/autostart/undefine, create --no-start, state
 * files, and the errors of net_resolve_bridge(). */
#include "net/net_cli.h"
#include "net/net_run.h"
#include "net/nft.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], xml[128], out[128];

static int run(const char *a0, const char *a1, const char *a2, const char *a3)
{
	char *argv[8] = {"net",	     "--state-dir", dir,	(char *)a0,
			 (char *)a1, (char *)a2,    (char *)a3, NULL};
	int argc = 3;
	while (argv[argc])
		argc++;
	/* capture stdout */
	fflush(stdout);
	int saved = dup(1), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	log_clear_last_error();
	int r = net_main(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return r;
}

static char *output(void)
{
	static char buf[4096];
	FILE *f = fopen(out, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *sub)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	return access(p, F_OK) == 0;
}

static void setup(void)
{
	log_set_quiet(true);
	snprintf(dir, sizeof(dir), "/tmp/mvcli.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(xml, sizeof(xml), "%s.xml", dir);
	snprintf(out, sizeof(out), "%s.out", dir);
	FILE *f = fopen(xml, "w");
	fputs("<network><name>vbr</name><forward mode='nat'/><bridge name='vbr' stp='on' "
	      "delay='0'/><ip address='192.168.100.254' netmask='255.255.255.0'><dhcp><range "
	      "start='192.168.100.128' end='192.168.100.200'/></dhcp></ip></network>\n",
	      f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s", dir, xml, out);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(define_list_info_undefine)
{
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	ck_assert(strstr(output(), "Network vbr defined from") != NULL);
	ck_assert(exists("networks/vbr.xml"));
	ck_assert_int_eq(run("list", NULL, NULL, NULL), 0);
	ck_assert(strstr(output(), " vbr              inactive  no         yes") != NULL);
	ck_assert_int_eq(run("autostart", "vbr", NULL, NULL), 0);
	ck_assert(exists("autostart/vbr"));
	ck_assert_int_eq(run("info", "vbr", NULL, NULL), 0);
	ck_assert(strstr(output(), "Autostart:      yes") != NULL);
	ck_assert(strstr(output(), "DHCP range:     192.168.100.128 - 192.168.100.200") != NULL);
	ck_assert_int_eq(run("dumpxml", "vbr", NULL, NULL), 0);
	ck_assert(strstr(output(), "<range start='192.168.100.128' end='192.168.100.200'>") !=
		  NULL);
	ck_assert_int_eq(run("autostart", "vbr", "--disable", NULL), 0);
	ck_assert(!exists("autostart/vbr"));
	ck_assert_int_eq(run("undefine", "vbr", NULL, NULL), 0);
	ck_assert(!exists("networks/vbr.xml"));
	ck_assert_int_eq(run("info", "vbr", NULL, NULL), 1);
	ck_assert_str_eq(log_last_error(), "net: network 'vbr' is not defined");
}
END_TEST

START_TEST(state_dir_from_environment)
{
	char *argv[] = {"net", "define", xml, NULL};
	setenv("MINIVMM_STATE_DIR", dir, 1);
	ck_assert_int_eq(net_main(3, argv), 0);
	unsetenv("MINIVMM_STATE_DIR");
	ck_assert(exists("networks/vbr.xml"));
}
END_TEST

START_TEST(create_no_start_and_conflicts)
{
	/* Never without --no-start here: as root that would change the host's
	 * network (starting is tested in the net suite, inside namespaces). */
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	char *argv[] = {"net",	    "--state-dir",	dir,	      "create", "other",
			"--subnet", "192.168.100.1/25", "--no-start", NULL};
	log_clear_last_error();
	ck_assert_int_eq(net_main(8, argv), 1);
	ck_assert_str_eq(log_last_error(), "net other: subnet overlaps network vbr");
	char *argv2[] = {"net",		"--state-dir", dir,   "create",	    "br2", "--subnet",
			 "10.9.0.1/24", "--bridge",    "vbr", "--no-start", NULL};
	ck_assert_int_eq(net_main(10, argv2), 1);
	ck_assert_str_eq(log_last_error(), "net br2: bridge name overlaps network vbr");
	char *argv3[] = {"net",		"--state-dir", dir,
			 "create",	"ok",	       "--subnet",
			 "10.9.0.1/24", "--dhcp",      "10.9.0.10-10.9.0.20",
			 "--isolated",	"--no-start",  NULL};
	ck_assert_int_eq(net_main(11, argv3), 0);
	ck_assert(exists("networks/ok.xml"));
	ck_assert_int_eq(net_main(11, argv3), 1);
	ck_assert_str_eq(log_last_error(), "net ok: a network of that name is already defined");
}
END_TEST

START_TEST(usage_errors)
{
	ck_assert_int_eq(run("frobnicate", NULL, NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "unknown command 'frobnicate'") != NULL);
	ck_assert_int_eq(run("start", NULL, NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "missing argument") != NULL);
	ck_assert_int_eq(run("info", "../etc", NULL, NULL), 1);
	ck_assert_str_eq(log_last_error(), "net: '../etc' is not a valid network name");
	ck_assert_int_eq(run("define", "/nonexistent.xml", NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "/nonexistent.xml") != NULL);
	ck_assert_int_eq(run("create", "x", "--subnet", NULL), 1);
	ck_assert(strstr(log_last_error(), "unknown or incomplete option '--subnet'") != NULL);
	ck_assert_int_eq(run("--help", NULL, NULL, NULL), 0);
	ck_assert(strstr(output(), "usage: minivmm net") != NULL);
}
END_TEST

START_TEST(resolve_bridge_errors)
{
	char br[16];
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	ck_assert_int_eq(net_resolve_bridge(dir, "vbr", br), -ENODEV);
	ck_assert_str_eq(
	    log_last_error(),
	    "net vbr: network is defined but not active (run `minivmm net start vbr`)");
	ck_assert_int_eq(net_resolve_bridge(dir, "nosuch0", br), -ENODEV);
	ck_assert_str_eq(log_last_error(),
			 "net: bridge nosuch0 does not exist and no network is defined for it");
	ck_assert_int_eq(net_resolve_bridge(dir, "lo", br), -ENODEV);
}
END_TEST

START_TEST(stale_run_record_is_inactive)
{
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	/* as left by a host reboot: a record, but no bridge */
	char p[256];
	snprintf(p, sizeof(p), "%s/run/vbr.run", dir);
	FILE *f = fopen(p, "w");
	fputs("pid=1 ifindex=4242 forward_prev=0\n", f);
	fclose(f);
	ck_assert_int_eq(run("list", NULL, NULL, NULL), 0);
	ck_assert(strstr(output(), "inactive") != NULL);
	ck_assert_int_eq(run("info", "vbr", NULL, NULL), 0);
	ck_assert(strstr(output(), "Active:         no") != NULL);
	/* (`stop` would clean up what such a record left behind — as root, on
	 * the real host — so it is exercised in the net suite, in namespaces) */
	ck_assert_int_eq(run("undefine", "vbr", NULL, NULL), 0);
}
END_TEST

static void put(const char *sub, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static bool holds(const char *sub, const char *text)
{
	char p[256], buf[256] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return !strcmp(buf, text);
}

static void mkdir_in(const char *sub)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

/* A network with an autostart mark and leases, to be undefined. */
static struct net_state defined_with_leases(void)
{
	struct net_state st;
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	ck_assert_int_eq(run("autostart", "vbr", NULL, NULL), 0);
	put("leases/vbr.leases", "2000 52:54:00:00:00:01 192.168.100.130 vm1\n");
	ck_assert_int_eq(net_state_open(&st, dir, false), 0);
	return st;
}

START_TEST(undefine_failure_keeps_everything)
{
	/* Removing the definition fails (a directory where the file should
	 * be: EISDIR, even for root): autostart and leases must survive. */
	struct net_state st = defined_with_leases();
	char want[256];
	snprintf(want, sizeof(want), "%s/networks/vbr.xml", dir);
	ck_assert_int_eq(unlink(want), 0);
	mkdir_in("networks/vbr.xml");
	put("networks/vbr.xml/keep", "x");
	log_clear_last_error();
	ck_assert_int_eq(net_state_remove(&st, "vbr"), -EISDIR);
	snprintf(want, sizeof(want), "net: removing %s/networks/vbr.xml: Is a directory", dir);
	ck_assert_str_eq(log_last_error(), want);
	ck_assert(exists("autostart/vbr"));
	ck_assert(holds("leases/vbr.leases", "2000 52:54:00:00:00:01 192.168.100.130 vm1\n"));
	ck_assert(!exists("autostart/vbr.undefining"));
	ck_assert(!exists("leases/vbr.leases.undefining"));
}
END_TEST

START_TEST(undefine_lease_failure_keeps_everything)
{
	/* The lease file cannot be moved (a non-empty directory in the way):
	 * the autostart mark already moved aside comes back, the definition
	 * is untouched. */
	struct net_state st = defined_with_leases();
	char want[256];
	mkdir_in("leases/vbr.leases.undefining");
	put("leases/vbr.leases.undefining/keep", "x");
	log_clear_last_error();
	ck_assert_int_lt(net_state_remove(&st, "vbr"), 0);
	snprintf(want, sizeof(want), "net: removing %s/leases/vbr.leases: Is a directory", dir);
	ck_assert_str_eq(log_last_error(), want);
	ck_assert(exists("networks/vbr.xml"));
	ck_assert(exists("autostart/vbr"));
	ck_assert(!exists("autostart/vbr.undefining"));
	ck_assert(holds("leases/vbr.leases", "2000 52:54:00:00:00:01 192.168.100.130 vm1\n"));
	ck_assert_int_eq(run("info", "vbr", NULL, NULL), 0);
	ck_assert(strstr(output(), "Autostart:      yes") != NULL);
}
END_TEST

START_TEST(undefine_removes_all)
{
	struct net_state st = defined_with_leases();
	ck_assert_int_eq(net_state_remove(&st, "vbr"), 0);
	ck_assert(!exists("networks/vbr.xml"));
	ck_assert(!exists("autostart/vbr"));
	ck_assert(!exists("leases/vbr.leases"));
	ck_assert(!exists("autostart/vbr.undefining"));
	ck_assert(!exists("leases/vbr.leases.undefining"));
}
END_TEST

START_TEST(nft_scripts)
{
	struct netdef d;
	char buf[2048];

	ck_assert_int_eq(netdef_from_args(&d, "vbr", "192.168.100.254/24", NULL, NET_FWD_NAT, NULL),
			 0);
	ck_assert_int_eq(nft_net_script(&d, buf, sizeof(buf)), 0);
	ck_assert(strstr(buf, "table ip minivmm-vbr {") == buf);
	ck_assert(strstr(buf, "ip saddr 192.168.100.0/24 ip daddr != 192.168.100.0/24 masquerade"));
	ck_assert(strstr(buf, "oifname \"vbr\" ip daddr 192.168.100.0/24 ct state "
			      "established,related accept"));
	ck_assert(strstr(buf, "iifname \"vbr\" ip daddr 169.254.169.254 tcp dport 80 "
			      "dnat to 192.168.100.254:8775"));
	ck_assert_int_eq(nft_net_script(&d, buf, 100), -ENOSPC);
	d.forward = NET_FWD_ROUTE;
	ck_assert_int_eq(nft_net_script(&d, buf, sizeof(buf)), 0);
	ck_assert(strstr(buf, "masquerade") == NULL);
	ck_assert(strstr(buf, "oifname \"vbr\" ip daddr 192.168.100.0/24 accept"));
	ck_assert(strstr(buf, "iifname \"vbr\" ip daddr 169.254.169.254 tcp dport 80 "
			      "dnat to 192.168.100.254:8775"));
	d.forward = NET_FWD_NONE;	/* isolated: only the metadata DNAT */
	ck_assert_int_eq(nft_net_script(&d, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "table ip minivmm-vbr {\n chain prerouting {\n"
			      "  type nat hook prerouting priority dstnat; policy accept;\n"
			      "  iifname \"vbr\" ip daddr 169.254.169.254 tcp dport 80 "
			      "dnat to 192.168.100.254:8775\n }\n}\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("net_cli");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, define_list_info_undefine);
	tcase_add_test(tc, state_dir_from_environment);
	tcase_add_test(tc, create_no_start_and_conflicts);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, resolve_bridge_errors);
	tcase_add_test(tc, stale_run_record_is_inactive);
	tcase_add_test(tc, nft_scripts);
	tcase_add_test(tc, undefine_failure_keeps_everything);
	tcase_add_test(tc, undefine_lease_failure_keeps_everything);
	tcase_add_test(tc, undefine_removes_all);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
