/* vmm/life/dom_cli in-process, under ASan/UBSan: every verb once, the
 * usage errors, and edit through a scripted $EDITOR (dom_cli.sh checks the
 * output byte for byte through the binary). */
#include "vmm/life/dom_cli.h"
#include "vmm/life/dom_store.h"
#include "vmm/log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], xml[96];

/* dom_main(VERB ARGS... --state-dir DIR); the arguments end at the first NULL. */
static int run(const char *a, const char *b, const char *c, const char *d)
{
	const char *in[] = {a, b, c, d};
	char *argv[8];
	int argc = 0;
	for (int i = 0; i < 4 && in[i]; i++)
		argv[argc++] = (char *)in[i];
	argv[argc++] = "--state-dir";
	argv[argc++] = dir;
	argv[argc] = NULL;
	log_clear_last_error();
	return dom_main(argc, argv);
}

static void setup(void)
{
	strcpy(dir, "/tmp/minivmm-clitestXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(xml, sizeof(xml), "%s/vm.xml", dir);
	FILE *f = fopen(xml, "w");
	fputs("<domain type='kvm'><name>vm</name><memory unit='MiB'>256</memory>"
	      "<devices><disk type='file'><source file='/d.img'/><target dev='vda'/></disk>"
	      "<interface type='network'><source network='default'/><model type='virtio'/>"
	      "</interface><video/></devices></domain>",
	      f);
	fclose(f);
	ck_assert(freopen("/dev/null", "w", stdout) != NULL);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(every_verb)
{
	struct net_state st;
	struct domdef d;
	ck_assert_int_eq(run("define", xml, NULL, NULL), 0);
	ck_assert_int_eq(run("list", "--all", NULL, NULL), 0);
	ck_assert_int_eq(run("list", "--inactive", "--name", NULL), 0);
	ck_assert_int_eq(run("list", "-q", NULL, NULL), 0);
	ck_assert_int_eq(run("dominfo", "vm", NULL, NULL), 0);
	ck_assert_int_eq(run("domblklist", "vm", "--details", NULL), 0);
	ck_assert_int_eq(run("domiflist", "vm", NULL, NULL), 0);
	ck_assert_int_eq(run("dumpxml", "vm", NULL, NULL), 0);
	ck_assert_int_eq(run("autostart", "vm", NULL, NULL), 0);
	ck_assert_int_eq(dom_store_open(&st, dir, false), 0);
	ck_assert(dom_store_autostart(&st, "vm"));
	ck_assert_int_eq(run("autostart", "--disable", "vm", NULL), 0);
	ck_assert(!dom_store_autostart(&st, "vm"));

	setenv("EDITOR", "sed -i s/262144/524288/", 1); /* stored in KiB */
	ck_assert_int_eq(run("edit", "vm", NULL, NULL), 0);
	ck_assert_int_eq(dom_store_load(&st, "vm", &d), 0);
	ck_assert_uint_eq(d.memory_kib, 512 * 1024);
	domdef_free(&d);
	setenv("EDITOR", "false", 1);
	ck_assert_int_eq(run("edit", "vm", NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "the editor 'false' failed") != NULL);
	unsetenv("EDITOR");

	ck_assert_int_eq(run("define", "--name", "f1", "--memory"), 1); /* no value */
	ck_assert(strstr(log_last_error(), "'--memory'") != NULL);
	ck_assert_int_eq(run("define", "--memory", "--cpus", "2"), 1); /* no value either */
	ck_assert(strstr(log_last_error(), "'--memory'") != NULL);
	ck_assert_int_eq(run("define", "--name", "f1", NULL), 0);
	ck_assert(dom_store_exists(&st, "f1"));
	ck_assert_int_eq(run("undefine", "vm", NULL, NULL), 0);
	ck_assert_int_eq(run("undefine", "f1", NULL, NULL), 0);
	ck_assert(!dom_store_exists(&st, "vm"));
	net_state_close(&st);
}
END_TEST

START_TEST(usage_errors)
{
	ck_assert_int_eq(run("dominfo", NULL, NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "dominfo: expected one domain name") != NULL);
	ck_assert_int_eq(run("dominfo", "a", "b", NULL), 1);
	ck_assert_int_eq(run("list", "--frob", NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "list: unknown option '--frob'") != NULL);
	ck_assert_int_eq(run("define", NULL, NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "FILE.xml or --name NAME is required") != NULL);
	ck_assert_int_eq(run("define", "--bogus", "x", NULL), 1);
	ck_assert_int_eq(run("define", "/nonexistent.xml", NULL, NULL), 1);
	ck_assert(strstr(log_last_error(), "/nonexistent.xml: No such file") != NULL);
	ck_assert_int_eq(run("dominfo", "nope", NULL, NULL), 1);
	ck_assert_str_eq(log_last_error(), "failed to get domain 'nope'");
	ck_assert_int_eq(run("autostart", "../x", NULL, NULL), 1);
	ck_assert_str_eq(log_last_error(), "domain: '../x' is not a valid domain name");
	ck_assert_int_eq(run("list", "--help", NULL, NULL), 0);
	ck_assert(dom_cli_is_verb("domiflist") && !dom_cli_is_verb("frobnicate") &&
		  !dom_cli_is_verb(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dom_cli");
	TCase *tc = tcase_create("cli");
	log_set_quiet(true);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_verb);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
