/* vmm/life/dom_store and dom_define: the domains/ part of the state
 * directory, virsh's list order, and define's name/uuid rules. */
#include "vmm/life/dom_define.h"
#include "vmm/life/dom_store.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct net_state st;

static void setup(void)
{
	strcpy(dir, "/tmp/minivmm-storeXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(dom_store_open(&st, dir, true), 0);
}

static void teardown(void)
{
	char cmd[128];
	net_state_close(&st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static bool exists(const char *sub)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	return access(p, F_OK) == 0;
}

static void define(const char *name, const char *uuid, int want)
{
	char xml[512];
	struct domdef d;
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>%s</name>%s%s%s<memory>1024</memory>"
		 "<devices><interface type='bridge'><source bridge='vbr'/>"
		 "<model type='virtio'/></interface></devices></domain>",
		 name, uuid ? "<uuid>" : "", uuid ? uuid : "", uuid ? "</uuid>" : "");
	ck_assert_int_eq(domdef_from_xml(xml, strlen(xml), "t.xml", &d), 0);
	log_clear_last_error();
	ck_assert_int_eq(dom_define(&st, &d), want);
	domdef_free(&d);
}

START_TEST(layout_and_list_order)
{
	static char names[8][DOM_NAME_MAX + 1];
	ck_assert(exists("domains") && exists("domains/autostart") && exists("domains/run"));
	ck_assert(exists("networks") && exists("lock")); /* the directory `minivmm net` uses */
	define("b", NULL, 0);
	define("A", NULL, 0);
	define("c", NULL, 0);
	define("a2", NULL, 0);
	ck_assert(exists("domains/A.xml"));
	/* files that are no definition are not listed */
	char p[128];
	snprintf(p, sizeof(p), "%s/domains/.xml", dir);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof(p), "%s/domains/bad name.xml", dir);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof(p), "%s/domains/notes.txt", dir);
	fclose(fopen(p, "w"));
	ck_assert_int_eq(dom_store_list(&st, names, 8), 4);
	ck_assert_str_eq(names[0], "A"); /* case-insensitive, as virsh */
	ck_assert_str_eq(names[1], "a2");
	ck_assert_str_eq(names[2], "b");
	ck_assert_str_eq(names[3], "c");
	ck_assert_int_eq(dom_store_list(&st, names, 2), 2); /* bounded */

	struct dom_status s;
	ck_assert_int_eq(dom_store_status(&st, "b", &s), 0);
	ck_assert_int_eq(s.state, DOM_SHUTOFF);
	ck_assert_int_eq(s.id, -1);
	ck_assert_str_eq(dom_state_word(s.state), "shut off");
	ck_assert_str_eq(dom_state_word((enum dom_run_state)99), "no state");
}
END_TEST

START_TEST(autostart_and_remove)
{
	define("vm", NULL, 0);
	ck_assert(!dom_store_autostart(&st, "vm"));
	ck_assert_int_eq(dom_store_set_autostart(&st, "vm", true), 0);
	ck_assert(exists("domains/autostart/vm"));
	ck_assert(dom_store_autostart(&st, "vm"));
	ck_assert_int_eq(dom_store_remove(&st, "vm"), 0);
	ck_assert(!exists("domains/vm.xml") && !exists("domains/autostart/vm"));
	ck_assert(!dom_store_exists(&st, "vm"));
	ck_assert_int_eq(dom_store_remove(&st, "vm"), -ENOENT);
	ck_assert(strstr(log_last_error(), "domains/vm.xml") != NULL);
	struct domdef d;
	ck_assert_int_eq(dom_store_load(&st, "vm", &d), -ENOENT);
	ck_assert_str_eq(log_last_error(), "failed to get domain 'vm'");
	ck_assert_int_eq(dom_store_load(&st, "../lock", &d), -EINVAL);
	ck_assert_str_eq(log_last_error(), "domain: '../lock' is not a valid domain name");
	ck_assert_int_eq(dom_store_set_autostart(&st, "a/b", true), -EINVAL);
	ck_assert(!dom_store_exists(&st, "../domains/x"));
}
END_TEST

START_TEST(define_rules)
{
	static const char U1[] = "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6";
	static const char U2[] = "00000000-0000-4000-8000-000000000001";
	struct domdef d, e;
	define("vm", U1, 0);
	define("vm", U1, 0); /* the same domain again: replaced */
	define("vm", U2, -EEXIST);
	ck_assert_str_eq(log_last_error(), "domain 'vm' already exists with uuid "
					   "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6");
	define("other", U1, -EEXIST); /* its uuid is taken */
	ck_assert_str_eq(log_last_error(), "domain 'vm' already exists with uuid "
					   "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6");
	ck_assert(!dom_store_exists(&st, "other"));
	/* no uuid: the stored one and the generated MAC are kept */
	ck_assert_int_eq(dom_store_load(&st, "vm", &d), 0);
	define("vm", NULL, 0);
	ck_assert_int_eq(dom_store_load(&st, "vm", &e), 0);
	ck_assert_str_eq(e.uuid, U1);
	ck_assert_mem_eq(e.nics[0].mac, d.nics[0].mac, 6);
	char *x;
	ck_assert_int_eq(domdef_to_xml(&e, &x), 0);
	ck_assert(strstr(x, "<uuid>7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6</uuid>") != NULL);
	free(x);
	domdef_free(&d);
	domdef_free(&e);
	/* a damaged definition is skipped by the rules, still listed */
	char p[128];
	snprintf(p, sizeof(p), "%s/domains/broken.xml", dir);
	FILE *f = fopen(p, "w");
	fputs("<domain", f);
	fclose(f);
	define("new", NULL, 0);
	ck_assert(dom_store_exists(&st, "broken"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dom_store");
	TCase *tc = tcase_create("store");
	log_set_quiet(true);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, layout_and_list_order);
	tcase_add_test(tc, autostart_and_remove);
	tcase_add_test(tc, define_rules);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
