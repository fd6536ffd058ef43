/* Exit statistics (MINIVMM_EXIT_STATS) fed with synthetic kvm_run exits. */
#include "tests/unit/unit.h"
#include "vmm/exit_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

static struct kvm_run run;

static void io_exit(struct exit_stats *s, uint16_t port, uint64_t handle_ns)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IO;
	run.io.port = port;
	exit_stats_count(s, &run, 0, 1000, handle_ns);
}

static void reason_exit(struct exit_stats *s, uint32_t reason)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = reason;
	exit_stats_count(s, &run, 0, 1000, 10);
}

/* Prints s into a string the caller frees. */
static char *printed(const struct exit_stats *s, uint64_t setup_ns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	exit_stats_print(s, f, setup_ns);
	fclose(f);
	return buf;
}

START_TEST(wanted_follows_the_environment)
{
	unsetenv("MINIVMM_EXIT_STATS");
	ck_assert(!exit_stats_wanted());
	setenv("MINIVMM_EXIT_STATS", "", 1);
	ck_assert(!exit_stats_wanted());
	setenv("MINIVMM_EXIT_STATS", "0", 1);
	ck_assert(!exit_stats_wanted());
	setenv("MINIVMM_EXIT_STATS", "1", 1);
	ck_assert(exit_stats_wanted());
	unsetenv("MINIVMM_EXIT_STATS");
}
END_TEST

START_TEST(counts_reasons_and_ports)
{
	struct exit_stats *s = exit_stats_create();
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 5; i++)
		io_exit(s, 0x3f8, 100);
	io_exit(s, 0xcf8, 100);
	io_exit(s, 0xffff, 100);		/* the last port has a counter too */
	reason_exit(s, KVM_EXIT_MMIO);
	reason_exit(s, KVM_EXIT_HLT);
	reason_exit(s, 1000);			/* beyond the table: "other" */
	exit_stats_count(s, &run, -4 /* -EINTR */, 500, 0);
	ck_assert_uint_eq(exit_stats_total(s), 10);
	ck_assert_uint_eq(exit_stats_reason_count(s, KVM_EXIT_IO), 7);
	ck_assert_uint_eq(exit_stats_reason_count(s, KVM_EXIT_MMIO), 1);
	ck_assert_uint_eq(exit_stats_reason_count(s, 1000), 1);
	ck_assert_uint_eq(exit_stats_reason_count(s, 999), 1);	/* same "other" bucket */
	ck_assert_uint_eq(exit_stats_port_count(s, 0x3f8), 5);
	ck_assert_uint_eq(exit_stats_port_count(s, 0xcf8), 1);
	ck_assert_uint_eq(exit_stats_port_count(s, 0xffff), 1);
	ck_assert_uint_eq(exit_stats_port_count(s, 0x3f9), 0);
	exit_stats_destroy(s);
}
END_TEST

START_TEST(merge_adds_up_vcpus)
{
	struct exit_stats *a = exit_stats_create(), *b = exit_stats_create();
	io_exit(a, 0x70, 10);
	io_exit(b, 0x70, 10);
	io_exit(b, 0x71, 10);
	reason_exit(b, KVM_EXIT_HLT);
	exit_stats_merge(a, b);
	ck_assert_uint_eq(exit_stats_total(a), 4);
	ck_assert_uint_eq(exit_stats_port_count(a, 0x70), 2);
	ck_assert_uint_eq(exit_stats_port_count(a, 0x71), 1);
	ck_assert_uint_eq(exit_stats_reason_count(a, KVM_EXIT_HLT), 1);
	ck_assert_uint_eq(exit_stats_total(b), 3);	/* the source is left alone */
	exit_stats_destroy(a);
	exit_stats_destroy(b);
}
END_TEST

START_TEST(print_ranks_the_busiest_ports)
{
	struct exit_stats *s = exit_stats_create();
	/* 20 ports with 1..20 exits each: only the 12 busiest are listed,
	 * busiest first. */
	for (uint16_t p = 1; p <= 20; p++)
		for (int i = 0; i < p; i++)
			io_exit(s, (uint16_t)(0x100 + p), 1000000);	/* 1 ms each */
	char *out = printed(s, 123400000);
	ck_assert_ptr_nonnull(strstr(out, "set-up to first KVM_RUN 123.4 ms; 210 exits"));
	char *first = strstr(out, "port 0x0114");	/* 20 exits */
	char *second = strstr(out, "port 0x0113");
	char *last = strstr(out, "port 0x0109");	/* 9 exits: the 12th */
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	ck_assert_ptr_nonnull(last);
	ck_assert(first < second && second < last);
	ck_assert_ptr_null(strstr(out, "port 0x0108"));
	ck_assert_ptr_nonnull(strstr(out, "port 0x0114         20       20.0 ms handling"));
	ck_assert_ptr_nonnull(strstr(out, "io                    210      210.0 ms handling"));
	free(out);
	exit_stats_destroy(s);
}
END_TEST

START_TEST(print_names_unknown_reasons)
{
	struct exit_stats *s = exit_stats_create();
	reason_exit(s, KVM_EXIT_HLT);
	reason_exit(s, KVM_EXIT_DEBUG);		/* counted, but has no name here */
	char *out = printed(s, 0);
	ck_assert_ptr_nonnull(strstr(out, "hlt"));
	char *dbg = strstr(out, "(exit reason 4)");
	ck_assert_ptr_nonnull(dbg);
	ck_assert_ptr_null(strstr(out, "port 0x"));	/* no port I/O: no port lines */
	free(out);
	exit_stats_destroy(s);
}
END_TEST

/* The always-on counts of vm_get_stats(): kinds by exit reason, failed or
 * kicked runs as "intr", unknown reasons as "other". */
START_TEST(counts_by_kind_always)
{
	struct exit_counts c;
	memset(&c, 0, sizeof(c));
	const uint32_t reasons[] = { KVM_EXIT_IO, KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_HLT,
				     KVM_EXIT_SYSTEM_EVENT, 4 /* KVM_EXIT_DEBUG */ };
	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		memset(&run, 0, sizeof(run));
		run.exit_reason = reasons[i];
		exit_counts_add(&c, &run, 0);
	}
	run.exit_reason = KVM_EXIT_IO;	/* stale: a failed KVM_RUN is not an I/O exit */
	exit_counts_add(&c, &run, -EINTR);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_IO), 2);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_MMIO), 1);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_HLT), 1);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_SYSTEM_EVENT), 1);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_OTHER), 1);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KIND_INTR), 1);
	ck_assert_uint_eq(exit_counts_get(&c, EXIT_KINDS), 0);	/* out of range */
	ck_assert_str_eq(exit_kind_name(EXIT_KIND_IO), "io");
	ck_assert_str_eq(exit_kind_name(EXIT_KIND_SYSTEM_EVENT), "system_event");
	for (unsigned k = 0; k < EXIT_KINDS; k++)
		ck_assert_ptr_nonnull(exit_kind_name(k));
}
END_TEST

TCase *tcase_exit_stats(void)
{
	TCase *tc = tcase_create("exit_stats");
	tcase_add_test(tc, wanted_follows_the_environment);
	tcase_add_test(tc, counts_reasons_and_ports);
	tcase_add_test(tc, merge_adds_up_vcpus);
	tcase_add_test(tc, print_ranks_the_busiest_ports);
	tcase_add_test(tc, print_names_unknown_reasons);
	tcase_add_test(tc, counts_by_kind_always);
	return tc;
}
