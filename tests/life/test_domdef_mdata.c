/* minivmm's <metadata> element in domain definitions: read by namespace
 * (any prefix or a default xmlns), other applications' metadata kept
 * unread, errors with file and line, and define --hostname/--ssh-key/
 * --user-data writing it. */
#include "vmm/life/domdef.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS "https://minivmm.dev/xmlns/domain/1"
#define HEAD "<domain type='kvm'><name>web1</name><memory>65536</memory>"
#define TAIL "</domain>"

static int parse(const char *xml, struct domdef *d)
{
	log_clear_last_error();
	return domdef_from_xml(xml, strlen(xml), "t.xml", d);
}

START_TEST(read_by_namespace)
{
	static const char xml[] =
	    HEAD "<metadata>\n"
	    "<app:info xmlns:app='http://example.org/app'><app:x>1</app:x></app:info>\n"
	    "<mv:instance xmlns:mv='" NS "'>\n"
	    "  <mv:hostname> web1.lab </mv:hostname>\n"
	    "  <mv:ssh-key file='/home/t/.ssh/id.pub'/>\n"
	    "  <mv:user-data file='/srv/lab/web1.sh'/>\n"
	    "</mv:instance></metadata>" TAIL;
	struct domdef d;
	ck_assert_int_eq(parse(xml, &d), 0);
	ck_assert_str_eq(d.hostname, "web1.lab");
	ck_assert_str_eq(d.ssh_key_file, "/home/t/.ssh/id.pub");
	ck_assert_str_eq(d.user_data_file, "/srv/lab/web1.sh");
	char *out;
	ck_assert_int_eq(domdef_to_xml(&d, &out), 0);	/* stored as given */
	ck_assert_ptr_nonnull(strstr(out, "<app:x>1</app:x>"));
	ck_assert_ptr_nonnull(strstr(out, "<mv:user-data file=\"/srv/lab/web1.sh\"/>") ?:
			      strstr(out, "<mv:user-data file='/srv/lab/web1.sh'/>"));
	domdef_free(&d);
	free(out);

	/* the default namespace, and a prefix declared on <domain> */
	static const char dflt[] = HEAD "<metadata><instance xmlns='" NS "'>"
				   "<hostname>a</hostname></instance></metadata>" TAIL;
	ck_assert_int_eq(parse(dflt, &d), 0);
	ck_assert_str_eq(d.hostname, "a");
	ck_assert_ptr_null(d.ssh_key_file);
	domdef_free(&d);
	static const char top[] = "<domain type='kvm' xmlns:m='" NS "'><name>b</name>"
				  "<memory>65536</memory><metadata><m:instance>"
				  "<m:user-data file='/u'/></m:instance></metadata>" TAIL;
	ck_assert_int_eq(parse(top, &d), 0);
	ck_assert_ptr_null(d.hostname);
	ck_assert_str_eq(d.user_data_file, "/u");
	domdef_free(&d);

	/* a look-alike in another namespace (or none) is not ours */
	static const char other[] = HEAD "<metadata><minivmm:instance xmlns:minivmm='urn:x'>"
				    "<minivmm:hostname>-bad-</minivmm:hostname></minivmm:instance>"
				    "<instance><hostname>-bad-</hostname></instance></metadata>" TAIL;
	ck_assert_int_eq(parse(other, &d), 0);
	ck_assert_ptr_null(d.hostname);
	domdef_free(&d);
}
END_TEST

static const struct { const char *body, *error; } refused[] = {
	{ "<m:hostname>web_1</m:hostname>", "t.xml:1: <m:hostname>web_1</m:hostname>: want a host name" },
	{ "<m:hostname>a..b</m:hostname>", "want a host name" },
	{ "<m:hostname></m:hostname>", "want a host name" },
	{ "<m:hostname>a</m:hostname><m:hostname>b</m:hostname>", "only one <hostname>" },
	{ "<m:ssh-key file='id.pub'/>", "<m:ssh-key>: needs file='/absolute/path'" },
	{ "<m:user-data/>", "<m:user-data>: needs file='/absolute/path'" },
	{ "<m:user-data file='/a'/><m:user-data file='/b'/>", "only one <user-data>" },
	{ "<m:vendor-data file='/a'/>", "<m:vendor-data> in minivmm's <instance> is not supported" },
	{ "text", "text inside <m:instance>" },
};

START_TEST(refused_case)
{
	char xml[1024];
	struct domdef d;
	snprintf(xml, sizeof(xml), HEAD "<metadata><m:instance xmlns:m='" NS "'>%s</m:instance>"
		 "</metadata>" TAIL, refused[_i].body);
	ck_assert_int_eq(parse(xml, &d), -EINVAL);
	ck_assert_msg(strstr(log_last_error(), refused[_i].error) != NULL, "%s: got '%s'",
		      refused[_i].body, log_last_error());
}
END_TEST

START_TEST(two_instances_refused)
{
	static const char xml[] = HEAD "<metadata><m:instance xmlns:m='" NS "'/>"
				  "<n:instance xmlns:n='" NS "'/></metadata>" TAIL;
	struct domdef d;
	ck_assert_int_eq(parse(xml, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "only one minivmm <instance>"));
	static const char wrong[] = HEAD "<metadata><m:host xmlns:m='" NS "'/></metadata>" TAIL;
	ck_assert_int_eq(parse(wrong, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "minivmm's metadata element is <instance>"));
}
END_TEST

START_TEST(from_flags)
{
	char dir[] = "/tmp/minivmm-dmdXXXXXX", key[64], ud[64], real[PATH_MAX];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/id.pub", dir);
	snprintf(ud, sizeof(ud), "%s/u'd&<x>.sh", dir);	/* quoted into an attribute */
	FILE *f = fopen(key, "w");
	fputs("ssh-ed25519 AAAA t@h\n", f);
	fclose(f);
	f = fopen(ud, "w");
	fputs("#!/bin/sh\necho hi\n", f);
	fclose(f);

	struct domdef d, again;
	struct dom_flags fl = { .name = "w", .hostname = "web1", .ssh_key = key, .user_data = ud };
	ck_assert_int_eq(domdef_from_flags(&fl, &d), 0);
	ck_assert_str_eq(d.hostname, "web1");
	ck_assert_ptr_nonnull(realpath(key, real));
	ck_assert_str_eq(d.ssh_key_file, real);
	ck_assert_ptr_nonnull(realpath(ud, real));
	ck_assert_str_eq(d.user_data_file, real);
	/* the stored document reads back the same */
	char *out;
	ck_assert_int_eq(domdef_to_xml(&d, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, NS));
	ck_assert_int_eq(domdef_from_xml(out, strlen(out), "stored.xml", &again), 0);
	ck_assert_str_eq(again.hostname, "web1");
	ck_assert_str_eq(again.user_data_file, real);
	domdef_free(&again);
	domdef_free(&d);
	free(out);

	struct dom_flags none = { .name = "n" };	/* no flags: no element */
	ck_assert_int_eq(domdef_from_flags(&none, &d), 0);
	ck_assert_ptr_null(d.hostname);
	ck_assert_int_eq(domdef_to_xml(&d, &out), 0);
	ck_assert_ptr_null(strstr(out, "metadata"));
	domdef_free(&d);
	free(out);

	struct dom_flags bad = { .name = "x", .hostname = "-x" };
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "--hostname '-x'"));
	bad = (struct dom_flags){ .name = "x", .ssh_key = "/nonexistent/id.pub" };
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "--ssh-key /nonexistent/id.pub"));
	bad = (struct dom_flags){ .name = "x", .user_data = dir };
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "not a regular file"));

	unlink(key);
	unlink(ud);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("domdef_mdata");
	TCase *tc = tcase_create("domdef_mdata");
	log_set_quiet(true);
	tcase_add_test(tc, read_by_namespace);
	tcase_add_loop_test(tc, refused_case, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, two_instances_refused);
	tcase_add_test(tc, from_flags);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
