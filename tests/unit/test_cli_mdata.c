/* The metadata flags of the command line: --hostname, --ssh-key FILE,
 * --user-data FILE, checked before anything starts (names and limits as
 * net/mdata_record.h has them). */
#include "tests/unit/unit.h"
#include "net/mdata_record.h"
#include "vmm/cli.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse3(struct vm_config *cfg, const char *flag, const char *value)
{
	char *argv[] = { "minivmm", "--kernel", "k", (char *)flag, (char *)value, NULL };
	return cli_parse(value ? 5 : 4, argv, cfg);
}

/* A file of size bytes of 'x' in a temporary directory; path into buf. */
static void make_file(char *dir, char *buf, size_t size, const char *name, size_t bytes)
{
	snprintf(buf, size, "%s/%s", dir, name);
	FILE *f = fopen(buf, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < bytes; i++)
		fputc('x', f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(cli_hostname)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse3(&cfg, "--kernel", "k"), CLI_RUN);
	ck_assert_ptr_null(cfg.hostname);
	ck_assert_ptr_null(cfg.ssh_key_file);
	ck_assert_ptr_null(cfg.user_data_file);
	static const char *const good[] = { "web1", "a", "web-1.lab.example", "0abc",
		"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0" };	/* 63 */
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(parse3(&cfg, "--hostname", good[i]) == CLI_RUN, "refused '%s'", good[i]);
		ck_assert_str_eq(cfg.hostname, good[i]);
	}
	static const char *const bad[] = { "", "-web", "web-", "web..lab", ".web", "web.",
		"web_1", "web 1", "wéb", "a.-b", "a/b",
		"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01" };	/* 64 */
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse3(&cfg, "--hostname", bad[i]) == -EINVAL, "accepted '%s'", bad[i]);
		char want[128];
		snprintf(want, sizeof(want), "--hostname '%s': want 1..63", bad[i]);
		ck_assert_last_error(want);
	}
}
END_TEST

START_TEST(cli_mdata_files)
{
	char dir[] = "/tmp/minivmm-cli-mdata-XXXXXX", key[256], big_key[256], data[256],
	     big_data[256], missing[300];
	struct vm_config cfg;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	make_file(dir, key, sizeof(key), "id.pub", 100);
	make_file(dir, big_key, sizeof(big_key), "big.pub", MDATA_KEYS_BYTES + 1);
	make_file(dir, data, sizeof(data), "user-data", MDATA_DATA_MAX);
	make_file(dir, big_data, sizeof(big_data), "big-data", MDATA_DATA_MAX + 1);
	snprintf(missing, sizeof(missing), "%s/none", dir);

	ck_assert_int_eq(parse3(&cfg, "--ssh-key", key), CLI_RUN);
	ck_assert_str_eq(cfg.ssh_key_file, key);
	ck_assert_int_eq(parse3(&cfg, "--user-data", data), CLI_RUN);	/* exactly the limit */
	ck_assert_str_eq(cfg.user_data_file, data);

	char want[512];
	ck_assert_int_eq(parse3(&cfg, "--ssh-key", big_key), -EINVAL);
	snprintf(want, sizeof(want), "--ssh-key %s: larger than %d bytes", big_key,
		 MDATA_KEYS_BYTES);
	ck_assert_last_error(want);
	ck_assert_int_eq(parse3(&cfg, "--user-data", big_data), -EINVAL);
	snprintf(want, sizeof(want), "--user-data %s: larger than %d bytes", big_data,
		 MDATA_DATA_MAX);
	ck_assert_last_error(want);
	ck_assert_int_eq(parse3(&cfg, "--user-data", missing), -EINVAL);
	snprintf(want, sizeof(want), "--user-data %s: No such file", missing);
	ck_assert_last_error(want);
	ck_assert_int_eq(parse3(&cfg, "--ssh-key", dir), -EINVAL);
	snprintf(want, sizeof(want), "--ssh-key %s: not a regular file", dir);
	ck_assert_last_error(want);
	ck_assert_int_eq(parse3(&cfg, "--user-data", NULL), -EINVAL);
	ck_assert_last_error("--user-data needs a value");

	unlink(key);
	unlink(big_key);
	unlink(data);
	unlink(big_data);
	rmdir(dir);
}
END_TEST

/* --help names the three flags and where they reach the guest. */
START_TEST(cli_mdata_help)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	cli_usage(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "--hostname NAME"));
	ck_assert_ptr_nonnull(strstr(text, "--ssh-key FILE"));
	ck_assert_ptr_nonnull(strstr(text, "--user-data FILE"));
	/* where they reach the guest: --net user serves them too */
	ck_assert_ptr_nonnull(strstr(text, "or --net user's own"));
	ck_assert_ptr_null(strstr(text, "--net user have none"));
	free(text);
}
END_TEST

TCase *tcase_cli_mdata(void)
{
	TCase *tc = tcase_create("cli_mdata");
	tcase_add_test(tc, cli_hostname);
	tcase_add_test(tc, cli_mdata_files);
	tcase_add_test(tc, cli_mdata_help);
	return tc;
}
