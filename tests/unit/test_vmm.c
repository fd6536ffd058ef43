/* Unit tests: command line, guest memory bounds, KVM open diagnostics, console. */
#include "tests/unit/unit.h"
#include "devices/virtio/net_opts.h"
#include "vmm/cli.h"
#include "vmm/vm_control.h"
#include "vmm/console.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t size_ok(const char *s)
{
	uint64_t v = 0;
	ck_assert_int_eq(cli_parse_size("--memory", s, &v), 0);
	return v;
}

START_TEST(size_suffixes)
{
	ck_assert_uint_eq(size_ok("512M"), 512ULL << 20);
	ck_assert_uint_eq(size_ok("1G"), 1ULL << 30);
	ck_assert_uint_eq(size_ok("1g"), 1ULL << 30);
	ck_assert_uint_eq(size_ok("2048K"), 2ULL << 20);
	ck_assert_uint_eq(size_ok("2T"), 2ULL << 40);
	ck_assert_uint_eq(size_ok("1GiB"), 1ULL << 30);
	ck_assert_uint_eq(size_ok("3GB"), 3ULL << 30);
	ck_assert_uint_eq(size_ok("64"), 64ULL << 20);	/* bare number: MiB */
}
END_TEST

START_TEST(size_errors)
{
	uint64_t v;
	ck_assert_int_eq(cli_parse_size("--memory", "12X", &v), -EINVAL);
	ck_assert_last_error("--memory '12X': unknown size suffix");
	ck_assert_int_eq(cli_parse_size("--memory", "", &v), -EINVAL);
	ck_assert_last_error("expected a size");
	ck_assert_int_eq(cli_parse_size("--memory", "-1G", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("--memory", "1Gx", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("--memory", "99999999999999999999G", &v), -EINVAL);
	ck_assert_last_error("too large");
	ck_assert_int_eq(cli_parse_size("--memory", "16777217T", &v), -EINVAL);
	ck_assert_last_error("size too large");
}
END_TEST

static int parse(struct vm_config *cfg, const char *a1, const char *a2, const char *a3,
		 const char *a4)
{
	char *argv[] = { "minivmm", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int argc = 1;
	while (argv[argc])
		argc++;
	return cli_parse(argc, argv, cfg);
}

/* minivmm --kernel=k, then N times FLAG1 VALUE / FLAG2 VALUE alternating. */
static int parse_n(struct vm_config *cfg, const char *flag1, const char *flag2, const char *value,
		   int n)
{
	char *argv[2 + 2 * 64 + 1];
	int argc = 0;

	ck_assert_int_le(n, 64);
	argv[argc++] = "minivmm";
	argv[argc++] = "--kernel=k";
	for (int i = 0; i < n; i++) {
		argv[argc++] = (char *)(i % 2 ? flag2 : flag1);
		argv[argc++] = (char *)value;
	}
	argv[argc] = NULL;
	return cli_parse(argc, argv, cfg);
}

START_TEST(cli_flags)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--kernel", "vmlinuz", "--memory", "1G"), CLI_RUN);
	ck_assert_str_eq(cfg.kernel, "vmlinuz");
	ck_assert_uint_eq(cfg.mem_size, 1ULL << 30);
	ck_assert_uint_eq(cfg.ncpus, 1);
	ck_assert_str_eq(cfg.kvm_path, "/dev/kvm");
	ck_assert_ptr_null(cfg.console);

	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--cpus", "64"), CLI_RUN);
	ck_assert_uint_eq(cfg.ncpus, 64);
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--console", "-"), CLI_RUN);
	ck_assert_str_eq(cfg.console, "-");
	/* the background VMs' console is not for the command line: it would
	 * drop every byte with nobody ever able to attach */
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--console", VM_CONSOLE_DETACHED), -EINVAL);
	ck_assert_last_error("--console @detached: expected '-' or a file name");
}
END_TEST

START_TEST(cli_disks_in_order)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", NULL, NULL), CLI_RUN);
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert_int_eq(parse(&cfg, "--disk", "a.img,readonly", "--kernel", "k"), CLI_RUN);
	ck_assert_uint_eq(cfg.ndisks, 1);
	ck_assert_str_eq(cfg.disks[0], "a.img,readonly");	/* kept whole, unmodified */
	ck_assert_int_eq(parse(&cfg, "--disk", "a.img,format=qcow2", "--disk=b.img,format=raw,ro",
			       "--kernel=k"), CLI_RUN);
	ck_assert_uint_eq(cfg.ndisks, 2);
	ck_assert_str_eq(cfg.disks[0], "a.img,format=qcow2");
	ck_assert_str_eq(cfg.disks[1], "b.img,format=raw,ro");
}
END_TEST

START_TEST(cli_disk_errors)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--disk", "x.img,bogus"), -EINVAL);
	ck_assert_last_error("--disk: unknown option 'bogus'");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--disk", "x.img,format=vmdk"), -EINVAL);
	ck_assert_last_error("--disk: unknown option 'format=vmdk'");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--disk", ""), -EINVAL);
	ck_assert_last_error("--disk: needs a file name");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--disk", ",readonly"), -EINVAL);
	ck_assert_last_error("--disk: needs a file name");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--disk", NULL), -EINVAL);
	ck_assert_last_error("--disk needs a value");

	ck_assert_int_eq(parse_n(&cfg, "--disk", "--disk", "d.img", CLI_MAX_DISKS), CLI_RUN);
	ck_assert_uint_eq(cfg.ndisks, CLI_MAX_DISKS);
	ck_assert_int_eq(parse_n(&cfg, "--disk", "--disk", "d.img", CLI_MAX_DISKS + 1), -EINVAL);
	ck_assert_last_error("--disk 'd.img': at most 16 disks");
}
END_TEST

START_TEST(cli_nics_in_order)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--bridge", "vbr", "--kernel", "k"), CLI_RUN);
	ck_assert_uint_eq(cfg.nnics, 1);
	ck_assert_int_eq(cfg.nics[0].kind, CLI_NIC_BRIDGE);
	ck_assert_str_eq(cfg.nics[0].spec, "vbr");
	ck_assert_int_eq(parse(&cfg, "--tap", "tap0,mac=52:54:00:aa:bb:cc", "--bridge=br0",
			       "--kernel=k"), CLI_RUN);
	ck_assert_uint_eq(cfg.nnics, 2);
	ck_assert_int_eq(cfg.nics[0].kind, CLI_NIC_TAP);
	ck_assert_str_eq(cfg.nics[0].spec, "tap0,mac=52:54:00:aa:bb:cc");
	ck_assert_int_eq(cfg.nics[1].kind, CLI_NIC_BRIDGE);
	ck_assert_str_eq(cfg.nics[1].spec, "br0");

	struct net_opts o;
	ck_assert_int_eq(net_opts_parse("--tap", "tap0,mac=52-54-00-AA-BB-CC", &o), 0);
	ck_assert_str_eq(o.name, "tap0");
	ck_assert(o.has_mac);
	ck_assert_uint_eq(o.mac[3], 0xaa);
	ck_assert_uint_eq(o.mac[5], 0xcc);
	ck_assert_int_eq(net_opts_parse("--bridge", "vbr", &o), 0);
	ck_assert(!o.has_mac);
}
END_TEST

START_TEST(cli_nic_errors)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge", ""), -EINVAL);
	ck_assert_last_error("--bridge '': needs a name: --bridge NAME[,mac=MAC]");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge", ",mac=52:54:00:00:00:01"),
			 -EINVAL);
	ck_assert_last_error("needs a name");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--tap", "t,mac=01:00:5e:00:00:01"), -EINVAL);
	ck_assert_last_error("--tap 't,mac=01:00:5e:00:00:01': MAC 01:00:5e:00:00:01: a multicast");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--tap", "t,mac=ff:ff:ff:ff:ff:ff"), -EINVAL);
	ck_assert_last_error("a multicast");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--tap", "t,mac=00:00:00:00:00:00"), -EINVAL);
	ck_assert_last_error("all zeros");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge", "b,mac=52:54:00:12:34"), -EINVAL);
	ck_assert_last_error("MAC 52:54:00:12:34: not six hex bytes");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge",
			       "b,mac=52:54:00:12:34:56:78:9a:bc:de:f0:12:34:56"), -EINVAL);
	ck_assert_last_error("not six hex bytes");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge", "b,model=e1000"), -EINVAL);
	ck_assert_last_error("--bridge 'b,model=e1000': unknown option 'model=e1000' (expected mac=MAC)");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--bridge",
			       "b,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57"), -EINVAL);
	ck_assert_last_error("mac= given twice");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--tap", "../x"), -EINVAL);
	ck_assert_last_error("cannot contain '/'");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--tap", NULL), -EINVAL);
	ck_assert_last_error("--tap needs a value");

	ck_assert_int_eq(parse_n(&cfg, "--bridge", "--tap", "n", CLI_MAX_NICS), CLI_RUN);
	ck_assert_uint_eq(cfg.nnics, CLI_MAX_NICS);
	ck_assert_int_eq(parse_n(&cfg, "--bridge", "--tap", "n", CLI_MAX_NICS + 1), -EINVAL);
	ck_assert_last_error("--bridge 'n': at most 8 NICs");
}
END_TEST

START_TEST(cli_errors)
{
	struct vm_config cfg;
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--cpus", "0"), -EINVAL);
	ck_assert_last_error("--cpus '0': expected a number from 1 to 64");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--cpus", "65"), -EINVAL);
	ck_assert_last_error("--cpus '65'");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--cpus", "two"), -EINVAL);
	ck_assert_last_error("--cpus 'two'");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--memory", "8M"), -EINVAL);
	ck_assert_last_error("--memory '8M': a VM needs at least 16M");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--memory", "2000G"), -EINVAL);
	ck_assert_last_error("--memory '2000G': at most 1024G");
	ck_assert_int_eq(parse(&cfg, "--memory", "1G", NULL, NULL), -EINVAL);
	ck_assert_last_error("no --kernel and no --disk given");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "--boot-info", NULL), -EINVAL);
	ck_assert_last_error("--boot-info needs a --disk");
	ck_assert_int_eq(parse(&cfg, "--disk", "d.img", "--boot-info", NULL), CLI_RUN);
	ck_assert(cfg.boot_info && !cfg.kernel && cfg.ndisks == 1);
	ck_assert_int_eq(parse(&cfg, "--kernel", NULL, NULL, NULL), -EINVAL);
	ck_assert_last_error("--kernel needs a value");
	ck_assert_int_eq(parse(&cfg, "--kernel", "k", "extra", NULL), -EINVAL);
	ck_assert_last_error("unexpected argument 'extra'");
}
END_TEST

START_TEST(gmem_bounds)
{
	static uint8_t buf[4096];
	struct guest_mem *gm = gmem_wrap(buf, sizeof(buf));
	ck_assert_ptr_eq(gmem_ptr(gm, 0, 4096), buf);
	ck_assert_ptr_eq(gmem_ptr(gm, 4095, 1), buf + 4095);
	ck_assert_ptr_null(gmem_ptr(gm, 1, 4096));
	ck_assert_ptr_null(gmem_ptr(gm, 4096, 1));
	ck_assert_ptr_null(gmem_ptr(gm, 4096, 0));
	ck_assert_ptr_null(gmem_ptr(gm, UINT64_MAX, 2));
	ck_assert_ptr_null(gmem_ptr(gm, 8, UINT64_MAX));
	uint32_t v = 0x12345678, w = 0;
	ck_assert_int_eq(gmem_write(gm, 100, &v, 4), 0);
	ck_assert_int_eq(gmem_read(gm, 100, &w, 4), 0);
	ck_assert_uint_eq(w, v);
	ck_assert_int_eq(gmem_write(gm, 4094, &v, 4), -EFAULT);
	gmem_destroy(gm);
}
END_TEST

START_TEST(gmem_layout_with_hole)
{
	struct guest_mem *gm = gmem_create(4 * GIB);
	ck_assert_ptr_nonnull(gm);
	ck_assert_uint_eq(gmem_region_count(gm), 2);
	ck_assert_uint_eq(gmem_region(gm, 0)->gpa, 0);
	ck_assert_uint_eq(gmem_region(gm, 0)->size, MEM_HOLE_START);
	ck_assert_uint_eq(gmem_region(gm, 1)->gpa, MEM_HIGH_START);
	ck_assert_uint_eq(gmem_region(gm, 1)->size, 4 * GIB - MEM_HOLE_START);
	ck_assert_ptr_nonnull(gmem_ptr(gm, MEM_HOLE_START - 1, 1));
	ck_assert_ptr_null(gmem_ptr(gm, MEM_HOLE_START - 1, 2));	/* runs into the hole */
	ck_assert_ptr_null(gmem_ptr(gm, MEM_IOAPIC_BASE, 4));
	ck_assert_ptr_nonnull(gmem_ptr(gm, MEM_HIGH_START, 4096));
	ck_assert_ptr_null(gmem_ptr(gm, MEM_HIGH_START + GIB, 1));
	gmem_destroy(gm);

	gm = gmem_create(512 * MIB);
	ck_assert_uint_eq(gmem_region_count(gm), 1);
	ck_assert_uint_eq(gmem_ram_size(gm), 512 * MIB);
	gmem_destroy(gm);
	ck_assert_ptr_null(gmem_create(MIB));
}
END_TEST

START_TEST(kvm_open_errors)
{
	struct kvm kvm;
	ck_assert_int_eq(kvm_open(&kvm, "/nonexistent/kvm", 1), -ENOENT);
	ck_assert_last_error("no /nonexistent/kvm: the CPU has no VT-x/AMD-V");
	ck_assert_last_error("kvm module is not loaded");
	ck_assert_int_lt(kvm_open(&kvm, "/dev/null", 1), 0);
	ck_assert_last_error("/dev/null: not a KVM device");
	if (getuid() != 0) {
		/* Only meaningful when permissions apply. */
		char path[] = "/tmp/minivmm-kvm-XXXXXX";
		int fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		fchmod(fd, 0);
		close(fd);
		ck_assert_int_eq(kvm_open(&kvm, path, 1), -EACCES);
		ck_assert_last_error("permission denied: add your user to the 'kvm' group");
		unlink(path);
	}
}
END_TEST

START_TEST(console_file)
{
	char path[] = "/tmp/minivmm-console-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct console *con;
	ck_assert_int_eq(console_open(&con, path), 0);
	ck_assert_int_eq(console_input_fd(con), -1);
	ck_assert(!console_is_terminal(con));
	ck_assert_int_eq(console_attach(con), 0);
	console_write(con, (const uint8_t *)"hello\r\n", 7);
	console_close(con);
	char got[16] = { 0 };
	FILE *f = fopen(path, "r");
	ck_assert_uint_eq(fread(got, 1, sizeof(got) - 1, f), 7);
	fclose(f);
	ck_assert_str_eq(got, "hello\r\n");
	unlink(path);

	ck_assert_int_eq(console_open(&con, "/nonexistent/dir/console.log"), -ENOENT);
	ck_assert_last_error("--console /nonexistent/dir/console.log: cannot open for writing");
}
END_TEST

/* Reads what the pipe holds now (non-blocking); returns the byte count. */
static ssize_t drain(int fd, char *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap);
	return n < 0 && errno == EAGAIN ? 0 : n;
}

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

START_TEST(console_output_buffered)
{
	/* A partial line waits for console_flush (and raises the output
	 * event); a newline or an overfull buffer writes out at once, in order. */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	fcntl(p[0], F_SETPIPE_SZ, 1 << 16);
	int saved = dup(STDOUT_FILENO);
	dup2(p[1], STDOUT_FILENO);
	struct console *con;
	ck_assert_int_eq(console_open(&con, "-"), 0);
	char got[8192];
	int efd = console_output_event_fd(con);
	ck_assert(!readable(efd));

	console_write(con, (const uint8_t *)"ab", 2);
	ck_assert_int_eq(drain(p[0], got, sizeof(got)), 0);
	ck_assert(readable(efd));
	console_flush(con);
	ck_assert(!readable(efd));
	ck_assert_int_eq(drain(p[0], got, sizeof(got)), 2);
	ck_assert_int_eq(memcmp(got, "ab", 2), 0);

	console_write(con, (const uint8_t *)"c", 1);
	console_write(con, (const uint8_t *)"\r\n", 2);
	ck_assert_int_eq(drain(p[0], got, sizeof(got)), 3);
	ck_assert_int_eq(memcmp(got, "c\r\n", 3), 0);
	console_flush(con);	/* clears the event the 'c' raised */
	ck_assert(!readable(efd));

	static uint8_t big[CONSOLE_OUT_BUF + 100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)('a' + i % 26);
	console_write(con, (const uint8_t *)"x", 1);
	console_write(con, big, sizeof(big));	/* more than the buffer holds */
	ck_assert_int_eq(drain(p[0], got, sizeof(got)), (ssize_t)sizeof(big) + 1);
	ck_assert_int_eq(got[0], 'x');
	ck_assert_int_eq(memcmp(got + 1, big, sizeof(big)), 0);

	console_write(con, (const uint8_t *)"tail", 4);
	console_close(con);	/* flushes */
	dup2(saved, STDOUT_FILENO);
	close(saved);
	ck_assert_int_eq(drain(p[0], got, sizeof(got)), 4);
	ck_assert_int_eq(memcmp(got, "tail", 4), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(console_pipe_input)
{
	/* "-": byte-transparent, the escape key is data. */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	struct console *con;
	ck_assert_int_eq(console_open(&con, "-"), 0);
	uint8_t in[] = { 'a', CONSOLE_ESCAPE_CHAR, 'b' }, out[8];
	ck_assert_int_eq(write(p[1], in, sizeof(in)), 3);
	bool esc;
	ck_assert_int_eq(console_read(con, out, sizeof(out), &esc), 3);
	ck_assert(!esc);
	ck_assert_int_eq(memcmp(in, out, 3), 0);
	close(p[1]);
	ck_assert_int_eq(console_read(con, out, sizeof(out), &esc), 0);	/* EOF */
	ck_assert_int_eq(console_input_fd(con), -1);
	console_close(con);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(p[0]);
}
END_TEST

TCase *tcase_cli(void)
{
	TCase *tc = tcase_create("cli");
	tcase_add_test(tc, size_suffixes);
	tcase_add_test(tc, size_errors);
	tcase_add_test(tc, cli_flags);
	tcase_add_test(tc, cli_errors);
	tcase_add_test(tc, cli_nics_in_order);
	tcase_add_test(tc, cli_nic_errors);
	tcase_add_test(tc, cli_nics_in_order);
	tcase_add_test(tc, cli_nic_errors);
	tcase_add_test(tc, cli_disks_in_order);
	tcase_add_test(tc, cli_disk_errors);
	return tc;
}

TCase *tcase_gmem(void)
{
	TCase *tc = tcase_create("guest_mem");
	tcase_add_test(tc, gmem_bounds);
	tcase_add_test(tc, gmem_layout_with_hole);
	return tc;
}

TCase *tcase_kvm_open(void)
{
	TCase *tc = tcase_create("kvm_open");
	tcase_add_test(tc, kvm_open_errors);
	return tc;
}

TCase *tcase_console(void)
{
	TCase *tc = tcase_create("console");
	tcase_add_test(tc, console_file);
	tcase_add_test(tc, console_pipe_input);
	tcase_add_test(tc, console_output_buffered);
	return tc;
}

int main(void)
{
	log_set_quiet(true);
	Suite *s = suite_create("vmm");
	suite_add_tcase(s, tcase_cli());
	suite_add_tcase(s, tcase_gmem());
	suite_add_tcase(s, tcase_kvm_open());
	suite_add_tcase(s, tcase_console());
	suite_add_tcase(s, tcase_console_detached());
	suite_add_tcase(s, tcase_exit());
	suite_add_tcase(s, tcase_cpuid());
	suite_add_tcase(s, tcase_exit_stats());
	suite_add_tcase(s, tcase_uuid());
	suite_add_tcase(s, tcase_net_user_opts());
	suite_add_tcase(s, tcase_cli_mdata());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
