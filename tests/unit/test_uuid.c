/* UUID text, the derived default and the VM identity key it comes from. */
#include "tests/unit/unit.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/uuid.h"
#include "vmm/vm_identity.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(uuid_text_round_trip)
{
	uint8_t u[UUID_LEN];
	char buf[UUID_STRLEN];
	ck_assert_int_eq(uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", u), 0);
	ck_assert_uint_eq(u[0], 0x00);
	ck_assert_uint_eq(u[3], 0x33);
	ck_assert_uint_eq(u[15], 0xff);
	ck_assert_str_eq(uuid_format(u, buf), "00112233-4455-6677-8899-aabbccddeeff");
	static const char *const bad[] = {
		"", "00112233-4455-6677-8899-aabbccddeef", "00112233-4455-6677-8899-aabbccddeeff0",
		"001122334455-6677-8899-aabbccddeeff-", "00112233-4455-6677-8899_aabbccddeeff",
		"0011223g-4455-6677-8899-aabbccddeeff", "{00112233-4455-6677-8899-aabbccddeeff}",
		"00112233445566778899aabbccddeeff",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(uuid_parse(bad[i], u) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(uuid_derive_is_stable_and_versioned)
{
	uint8_t a[UUID_LEN], b[UUID_LEN], c[UUID_LEN];
	uuid_derive("/var/lib/images/vmhost.img", a);
	uuid_derive("/var/lib/images/vmhost.img", b);
	uuid_derive("/var/lib/images/other.img", c);
	ck_assert_mem_eq(a, b, UUID_LEN);
	ck_assert(memcmp(a, c, UUID_LEN) != 0);
	ck_assert(memcmp(a, a + 8, 8) != 0);	/* two different halves */
	ck_assert_uint_eq(a[6] >> 4, 8);	/* version 8 */
	ck_assert_uint_eq(a[8] >> 6, 2);	/* variant 10 */
	ck_assert_uint_eq(c[6] >> 4, 8);
	ck_assert_uint_eq(c[8] >> 6, 2);
}
END_TEST

/* The key is the first disk's real path (options stripped), else the kernel's. */
START_TEST(identity_key_and_uuid)
{
	char dir[] = "/tmp/mvuuid-XXXXXX", disk[64], kernel[64], via[128], *key;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(disk, sizeof(disk), "%s/d.img", dir);
	snprintf(kernel, sizeof(kernel), "%s/k", dir);
	fclose(fopen(disk, "w"));
	fclose(fopen(kernel, "w"));
	snprintf(via, sizeof(via), "%s/../%s/d.img,readonly,format=raw", dir, strrchr(dir, '/') + 1);

	struct vm_config cfg = { .kernel = kernel, .ndisks = 1, .disks = { via } };
	ck_assert_int_eq(vm_identity_key(&cfg, &key), 0);
	ck_assert_str_eq(key, disk);
	free(key);
	uint8_t u[UUID_LEN], want[UUID_LEN];
	ck_assert_int_eq(vm_identity_uuid(&cfg, u), 0);
	uuid_derive(disk, want);
	ck_assert_mem_eq(u, want, UUID_LEN);

	cfg.ndisks = 0;
	ck_assert_int_eq(vm_identity_key(&cfg, &key), 0);
	ck_assert_str_eq(key, kernel);
	free(key);

	cfg.uuid = "00112233-4455-6677-8899-aabbccddeeff";
	ck_assert_int_eq(vm_identity_uuid(&cfg, u), 0);
	ck_assert_uint_eq(u[1], 0x11);

	cfg.uuid = NULL;
	cfg.kernel = "/nonexistent/minivmm-kernel";
	ck_assert_int_eq(vm_identity_uuid(&cfg, u), -ENOENT);
	ck_assert_last_error("--kernel /nonexistent/minivmm-kernel");
	unlink(disk);
	unlink(kernel);
	rmdir(dir);
}
END_TEST

/* --uuid is checked by the parser, with the flag and value named. */
START_TEST(cli_uuid_flag)
{
	struct vm_config cfg;
	char *ok[] = { "minivmm", "--kernel", "k", "--uuid", "00112233-4455-6677-8899-aabbccddeeff" };
	ck_assert_int_eq(cli_parse(5, ok, &cfg), CLI_RUN);
	ck_assert_str_eq(cfg.uuid, "00112233-4455-6677-8899-aabbccddeeff");
	char *none[] = { "minivmm", "--kernel", "k" };
	ck_assert_int_eq(cli_parse(3, none, &cfg), CLI_RUN);
	ck_assert_ptr_null(cfg.uuid);
	char *bad[] = { "minivmm", "--kernel", "k", "--uuid", "nope" };
	ck_assert_int_eq(cli_parse(5, bad, &cfg), -EINVAL);
	ck_assert_last_error("--uuid 'nope'");
}
END_TEST

TCase *tcase_uuid(void)
{
	TCase *tc = tcase_create("uuid");
	tcase_add_test(tc, uuid_text_round_trip);
	tcase_add_test(tc, uuid_derive_is_stable_and_versioned);
	tcase_add_test(tc, identity_key_and_uuid);
	tcase_add_test(tc, cli_uuid_flag);
	return tc;
}
