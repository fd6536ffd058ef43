/* `img create|info|check` against qemu-img: images we create pass
 * `qemu-img check`, and our info/check output and exit codes match. */
#include "oracle_helpers.h"
#include "qcow2/qcow2.h"
#include "vmm/log.h"

static char dir[4096];
static const char *tool;

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
	tool = getenv("QCOW2_IMG");
	ck_assert_msg(tool != NULL, "QCOW2_IMG (path of the img tool) not set");
}

static void teardown(void) { th_rmdir(dir); }

/* Drop the lines that legitimately differ (allocation on disk). */
static void strip_lines(char *s, const char *key)
{
	char *p;
	while ((p = strstr(s, key))) {
		char *bol = p;
		while (bol > s && bol[-1] != '\n')
			bol--;
		char *eol = strchr(p, '\n');
		memmove(bol, eol ? eol + 1 : p + strlen(p),
			strlen(eol ? eol + 1 : p + strlen(p)) + 1);
	}
}

static void assert_info_equal(const char *name)
{
	static char ours[8192], theirs[8192];
	for (int json = 0; json < 2; json++) {
		ck_assert_int_eq(sh_out(ours, sizeof(ours), "cd '%s' && '%s' info %s %s", dir, tool,
					json ? "--json" : "", name),
				 0);
		ck_assert_int_eq(sh_out(theirs, sizeof(theirs), "cd '%s' && qemu-img info %s %s",
					dir, json ? "--output=json" : "", name),
				 0);
		strip_lines(ours, json ? "\"actual-size\"" : "disk size:");
		strip_lines(theirs, json ? "\"actual-size\"" : "disk size:");
		ck_assert_msg(!strcmp(ours, theirs),
			      "info differs for %s:\n--- ours\n%s--- qemu-img\n%s", name, ours,
			      theirs);
	}
}

static const char *const create_opts[] = {
    "",
    "-o compat=0.10",
    "-o cluster_size=512",
    "-o cluster_size=2M",
    "-o extended_l2=on",
    "-o refcount_bits=1",
    "-o refcount_bits=64,cluster_size=512",
    "-o compression_type=zstd",
};

START_TEST(created_images_pass_qemu_check)
{
	char out[4096];
	printf("img create %s\n", create_opts[_i]);
	ck_assert_int_eq(
	    sh("cd '%s' && '%s' create -q -f qcow2 %s a.qcow2 3G", dir, tool, create_opts[_i]), 0);
	ck_assert_int_eq(sh_out(out, sizeof(out), "qemu-img check '%s/a.qcow2' 2>&1", dir), 0);
	assert_info_equal("a.qcow2");
	/* And qemu writes into it happily, and we read what it wrote. */
	ck_assert_int_eq(sh("qemu-io -c 'write -P 0x5c 1G 300k' '%s/a.qcow2' >/dev/null", dir), 0);
	ck_assert_int_eq(sh("qemu-img check '%s/a.qcow2' >/dev/null", dir), 0);
	ck_assert_int_eq(sh("cd '%s' && '%s' check a.qcow2 >/dev/null", dir, tool), 0);
}
END_TEST

/* The lab's command: overlay on a compressed base, size from the base. */
START_TEST(created_overlay_like_qemu)
{
	ck_assert_int_eq(sh("cd '%s' && qemu-img create -q -f qcow2 b0.qcow2 1G && "
			    "qemu-img convert -c -O qcow2 b0.qcow2 base.qcow2",
			    dir),
			 0);
	ck_assert_int_eq(
	    sh("cd '%s' && '%s' create -q -F qcow2 -f qcow2 -b base.qcow2 ov.qcow2", dir, tool), 0);
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -F qcow2 -f qcow2 -b base.qcow2 qv.qcow2", dir), 0);
	ck_assert_int_eq(sh("qemu-img check '%s/ov.qcow2' >/dev/null", dir), 0);
	assert_info_equal("ov.qcow2");
	assert_info_equal("qv.qcow2");
	ck_assert_int_eq(
	    sh("cd '%s' && '%s' create -q -F qcow2 -f qcow2 -b base.qcow2 ov2.qcow2 20G", dir,
	       tool),
	    0);
	assert_info_equal("ov2.qcow2");
	/* Backing in another directory, named relative to the overlay. */
	ck_assert_int_eq(
	    sh("cd '%s' && mkdir sub && '%s' create -q -F qcow2 -f qcow2 -b ../base.qcow2 "
	       "sub/ov.qcow2",
	       dir, tool),
	    0);
	assert_info_equal("sub/ov.qcow2");
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 100M", dir), 0);
	assert_info_equal("v2.qcow2");
	ck_assert_int_eq(sh("cd '%s' && '%s' create -q -f raw r.img 10M", dir, tool), 0);
	assert_info_equal("r.img");
}
END_TEST

/* Exit codes: 0 clean, 3 leaks, 2 corruption, 63 raw; same as qemu-img. */
START_TEST(check_exit_codes_match)
{
	ck_assert_int_eq(sh("cd '%s' && qemu-img create -q -f qcow2 c.qcow2 64M && "
			    "qemu-io -c 'write -P 1 0 256k' c.qcow2 >/dev/null",
			    dir),
			 0);
	ck_assert_int_eq(sh("cd '%s' && '%s' check c.qcow2 >/dev/null", dir, tool), 0);
	/* Leak: a refcount for cluster 12 (past all data, inside the file). */
	ck_assert_int_eq(sh("cd '%s' && truncate -s 1M c.qcow2 && "
			    "printf '\\000\\001' | dd of=c.qcow2 bs=1 seek=$((0x20000 + 24)) "
			    "conv=notrunc status=none",
			    dir),
			 0);
	ck_assert_int_eq(sh("qemu-img check '%s/c.qcow2' >/dev/null 2>&1", dir), 3);
	ck_assert_int_eq(sh("cd '%s' && '%s' check c.qcow2 >/dev/null 2>&1", dir, tool), 3);
	char ours[4096], theirs[4096];
	sh_out(ours, sizeof(ours), "cd '%s' && '%s' check c.qcow2 2>/dev/null", dir, tool);
	sh_out(theirs, sizeof(theirs), "cd '%s' && qemu-img check c.qcow2 2>/dev/null", dir);
	ck_assert_str_eq(ours, theirs);
	ck_assert_int_eq(sh("cd '%s' && cp c.qcow2 leak.qcow2", dir), 0);
	/* Corruption: the first data cluster's refcount 0. */
	ck_assert_int_eq(
	    sh("cd '%s' && printf '\\000\\000' | dd of=c.qcow2 bs=1 seek=$((0x20000 + 10)) "
	       "conv=notrunc status=none",
	       dir),
	    0);
	ck_assert_int_eq(sh("qemu-img check '%s/c.qcow2' >/dev/null 2>&1", dir), 2);
	ck_assert_int_eq(sh("cd '%s' && '%s' check c.qcow2 >/dev/null 2>&1", dir, tool), 2);
	/* Repairs: -r leaks leaves the corruption, -r all fixes it; qemu-img agrees. */
	ck_assert_int_eq(sh("cd '%s' && '%s' check -r leaks leak.qcow2 >/dev/null 2>&1", dir, tool),
			 0);
	ck_assert_int_eq(sh("qemu-img check '%s/leak.qcow2' >/dev/null 2>&1", dir), 0);
	ck_assert_int_eq(sh("cd '%s' && '%s' check -r leaks c.qcow2 >/dev/null 2>&1", dir, tool),
			 2);
	ck_assert_int_eq(sh("cd '%s' && '%s' check -r all c.qcow2 >/dev/null 2>&1", dir, tool), 0);
	ck_assert_int_eq(sh("qemu-img check '%s/c.qcow2' >/dev/null 2>&1", dir), 0);
	ck_assert_int_eq(sh("qemu-img compare -q '%s/c.qcow2' '%s/leak.qcow2'", dir, dir), 0);
	ck_assert_int_eq(sh("cd '%s' && qemu-img create -q -f raw r.img 1M", dir), 0);
	ck_assert_int_eq(sh("cd '%s' && '%s' check r.img 2>/dev/null", dir, tool), 63);
	ck_assert_int_eq(sh("cd '%s' && '%s' check nonexistent.qcow2 2>/dev/null", dir, tool), 1);
	/* Human output of a clean image, as qemu-img prints it. */
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 d.qcow2 64M && "
	       "qemu-io -c 'write -P 1 0 256k' -c 'write -P 2 1M 64k' d.qcow2 >/dev/null",
	       dir),
	    0);
	ck_assert_int_eq(sh_out(ours, sizeof(ours), "cd '%s' && '%s' check d.qcow2", dir, tool), 0);
	ck_assert_int_eq(sh_out(theirs, sizeof(theirs), "cd '%s' && qemu-img check d.qcow2", dir),
			 0);
	ck_assert_str_eq(ours, theirs);
}
END_TEST

START_TEST(cli_usage_errors)
{
	ck_assert_int_eq(
	    sh("cd '%s' && '%s' create -q -f qcow2 x.qcow2 12Q 2>/dev/null", dir, tool), 1);
	ck_assert_int_eq(sh("cd '%s' && '%s' create -q -f vmdk x.img 1M 2>/dev/null", dir, tool),
			 1);
	ck_assert_int_eq(sh("cd '%s' && '%s' create -q -f qcow2 x.qcow2 2>/dev/null", dir, tool),
			 1);
	ck_assert_int_eq(
	    sh("cd '%s' && '%s' create -q -f qcow2 -b missing.qcow2 x.qcow2 2>/dev/null", dir,
	       tool),
	    1);
	ck_assert_int_eq(sh("cd '%s' && '%s' frobnicate 2>/dev/null", dir, tool), 1);
	ck_assert_int_eq(sh("cd '%s' && '%s' info 2>/dev/null", dir, tool), 1);
	char err[2048];
	sh_out(err, sizeof(err), "cd '%s' && '%s' create -q -f qcow2 x.qcow2 12Q 2>&1", dir, tool);
	ck_assert_ptr_nonnull(strstr(err, "invalid size '12Q'"));
}
END_TEST

/* Our `check` against qemu-img's on the same file: exit code and stdout
 * (human and JSON: key set, order, values, escaping) identical. */
static void assert_check_equal(const char *name, const char *extra)
{
	static char ours[8192], theirs[8192];
	for (int json = 0; json < 2; json++) {
		const char *o = json ? "--output=json" : "";
		int our_rc =
		    sh_out(ours, sizeof(ours), "cd '%s' && '%s' check %s %s %s 2>/dev/null", dir,
			   tool, extra, o, name);
		int their_rc =
		    sh_out(theirs, sizeof(theirs), "cd '%s' && qemu-img check %s %s %s 2>/dev/null",
			   dir, extra, o, name);
		printf("check %s %s %s: ours %d, qemu-img %d\n", extra, o, name, our_rc, their_rc);
		ck_assert_int_eq(our_rc, their_rc);
		ck_assert_msg(!strcmp(ours, theirs),
			      "check %s %s differs for %s:\n--- ours\n%s--- qemu-img\n%s", extra, o,
			      name, ours, theirs);
	}
}

START_TEST(check_output_like_qemu)
{
	/* Clean, under a name JSON must escape: quote, backslash, tab, \001,
	 * UTF-8 and a byte that is not UTF-8. */
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 c.qcow2 64M && "
	       "qemu-io -c 'write -P 1 0 256k' c.qcow2 >/dev/null && "
	       "cp c.qcow2 \"$(printf 'we\"ird\\\\na\\tme\\001\\303\\251\\377.qcow2')\"",
	       dir),
	    0);
	assert_check_equal("c.qcow2", "");
	assert_check_equal("we*.qcow2", "");
	char out[4096];
	sh_out(out, sizeof(out), "cd '%s' && '%s' check --output=json we*.qcow2", dir, tool);
	ck_assert_ptr_nonnull(strstr(out, "\"filename\": \"we\\\"ird\\\\na\\tme\\u0001\\u00E9"
					  "\\uFFFD.qcow2\""));
	/* Fragmented; compressed (zlib and zstd). */
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 f.qcow2 64M && "
	       "qemu-io -c 'write -P 1 1M 64k' -c 'write -P 2 0 64k' -c 'write -P 3 3M 128k' "
	       "-c 'write -P 4 2M 64k' f.qcow2 >/dev/null && "
	       "qemu-img convert -c -O qcow2 f.qcow2 z.qcow2 && "
	       "qemu-img convert -c -O qcow2 -o compression_type=zstd f.qcow2 zs.qcow2",
	       dir),
	    0);
	assert_check_equal("f.qcow2", "");
	assert_check_equal("z.qcow2", "");
	assert_check_equal("zs.qcow2", "");
	/* A leak; the leak repaired (leaks-fixed); a corruption too. */
	ck_assert_int_eq(sh("cd '%s' && cp c.qcow2 l.qcow2 && truncate -s 1M l.qcow2 && "
			    "printf '\\000\\001' | dd of=l.qcow2 bs=1 seek=$((0x20000 + 24)) "
			    "conv=notrunc status=none && cp l.qcow2 lr.qcow2 && "
			    "cp l.qcow2 lq.qcow2 && cp l.qcow2 lc.qcow2 && "
			    "printf '\\000\\000' | dd of=lc.qcow2 bs=1 seek=$((0x20000 + 10)) "
			    "conv=notrunc status=none",
			    dir),
			 0);
	assert_check_equal("l.qcow2", "");
	assert_check_equal("lc.qcow2", "");
	static char ours[4096], theirs[4096];
	ck_assert_int_eq(sh_out(ours, sizeof(ours),
				"cd '%s' && '%s' check -r leaks --output=json lr.qcow2 2>/dev/null "
				"| sed s/lr.qcow2/X/",
				dir, tool),
			 0);
	ck_assert_int_eq(sh_out(theirs, sizeof(theirs),
				"cd '%s' && qemu-img check -r leaks --output=json lq.qcow2 "
				"2>/dev/null | sed s/lq.qcow2/X/",
				dir),
			 0);
	ck_assert_str_eq(ours, theirs);
	ck_assert_ptr_nonnull(strstr(ours, "\"leaks-fixed\": 1,"));
	/* A refcount block the check cannot use (unaligned): qemu-img counts a
	 * check error for every cluster whose refcount it cannot read, prints
	 * the result and fails with exit code 1. */
	ck_assert_int_eq(sh("cd '%s' && cp c.qcow2 u.qcow2 && "
			    "printf '\\000\\000\\000\\000\\000\\002\\002\\000' | dd of=u.qcow2 "
			    "bs=1 seek=$((0x10000)) conv=notrunc status=none",
			    dir),
			 0);
	assert_check_equal("u.qcow2", "");
	sh_out(out, sizeof(out), "cd '%s' && '%s' check --output=json u.qcow2 2>/dev/null", dir,
	       tool);
	ck_assert_ptr_nonnull(strstr(out, "\"check-errors\": 9,"));
}
END_TEST

static uint32_t read_be32(const char *path, uint64_t off)
{
	return (uint32_t)(th_read_be64(path, off) >> 32);
}

static uint16_t read_be16(const char *path, uint64_t off)
{
	return (uint16_t)(th_read_be64(path, off) >> 48);
}

/* Hostile snapshot tables (made from a qemu-img image with two snapshots):
 * our check ends quickly, with qemu-img's exit code (1: beyond QEMU's hard
 * limits, "Check failed"; 2: a corrupt snapshot entry) and a message that
 * names the field. */
START_TEST(check_hostile_snapshot_tables)
{
	char base[4200], img[4200], err[8192];
	th_path(base, sizeof(base), dir, "s.qcow2");
	th_path(img, sizeof(img), dir, "h.qcow2");
	ck_assert_int_eq(sh("cd '%s' && qemu-img create -q -f qcow2 s.qcow2 64M && "
			    "qemu-io -c 'write -P 1 0 256k' s.qcow2 >/dev/null && "
			    "qemu-img snapshot -c one s.qcow2 && qemu-img snapshot -c two s.qcow2",
			    dir),
			 0);
	const uint64_t st = th_read_be64(base, 64), l1 = th_read_be64(base, 40);
	const uint64_t e1 = st + ((40 + read_be32(base, st + 36) + read_be16(base, st + 12) +
				   read_be16(base, st + 14) + 7) &
				  ~7ull);
	const uint64_t snap_l1 = th_read_be64(base, st);
	const struct {
		uint64_t off;
		int width; /* 4 or 8 bytes */
		uint64_t val;
		const char *field;
	} cases[] = {
	    {60, 4, 0x7fffffff, "nb_snapshots"},
	    {60, 4, 65537, "nb_snapshots"},
	    {st + 8, 4, 0x10000000, "l1_size"},
	    {st + 8, 4, 0x400001, "l1_size"},
	    {st + 36, 4, 1025, "extra_data_size"},
	    {st, 8, l1, "l1_table_offset"},		 /* on the active L1 table */
	    {st, 8, snap_l1 + 0x200, "l1_table_offset"}, /* not cluster aligned */
	    {e1, 8, snap_l1, "l1_table_offset"},	 /* on the other snapshot's */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(sh("cp '%s' '%s'", base, img), 0);
		if (cases[i].width == 4)
			th_patch_be32(img, cases[i].off, (uint32_t)cases[i].val);
		else
			th_patch_be64(img, cases[i].off, cases[i].val);
		int theirs = sh("timeout 60 qemu-img check '%s' >/dev/null 2>&1", img);
		int ours = sh_out(err, sizeof(err), "timeout 10 '%s' check '%s' 2>&1 >/dev/null",
				  tool, img);
		printf("snapshot case %zu (%s=0x%llx): ours %d, qemu-img %d\n", i, cases[i].field,
		       (unsigned long long)cases[i].val, ours, theirs);
		ck_assert_int_eq(ours, theirs);
		ck_assert_msg(strstr(err, cases[i].field), "case %zu: no '%s' in:\n%s", i,
			      cases[i].field, err);
	}
}
END_TEST

/* The message after "FILE: " on the first stderr line ("" if none). */
static void after_file(char *msg, const char *file)
{
	char *p = strstr(msg, file), *nl;
	if (!p) {
		msg[0] = '\0';
		return;
	}
	memmove(msg, p + strlen(file) + 2, strlen(p + strlen(file) + 2) + 1);
	if ((nl = strpbrk(msg, "\r\n"))) /* our log ends lines with \r\n */
		*nl = '\0';
}

/* -o refcount_bits=V: the same verdict, exit code and message as qemu-img
 * (a bad value must not silently become 16), no file left on failure. */
static const char *const rc_bits[] = {
    "abc",  "16x", "",	"1.5", "3", "0", "128", "-1", "99999999999999999999",
    "0x10", "010", "1", "64"};

START_TEST(create_refcount_bits_like_qemu)
{
	const char *v = rc_bits[_i];
	char ours[2048], theirs[2048], info[4096];
	int our_rc = sh_out(ours, sizeof(ours),
			    "cd '%s' && rm -f o.qcow2 && '%s' create -q -f qcow2 -o "
			    "'refcount_bits=%s' o.qcow2 1M 2>&1",
			    dir, tool, v);
	int their_rc = sh_out(theirs, sizeof(theirs),
			      "cd '%s' && rm -f q.qcow2 && qemu-img create -q -f qcow2 -o "
			      "'refcount_bits=%s' q.qcow2 1M 2>&1",
			      dir, v);
	printf("refcount_bits='%s': ours %d, qemu-img %d\n", v, our_rc, their_rc);
	ck_assert_int_eq(our_rc, their_rc);
	after_file(ours, "o.qcow2");
	after_file(theirs, "q.qcow2");
	ck_assert_str_eq(ours, theirs);
	if (their_rc) {
		ck_assert_int_ne(sh("test -e '%s/o.qcow2'", dir), 0);
		return;
	}
	ck_assert_int_eq(sh_out(info, sizeof(info), "cd '%s' && qemu-img info o.qcow2", dir), 0);
	char want[64];
	snprintf(want, sizeof(want), "refcount bits: %llu", strtoull(v, NULL, 0));
	ck_assert_msg(strstr(info, want), "want '%s' in:\n%s", want, info);
}
END_TEST

/* `img create` prints qemu-img 7.2's "Formatting ..." line byte for byte:
 * the lab's three create commands first (its notes show those lines), then
 * option combinations that change the fields. Each tool makes its image in
 * its own directory, so the names in the line are the same. */
static const char *const create_lines[] = {
    "-f raw disk1.img 20G",
    "-f qcow2 disk2.img 20G",
    "-F qcow2 -f qcow2 -b cirros.qcow2 vmhost.img 20G",
    "-F qcow2 -f qcow2 -b cirros.qcow2 small.img",
    "-f qcow2 -o compat=0.10 v2.img 1G",
    "-f qcow2 -o compat=v3,cluster_size=4k d.img 1G",
    "-f qcow2 -o compat=1.1,extended_l2=on,compression_type=zstd e.img 100M",
    "-f qcow2 -o refcount_bits=8 f.img 3G",
};

START_TEST(create_line_like_qemu)
{
	char ours[1024], theirs[1024];
	const char *mk = "qemu-img create -q -f qcow2 cirros.qcow2 112M";

	ck_assert_int_eq(sh("mkdir -p '%s/o' '%s/q' && cd '%s/o' && %s && cd ../q && %s", dir, dir,
			    dir, mk, mk),
			 0);
	ck_assert_int_eq(sh_out(ours, sizeof(ours), "cd '%s/o' && '%s' create %s", dir, tool,
				create_lines[_i]),
			 0);
	ck_assert_int_eq(
	    sh_out(theirs, sizeof(theirs), "cd '%s/q' && qemu-img create %s", dir, create_lines[_i]),
	    0);
	ck_assert_msg(!strcmp(ours, theirs), "img create %s:\n ours:     %s qemu-img: %s",
		      create_lines[_i], ours, theirs);
	ck_assert_int_eq(sh("rm -rf '%s/o' '%s/q'", dir, dir), 0);
}
END_TEST

Suite *qcow2_cli_suite(void);
Suite *qcow2_cli_suite(void)
{
	Suite *s = suite_create("qcow2-img-cli");
	TCase *t = tcase_create("cli");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, created_images_pass_qemu_check, 0,
			    (int)(sizeof(create_opts) / sizeof(create_opts[0])));
	tcase_add_test(t, created_overlay_like_qemu);
	tcase_add_loop_test(t, create_line_like_qemu, 0,
			    (int)(sizeof(create_lines) / sizeof(create_lines[0])));
	tcase_add_test(t, check_exit_codes_match);
	tcase_add_test(t, cli_usage_errors);
	tcase_add_test(t, check_output_like_qemu);
	tcase_add_test(t, check_hostile_snapshot_tables);
	tcase_add_loop_test(t, create_refcount_bits_like_qemu, 0,
			    (int)(sizeof(rc_bits) / sizeof(rc_bits[0])));
	suite_add_tcase(s, t);
	return s;
}
