/* Boot configuration parsers on samples modelled on what distributions
 * ship (tests/boot/samples): Debian 12 and Ubuntu 22.04 cloud grub.cfg with
 * submenus, CirrOS's menu.lst (stray EOF line) and EFI grub.cfg, Alpine's
 * extlinux.conf, Fedora's BLS entries; and hostile scripts. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/bls.h"
#include "boot/extlinux.h"
#include "boot/grub1.h"
#include "boot/grub2.h"
#include "vmm/log.h"

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	static char buf[1 << 16];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char *copy = malloc(*len + 1);
	memcpy(copy, buf, *len);
	copy[*len] = '\0';	/* not needed by the parsers; for strstr in tests */
	return copy;
}

/* search: the Debian UUID and the CirrOS/Ubuntu labels live on gpt1/gpt2. */
static int fake_search(void *opaque, enum grub2_search kind, const char *what, char *dev,
		       size_t cap)
{
	int *calls = opaque;
	(*calls)++;
	if ((kind == GRUB2_SEARCH_FS_UUID && !strcmp(what, "8c44cf8e-9a4b-4d4e-9c1e-3c7b5f2a9d01")) ||
	    (kind == GRUB2_SEARCH_LABEL && !strcmp(what, "cloudimg-rootfs"))) {
		snprintf(dev, cap, "hd0,gpt1");
		return 0;
	}
	if (kind == GRUB2_SEARCH_LABEL && !strcmp(what, "cirros-rootfs")) {
		snprintf(dev, cap, "hd0,gpt2");
		return 0;
	}
	return -ENOENT;
}

static int run_grub2(const char *sample, const char *env, struct bootcfg_choice *ch,
		     struct grub2_result *res, int *searches)
{
	size_t len;
	char *text = slurp(sample, &len);
	struct grub2_env ge = { .root = "hd0,gpt15", .grubenv = env,
				.grubenv_len = env ? strlen(env) : 0, .search = fake_search,
				.opaque = searches };
	int r = grub2_choose(text, len, sample, &ge, ch, res);
	free(text);
	return r;
}

START_TEST(grub2_debian12_default)
{
	struct bootcfg_choice ch;
	struct grub2_result res;
	int searches = 0;
	ck_assert_int_eq(run_grub2("debian12-grub.cfg", NULL, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.title, "Debian GNU/Linux");
	ck_assert_str_eq(ch.kernel.dev, "hd0,gpt1");
	ck_assert_str_eq(ch.kernel.path, "/boot/vmlinuz-6.1.0-13-cloud-amd64");
	ck_assert_uint_eq(ch.ninitrd, 1);
	ck_assert_str_eq(ch.initrd[0].path, "/boot/initrd.img-6.1.0-13-cloud-amd64");
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-cloud-amd64 "
			 "root=PARTUUID=0d9c7a5e-62a1-4d39-8d9b-7c3f64a2c0f7 ro console=tty0 "
			 "console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0");
	ck_assert_uint_eq(res.entries, 4);	/* 2 top level + 2 in the submenu */
	ck_assert(!res.blscfg);
	/* The hinted search ran (feature_platform_search_hint=y), not the else. */
	ck_assert_int_ge(searches, 2);
}
END_TEST

START_TEST(grub2_debian12_next_entry_into_submenu)
{
	struct bootcfg_choice ch;
	struct grub2_result res;
	int searches = 0;
	/* grub-reboot writes next_entry; "1>1" is the recovery entry. */
	const char *env = "# GRUB Environment Block\nnext_entry=1>1\n#########\n";
	ck_assert_int_eq(run_grub2("debian12-grub.cfg", env, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.title, "Debian GNU/Linux, with Linux 6.1.0-13-cloud-amd64 (recovery mode)");
	ck_assert_ptr_nonnull(strstr(ch.cmdline, " ro single console=tty0"));
	/* By --id path, as grub-set-default writes it. */
	env = "next_entry=gnulinux-advanced-8c44cf8e-9a4b-4d4e-9c1e-3c7b5f2a9d01>"
	      "gnulinux-6.1.0-13-cloud-amd64-advanced-8c44cf8e-9a4b-4d4e-9c1e-3c7b5f2a9d01\n";
	ck_assert_int_eq(run_grub2("debian12-grub.cfg", env, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.title, "Debian GNU/Linux, with Linux 6.1.0-13-cloud-amd64");
	/* A default naming nothing: the first entry, and why says so. */
	env = "next_entry=no-such-entry\n";
	ck_assert_int_eq(run_grub2("debian12-grub.cfg", env, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.title, "Debian GNU/Linux");
	ck_assert_ptr_nonnull(strstr(ch.why, "names no entry"));
}
END_TEST

START_TEST(grub2_ubuntu2204_saved_entry)
{
	struct bootcfg_choice ch;
	struct grub2_result res;
	int searches = 0;
	/* No grubenv: default="${saved_entry}" is empty, so entry 0. The
	 * gfxmode function sets vt_handoff; recordfail/initrdfail run. */
	ck_assert_int_eq(run_grub2("ubuntu2204-grub.cfg", NULL, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.title, "Ubuntu");
	ck_assert_str_eq(ch.kernel.dev, "hd0,gpt1");
	ck_assert_str_eq(ch.kernel.path, "/boot/vmlinuz-5.15.0-91-generic");
	ck_assert_str_eq(ch.initrd[0].path, "/boot/initrd.img-5.15.0-91-generic");
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=/boot/vmlinuz-5.15.0-91-generic "
			 "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 vt.handoff=7");
	ck_assert_uint_eq(res.entries, 5);	/* Ubuntu, submenu + 2, memtest */
	/* saved_entry by title path into the submenu: the older kernel. */
	const char *env = "saved_entry=Advanced options for Ubuntu>Ubuntu, with Linux 5.15.0-88-generic\n";
	ck_assert_int_eq(run_grub2("ubuntu2204-grub.cfg", env, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.kernel.path, "/boot/vmlinuz-5.15.0-88-generic");
	/* The memtest entry (linux16) by number. */
	env = "saved_entry=2\n";
	ck_assert_int_eq(run_grub2("ubuntu2204-grub.cfg", env, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.kernel.path, "/boot/memtest86+.bin");
	ck_assert_uint_eq(ch.ninitrd, 0);
}
END_TEST

START_TEST(grub2_cirros_efi_and_fedora_blscfg)
{
	struct bootcfg_choice ch;
	struct grub2_result res;
	int searches = 0;
	ck_assert_int_eq(run_grub2("cirros-efi-grub.cfg", NULL, &ch, &res, &searches), 0);
	ck_assert_str_eq(ch.kernel.dev, "hd0,gpt2");	/* search --label beat set root */
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=/boot/vmlinuz-5.15.0-117-generic "
			 "LABEL=cirros-rootfs ro");
	ck_assert_int_eq(run_grub2("fedora-grub.cfg", NULL, &ch, &res, &searches), -ENOENT);
	ck_assert(res.blscfg);
	ck_assert_uint_eq(res.entries, 0);
}
END_TEST

static int grub2_text(const char *text, struct bootcfg_choice *ch)
{
	struct grub2_result res;
	struct grub2_env ge = { .root = "hd0,msdos1" };
	log_clear_last_error();
	return grub2_choose(text, strlen(text), "test.cfg", &ge, ch, &res);
}

START_TEST(grub2_syntax)
{
	struct bootcfg_choice ch;
	/* Several initrds, (dev) paths, variables, ; separated, quotes, escapes. */
	ck_assert_int_eq(grub2_text(
		"set k=vmlinuz-6; set extra=\"quiet splash\"\n"
		"menuentry \"A \\\"quoted\\\" title\" --class os {\n"
		"  linux (hd0,msdos2)/boot/$k root=/dev/vda2 ${extra} 'single quoted $k'\n"
		"  initrd /boot/ucode.img (hd0,2)/boot/initrd-6.img\n"
		"}\n", &ch), 0);
	ck_assert_str_eq(ch.title, "A \"quoted\" title");
	ck_assert_str_eq(ch.kernel.dev, "hd0,msdos2");
	ck_assert_str_eq(ch.kernel.path, "/boot/vmlinuz-6");
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=(hd0,msdos2)/boot/vmlinuz-6 root=/dev/vda2 "
			 "quiet splash single quoted $k");
	ck_assert_uint_eq(ch.ninitrd, 2);
	ck_assert_str_eq(ch.initrd[0].dev, "hd0,msdos1");
	ck_assert_str_eq(ch.initrd[1].dev, "hd0,2");
	/* Nested if/elif/else and numeric tests. */
	ck_assert_int_eq(grub2_text(
		"set n=3\n"
		"if [ $n -lt 2 ]; then set default=0\n"
		"elif [ ! $n -ne 3 ]; then set default=1\n"
		"else set default=0; fi\n"
		"menuentry a { linux /a }\nmenuentry b { linux /b }\n", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/b");
	/* Errors name the line. */
	ck_assert_int_eq(grub2_text("menuentry 'x' {\n linux /a\n", &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "test.cfg"));
	ck_assert_int_eq(grub2_text("set a='unterminated\n", &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "unterminated"));
	ck_assert_int_eq(grub2_text("if true; then\nmenuentry a { linux /a }\n", &ch), -EINVAL);
	ck_assert_int_eq(grub2_text("fi\n", &ch), -EINVAL);
	ck_assert_int_eq(grub2_text("}\n", &ch), -EINVAL);
	ck_assert_int_eq(grub2_text("", &ch), -ENOENT);
	ck_assert_int_eq(grub2_text("menuentry a { echo no linux }\n", &ch), -ENOENT);
	/* Deep nesting and recursion are refused, not followed. */
	char deep[4096] = "";
	for (int i = 0; i < 100; i++)
		strcat(deep, "if true; then ");
	ck_assert_int_eq(grub2_text(deep, &ch), -EINVAL);
	ck_assert_int_eq(grub2_text("function f { f }\nf\nmenuentry a { linux /a }\n", &ch),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "nested too deeply"));
}
END_TEST

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Functions fanning out (f19 calls f18 8 times, ...: 8^19 calls) are cut
 * after a bounded number of commands, with a message, not run for ever. */
START_TEST(grub2_runs_too_long)
{
	struct bootcfg_choice ch;
	static char text[16384];
	size_t n = (size_t)snprintf(text, sizeof(text), "function f0 { true }\n");
	for (int i = 1; i < 20; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "function f%d {", i);
		for (int j = 0; j < 8; j++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, " f%d;", i - 1);
		n += (size_t)snprintf(text + n, sizeof(text) - n, " }\n");
	}
	snprintf(text + n, sizeof(text) - n, "f19\nmenuentry a { linux /a }\n");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(grub2_text(text, &ch), -EINVAL);
	ck_assert_double_lt(seconds_since(&t0), 10);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "test.cfg"));
	ck_assert_ptr_nonnull(strstr(log_last_error(), "script runs too long"));
	/* A few thousand commands are fine. */
	n = 0;
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "true\n");
	snprintf(text + n, sizeof(text) - n, "menuentry a { linux /a }\n");
	ck_assert_int_eq(grub2_text(text, &ch), 0);
}
END_TEST

/* search.fs_uuid / search.fs_label / search.file: the kind from the whole name. */
static int kind_search(void *opaque, enum grub2_search kind, const char *what, char *dev,
		       size_t cap)
{
	(void)opaque;
	snprintf(dev, cap, "hd0,gpt%d", kind == GRUB2_SEARCH_FS_UUID ? 1 :
		 kind == GRUB2_SEARCH_LABEL ? 2 : 3);
	return what[0] ? 0 : -ENOENT;
}

START_TEST(grub2_search_dot_commands)
{
	static const char *const cmd[] = { "search.fs_uuid 1234-abcd root",
		"search.fs_label rootfs root", "search.file /boot/k root" };
	static const char *const dev[] = { "hd0,gpt1", "hd0,gpt2", "hd0,gpt3" };
	for (int i = 0; i < 3; i++) {
		char text[256];
		struct bootcfg_choice ch;
		struct grub2_result res;
		struct grub2_env ge = { .root = "hd0,msdos1", .search = kind_search };
		snprintf(text, sizeof(text), "%s\nmenuentry a { linux /k }\n", cmd[i]);
		ck_assert_int_eq(grub2_choose(text, strlen(text), "t.cfg", &ge, &ch, &res), 0);
		ck_assert_str_eq(ch.kernel.dev, dev[i]);
	}
}
END_TEST

/* A $root of 64 characters or more is named as the fault, not the path. */
START_TEST(grub2_long_root_named)
{
	struct bootcfg_choice ch;
	char text[512];
	snprintf(text, sizeof(text), "set root=hd0,%0100d\nmenuentry a { linux /vmlinuz }\n", 7);
	ck_assert_int_eq(grub2_text(text, &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "$root"));
	ck_assert_ptr_nonnull(strstr(log_last_error(), "64 characters or more"));
	snprintf(text, sizeof(text), "menuentry a { linux (hd0,%0100d)/vmlinuz }\n", 7);
	ck_assert_int_eq(grub2_text(text, &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "its device"));
	ck_assert_int_eq(grub2_text("menuentry a { initrd (hd0 }\n", &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "no ')'"));
}
END_TEST

/* grubenv is read in one pass (1 MiB took minutes when every line
 * re-scanned the block); the last line of a name wins, as in load_env. */
START_TEST(grubenv_one_pass)
{
	size_t cap = 1 << 20, n = 0;
	char *env = malloc(cap + 64);
	ck_assert_ptr_nonnull(env);
	n += (size_t)snprintf(env, cap, "saved_entry=0\n");
	for (unsigned i = 0; n < cap - 32; i++)
		n += (size_t)snprintf(env + n, cap + 64 - n, "v%u=x\n", i % 50);
	n += (size_t)snprintf(env + n, cap + 64 - n, "saved_entry=1\n");
	const char *text = "set default=saved\nmenuentry a { linux /a }\nmenuentry b { linux /b }\n";
	struct bootcfg_choice ch;
	struct grub2_result res;
	struct grub2_env ge = { .root = "hd0,msdos1", .grubenv = env, .grubenv_len = n };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(grub2_choose(text, strlen(text), "t.cfg", &ge, &ch, &res), 0);
	ck_assert_double_lt(seconds_since(&t0), 10);
	ck_assert_str_eq(ch.kernel.path, "/b");
	char v[64];
	ck_assert_int_eq(bootcfg_grubenv_get(env, n, "saved_entry", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "1");
	free(env);
	/* bootcfg_grubenv_next: padding and nameless lines skipped, escapes undone. */
	const char *e = "# GRUB Environment Block\n=x\nkernelopts=a\\\\b c\n####\n";
	char name[16], value[32];
	size_t pos = 0;
	ck_assert(bootcfg_grubenv_next(e, strlen(e), &pos, name, sizeof(name), value,
				       sizeof(value)));
	ck_assert_str_eq(name, "kernelopts");
	ck_assert_str_eq(value, "a\\b c");
	ck_assert(!bootcfg_grubenv_next(e, strlen(e), &pos, name, sizeof(name), value,
					sizeof(value)));
}
END_TEST

START_TEST(grub1_cirros)
{
	struct bootcfg_choice ch;
	size_t len;
	char *text = slurp("cirros-menu.lst", &len);
	ck_assert_ptr_nonnull(strstr(text, "\nEOF\n"));
	ck_assert_int_eq(grub1_choose(text, len, "menu.lst", &ch), 0);
	free(text);
	ck_assert_str_eq(ch.title, "Linux Kernel");
	ck_assert_int_eq(ch.devsyntax, BOOTCFG_DEV_GRUB1);
	ck_assert_str_eq(ch.kernel.dev, "hd0,0");
	ck_assert_str_eq(ch.kernel.path, "/vmlinuz");
	ck_assert_str_eq(ch.initrd[0].path, "/initrd.img");
	ck_assert_str_eq(ch.cmdline, "LABEL=cirros-rootfs ro console=tty1 console=ttyS0");
	ck_assert_int_eq(bootcfg_dev_partition(ch.kernel.dev, ch.devsyntax), 1);
}
END_TEST

START_TEST(grub1_variants)
{
	struct bootcfg_choice ch;
	const char *t = "default=1\ntimeout=5\n"
			"title One\nroot (hd0,0)\nkernel /boot/vmlinuz-1 ro\n"
			"title Two\n\troot (hd0,1)\n\tkernel --type=linux (hd0,2)/vmlinuz-2  root=/dev/vda3  quiet \n"
			"\tinitrd /initrd-2\n";
	ck_assert_int_eq(grub1_choose(t, strlen(t), "grub.conf", &ch), 0);
	ck_assert_str_eq(ch.title, "Two");
	ck_assert_str_eq(ch.kernel.dev, "hd0,2");
	ck_assert_str_eq(ch.initrd[0].dev, "hd0,1");
	ck_assert_str_eq(ch.cmdline, "root=/dev/vda3  quiet");	/* verbatim */
	t = "default 7\ntitle Only\nkernel /k\n";
	ck_assert_int_eq(grub1_choose(t, strlen(t), "menu.lst", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/k");
	ck_assert_ptr_nonnull(strstr(ch.why, "no such entry"));
	/* The default entry exists but has no kernel line: said so. */
	t = "default 1\ntitle A\nkernel /a\ntitle B\nroot (hd0,0)\n";
	ck_assert_int_eq(grub1_choose(t, strlen(t), "menu.lst", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/a");
	ck_assert_str_eq(ch.why, "default 1: that entry has no kernel line, the first");
	t = "title Broken\nroot hd0\nkernel /k\n";
	ck_assert_int_eq(grub1_choose(t, strlen(t), "menu.lst", &ch), -EINVAL);
	t = "timeout 5\n";
	ck_assert_int_eq(grub1_choose(t, strlen(t), "menu.lst", &ch), -ENOENT);
}
END_TEST

START_TEST(extlinux_alpine)
{
	struct bootcfg_choice ch;
	size_t len;
	char *text = slurp("alpine-extlinux.conf", &len);
	ck_assert_int_eq(extlinux_choose(text, len, "extlinux.conf", "/boot", &ch), 0);
	free(text);
	ck_assert_str_eq(ch.title, "Linux virt");
	ck_assert_str_eq(ch.kernel.path, "/boot/vmlinuz-virt");
	ck_assert_str_eq(ch.initrd[0].path, "/boot/initramfs-virt");
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=vmlinuz-virt root=UUID=2f3b6a0c-7d1e-4c5b-8a9d-"
			 "1e2f3a4b5c6d modules=sd-mod,usb-storage,ext4 console=ttyS0,115200 quiet "
			 "rootfstype=ext4");
	ck_assert_ptr_nonnull(strstr(ch.why, "MENU DEFAULT"));
	const char *t = "APPEND console=ttyS0\nDEFAULT b\nLABEL a\n KERNEL /a\nLABEL b\n"
			" KERNEL /b\n APPEND initrd=/i1,/i2 ro\nLABEL c\n LINUX c\n";
	ck_assert_int_eq(extlinux_choose(t, strlen(t), "syslinux.cfg", "/", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/b");
	ck_assert_uint_eq(ch.ninitrd, 2);
	ck_assert_str_eq(ch.initrd[1].path, "/i2");
	t = "APPEND console=ttyS0\nDEFAULT nope\nLABEL a\n KERNEL /a\n";
	ck_assert_int_eq(extlinux_choose(t, strlen(t), "syslinux.cfg", "/", &ch), 0);
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=/a console=ttyS0");	/* the global APPEND */
	ck_assert_int_eq(extlinux_choose("PROMPT 0\n", 9, "x", "/", &ch), -ENOENT);
}
END_TEST

START_TEST(bls_fedora)
{
	struct bootcfg_choice ch;
	size_t l1, l2;
	char *t1 = slurp("fedora39-bls-6.5.6.conf", &l1), *t2 = slurp("fedora39-bls-6.7.4.conf", &l2);
	struct bls_file f[] = {
		{ "ab12-6.5.6-300.fc39.x86_64.conf", t1, l1 },
		{ "ab12-6.7.4-200.fc39.x86_64.conf", t2, l2 },
		{ "README", "not an entry", 12 },
	};
	/* Newest version first; $tuned_params from grubenv. */
	const char *env = "tuned_params=skew_tick=1\n";
	ck_assert_int_eq(bls_choose(f, 3, "entries", env, strlen(env), &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/vmlinuz-6.7.4-200.fc39.x86_64");
	ck_assert_str_eq(ch.initrd[0].path, "/initramfs-6.7.4-200.fc39.x86_64.img");
	ck_assert_ptr_nonnull(strstr(ch.cmdline, "console=ttyS0,115200n8 skew_tick=1"));
	ck_assert_ptr_eq(strstr(ch.cmdline, "$"), NULL);
	/* saved_entry names the older one. */
	env = "saved_entry=ab12-6.5.6-300.fc39.x86_64\n";
	ck_assert_int_eq(bls_choose(f, 3, "entries", env, strlen(env), &ch), 0);
	ck_assert_str_eq(ch.title, "Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Cloud Edition)");
	ck_assert_ptr_nonnull(strstr(ch.why, "saved_entry"));
	ck_assert_int_eq(bls_choose(f + 2, 1, "entries", NULL, 0, &ch), -ENOENT);
	free(t1);
	free(t2);
}
END_TEST

/* Options, paths and expansions that do not fit fail with a message
 * naming the entry file; the command line is never cut. */
START_TEST(bls_too_long_is_an_error)
{
	struct bootcfg_choice ch;
	static char text[12000], env[5000];
	struct bls_file f = { "x-1.conf", text, 0 };
	/* Three options lines of 1500 bytes: 4500 > 4095. */
	size_t n = (size_t)snprintf(text, sizeof(text), "linux /vmlinuz\n");
	for (int i = 0; i < 3; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "options ");
		memset(text + n, 'o', 1500);
		n += 1500;
		text[n++] = '\n';
	}
	f.len = n;
	log_clear_last_error();
	ck_assert_int_eq(bls_choose(&f, 1, "disk.img partition 2:/loader/entries", NULL, 0, &ch),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "partition 2:/loader/entries/x-1.conf"));
	ck_assert_ptr_nonnull(strstr(log_last_error(), "options lines"));
	/* $kernelopts expanding past the command line. */
	n = (size_t)snprintf(env, sizeof(env), "kernelopts=");
	memset(env + n, 'k', 3000);
	n += 3000;
	env[n++] = '\n';
	f.len = (size_t)snprintf(text, sizeof(text), "linux /vmlinuz\noptions $kernelopts $kernelopts\n");
	log_clear_last_error();
	ck_assert_int_eq(bls_choose(&f, 1, "entries", env, n, &ch), -E2BIG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "entries/x-1.conf: the options with grubenv"));
	/* One expansion fits. */
	f.len = (size_t)snprintf(text, sizeof(text), "linux /vmlinuz\noptions ro $kernelopts\n");
	ck_assert_int_eq(bls_choose(&f, 1, "entries", env, n, &ch), 0);
	ck_assert_uint_eq(strlen(ch.cmdline), strlen("BOOT_IMAGE=/vmlinuz ro ") + 3000);
	/* A linux path of 1100 characters: not cut to 1023. */
	n = (size_t)snprintf(text, sizeof(text), "linux /");
	memset(text + n, 'p', 1100);
	n += 1100;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\n");
	f.len = n;
	log_clear_last_error();
	ck_assert_int_eq(bls_choose(&f, 1, "entries", NULL, 0, &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "entries/x-1.conf: the linux path"));
	/* Nine initrd files: more than minivmm loads, not silently eight. */
	f.len = (size_t)snprintf(text, sizeof(text), "linux /k\ninitrd /1 /2 /3 /4 /5\n"
				 "initrd /6 /7 /8 /9\n");
	ck_assert_int_eq(bls_choose(&f, 1, "entries", NULL, 0, &ch), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "more than 8 initrd"));
}
END_TEST

/* Labels past the 64th are skipped with their lines: they do not
 * overwrite the 64th. */
START_TEST(extlinux_too_many_labels)
{
	struct bootcfg_choice ch;
	static char text[16384];
	size_t n = (size_t)snprintf(text, sizeof(text), "DEFAULT l63\n");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "LABEL l%d\n KERNEL /k%d\n APPEND a%d\n", i, i, i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "MENU LABEL late\nINITRD /evil\n");
	ck_assert_int_eq(extlinux_choose(text, n, "extlinux.conf", "/", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/k63");
	ck_assert_str_eq(ch.cmdline, "BOOT_IMAGE=/k63 a63");
	ck_assert_str_eq(ch.title, "l63");
	ck_assert_uint_eq(ch.ninitrd, 0);
	/* A DEFAULT naming a skipped label: the first label, as for any unknown. */
	text[strlen("DEFAULT l6")] = '9';
	ck_assert_int_eq(extlinux_choose(text, n, "extlinux.conf", "/", &ch), 0);
	ck_assert_str_eq(ch.kernel.path, "/k0");
}
END_TEST

START_TEST(dev_names)
{
	ck_assert_int_eq(bootcfg_dev_partition("hd0", BOOTCFG_DEV_GRUB2), 0);
	ck_assert_int_eq(bootcfg_dev_partition("hd0,gpt15", BOOTCFG_DEV_GRUB2), 15);
	ck_assert_int_eq(bootcfg_dev_partition("hd0,msdos5", BOOTCFG_DEV_GRUB2), 5);
	ck_assert_int_eq(bootcfg_dev_partition("hd0,3", BOOTCFG_DEV_GRUB1), 4);
	ck_assert_int_eq(bootcfg_dev_partition("hd1,1", BOOTCFG_DEV_GRUB2), -ENODEV);
	ck_assert_int_eq(bootcfg_dev_partition("hd0,gpt0", BOOTCFG_DEV_GRUB2), -EINVAL);
	ck_assert_int_eq(bootcfg_dev_partition("cd0", BOOTCFG_DEV_GRUB2), -EINVAL);
	ck_assert_int_eq(bootcfg_dev_partition("hd0,gpt99999999999", BOOTCFG_DEV_GRUB2), -EINVAL);
	struct bootcfg_file f;
	ck_assert_int_eq(bootcfg_file_set(&f, "hd0,1", "(hd0,2"), -EINVAL);
	ck_assert_int_eq(bootcfg_file_set(&f, "hd0,1", "vmlinuz"), 0);
	ck_assert_str_eq(f.path, "/vmlinuz");
	ck_assert_str_eq(f.dev, "hd0,1");
	/* The '/' put before a relative path counts: 1023 characters + '/' do
	 * not fit, nothing is cut. */
	char rel[1024];
	memset(rel, 'a', 1023);
	rel[1023] = '\0';
	ck_assert_int_eq(bootcfg_file_set(&f, "", rel), -EINVAL);
	rel[1022] = '\0';
	ck_assert_int_eq(bootcfg_file_set(&f, "", rel), 0);
	ck_assert_uint_eq(strlen(f.path), 1023);
	ck_assert_int_eq(f.path[1022], 'a');
	rel[0] = '/';
	rel[1022] = 'a';
	ck_assert_int_eq(bootcfg_file_set(&f, "", rel), 0);	/* absolute: 1023 fits */
	ck_assert_uint_eq(strlen(f.path), 1023);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-config");
	TCase *tc = tcase_create("parsers");
	tcase_add_test(tc, grub2_debian12_default);
	tcase_add_test(tc, grub2_debian12_next_entry_into_submenu);
	tcase_add_test(tc, grub2_ubuntu2204_saved_entry);
	tcase_add_test(tc, grub2_cirros_efi_and_fedora_blscfg);
	tcase_add_test(tc, grub2_syntax);
	tcase_add_test(tc, grub2_runs_too_long);
	tcase_add_test(tc, grub2_search_dot_commands);
	tcase_add_test(tc, grub2_long_root_named);
	tcase_add_test(tc, grubenv_one_pass);
	tcase_add_test(tc, grub1_cirros);
	tcase_add_test(tc, grub1_variants);
	tcase_add_test(tc, extlinux_alpine);
	tcase_add_test(tc, bls_fedora);
	tcase_add_test(tc, bls_too_long_is_an_error);
	tcase_add_test(tc, extlinux_too_many_labels);
	tcase_add_test(tc, dev_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
