/* vmm/life/dom_proto: every request, malformed ones, replies built and read
 * back (no socket, no VM). */
#include "vmm/life/dom_proto.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *line, enum dom_cmd *c, char *err)
{
	return dom_proto_parse_request(line, strlen(line), c, err, 192);
}

START_TEST(every_request)
{
	char err[192];
	for (unsigned i = 0; i < DOM_CMD_COUNT; i++) {
		enum dom_cmd c = DOM_CMD_COUNT;
		const char *line = dom_proto_request((enum dom_cmd)i);
		size_t len = strlen(line);
		ck_assert_int_eq(line[len - 1], '\n');
		ck_assert_int_eq(dom_proto_parse_request(line, len - 1, &c, err, sizeof(err)), 0);
		ck_assert_int_eq(c, i);
	}
	enum dom_cmd c;
	ck_assert_int_eq(parse("  {\"cmd\" : \"stats\"}  \r", &c, err), 0);
	ck_assert_int_eq(c, DOM_CMD_STATS);
	ck_assert_str_eq(dom_cmd_name(DOM_CMD_CONSOLE), "console");
	ck_assert_ptr_null(dom_proto_request(DOM_CMD_COUNT));
}
END_TEST

START_TEST(malformed_requests)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
	    {"", "not JSON"},
	    {"{", "not JSON: incomplete"},
	    {"{not json", "not JSON"},
	    {"[\"status\"]", "not a JSON object"},
	    {"\"status\"", "not a JSON object"},
	    {"{}", "no \"cmd\" string"},
	    {"{\"cmd\":1}", "no \"cmd\" string"},
	    {"{\"cmd\":null}", "no \"cmd\" string"},
	    {"{\"cmd\":\"frob\"}", "unknown cmd \"frob\""},
	    {"{\"cmd\":\"STATUS\"}", "unknown cmd"},
	    {"{\"cmd\":\"status\",\"x\":1}", "unknown member \"x\""},
	    {"{\"cmd\":\"status\"} {\"cmd\":\"pause\"}", "text after the JSON object"},
	    {"{\"cmd\":\"status\"}x", "text after"},
	};
	char err[192];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum dom_cmd c = DOM_CMD_COUNT;
		err[0] = '\0';
		ck_assert_msg(parse(bad[i].line, &c, err) == -EINVAL, "accepted: %s", bad[i].line);
		ck_assert_msg(strstr(err, bad[i].why), "%s: '%s', want '%s'", bad[i].line, err,
			      bad[i].why);
		ck_assert_int_eq(c, DOM_CMD_COUNT);
	}
	/* NUL inside, and a line past the bound */
	enum dom_cmd c;
	ck_assert_int_eq(dom_proto_parse_request("{\"cmd\":\"st\0\"}", 13, &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert(strstr(err, "NUL byte"));
	size_t n = DOM_PROTO_LINE_MAX + 10;
	char *huge = malloc(n);
	memset(huge, '[', n);
	ck_assert_int_eq(dom_proto_parse_request(huge, n, &c, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "longer than 4096"));
	/* deep nesting within the bound: refused, no crash */
	ck_assert_int_eq(dom_proto_parse_request(huge, DOM_PROTO_LINE_MAX, &c, err, sizeof(err)),
			 -EINVAL);
	free(huge);
}
END_TEST

static void read_back(char *line, struct dom_reply *r)
{
	char err[192];
	size_t len = strlen(line);
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	ck_assert_int_eq(dom_proto_parse_reply(line, len - 1, r, err, sizeof(err)), 0);
	free(line);
}

START_TEST(replies)
{
	struct dom_reply r;
	char *ok = dom_proto_reply_ok();
	ck_assert_str_eq(ok, "{\"ok\":true}\n");
	read_back(ok, &r);
	ck_assert(r.ok && !r.has_status && !r.has_cpu_time);

	char *e = dom_proto_reply_error("console is \"busy\"");
	ck_assert_str_eq(e, "{\"ok\":false,\"error\":\"console is \\\"busy\\\"\"}\n");
	read_back(e, &r);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.error, "console is \"busy\"");

	struct dom_proto_status s = {.name = "vmhost", .uuid = "0e3a6a63-8bb4-4a5b-9d1c-3cc6f0a1b2c3",
				     .state = "running", .id = 7, .pid = 4242, .nnics = 2};
	strcpy(s.nics[0].ifname, "vnet0");
	memcpy(s.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	strcpy(s.nics[1].ifname, "user");
	read_back(dom_proto_reply_status(&s), &r);
	ck_assert(r.ok && r.has_status);
	ck_assert_str_eq(r.status.name, "vmhost");
	ck_assert_str_eq(r.status.uuid, s.uuid);
	ck_assert_str_eq(r.status.state, "running");
	ck_assert_int_eq(r.status.id, 7);
	ck_assert_int_eq(r.status.pid, 4242);
	ck_assert_uint_eq(r.status.nnics, 2);
	ck_assert_str_eq(r.status.nics[0].ifname, "vnet0");
	ck_assert_mem_eq(r.status.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	ck_assert_str_eq(r.status.nics[1].ifname, "user");

	struct vm_stats *st = calloc(1, sizeof(*st));
	st->nvcpus = 2;
	st->vcpu_time_ns[0] = 1500000000ULL;
	st->vcpu_time_ns[1] = 500000000ULL;
	st->exits_total = 99;
	st->nexit_kinds = 2;
	st->exits[0].kind = "io";
	st->exits[0].count = 90;
	st->exits[1].kind = "hlt";
	st->exits[1].count = 9;
	st->ndisks = 1;
	memcpy(st->disks[0].target, "vdaXXXXX", 8); /* not NUL-terminated: bounded */
	st->disks[0].rd_bytes = UINT64_MAX;
	st->nnics = 1;
	strcpy(st->nics[0].ifname, "vnet3");
	char *line = dom_proto_reply_stats(st);
	ck_assert(strstr(line, "\"cpu_time_ns\":2000000000"));
	ck_assert(strstr(line, "\"exits\":{\"total\":99,\"io\":90,\"hlt\":9}"));
	ck_assert(strstr(line, "\"target\":\"vdaXXXXX\""));
	ck_assert(strstr(line, "\"rd_bytes\":18446744073709551615"));
	ck_assert(strstr(line, "\"ifname\":\"vnet3\""));
	read_back(line, &r);
	ck_assert(r.ok && r.has_cpu_time);
	ck_assert_uint_eq(r.cpu_time_ns, 2000000000ULL);
	free(st);
}
END_TEST

/* Every vCPU and device at its largest: longer than a request may be, read
 * back all the same (dominfo's CPU time came from such a reply). */
START_TEST(full_stats_reply)
{
	struct vm_stats *st = calloc(1, sizeof(*st));
	st->nvcpus = VM_STATS_MAX_VCPUS;
	for (unsigned i = 0; i < VM_STATS_MAX_VCPUS; i++)
		st->vcpu_time_ns[i] = UINT64_MAX / VM_STATS_MAX_VCPUS;
	st->exits_total = UINT64_MAX;
	static const char *const kinds[] = {"io", "mmio", "hlt", "intr", "shutdown",
					    "system_event", "fail_entry", "internal_error", "other"};
	st->nexit_kinds = sizeof(kinds) / sizeof(kinds[0]);
	for (unsigned i = 0; i < st->nexit_kinds; i++)
		st->exits[i] = (typeof(st->exits[i])){.kind = kinds[i], .count = UINT64_MAX};
	st->ndisks = st->nnics = VM_STATS_MAX_DEVS;
	for (unsigned i = 0; i < VM_STATS_MAX_DEVS; i++) {
		memcpy(st->disks[i].target, "vdaaaaaa", 8);
		st->disks[i].rd_reqs = st->disks[i].rd_bytes = st->disks[i].wr_reqs = UINT64_MAX;
		st->disks[i].wr_bytes = st->disks[i].flush_reqs = st->disks[i].errors = UINT64_MAX;
		memcpy(st->nics[i].ifname, "vnet012345678901", 16);
		memset(st->nics[i].mac, 0xfe, 6);
		st->nics[i].rx_frames = st->nics[i].rx_bytes = st->nics[i].tx_frames = UINT64_MAX;
		st->nics[i].tx_bytes = st->nics[i].rx_dropped = st->nics[i].tx_dropped = UINT64_MAX;
	}
	char *line = dom_proto_reply_stats(st);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_gt(strlen(line), DOM_PROTO_LINE_MAX);
	ck_assert_uint_lt(strlen(line), DOM_PROTO_REPLY_MAX);
	struct dom_reply r;
	read_back(line, &r);
	ck_assert(r.ok && r.has_cpu_time);
	ck_assert_uint_eq(r.cpu_time_ns, UINT64_MAX / VM_STATS_MAX_VCPUS * VM_STATS_MAX_VCPUS);
	free(st);
	/* a request that long is still refused */
	char err[192];
	enum dom_cmd c;
	size_t n = DOM_PROTO_LINE_MAX + 1;
	char *req = malloc(n);
	memset(req, ' ', n);
	memcpy(req, "{\"cmd\":\"stats\"}", 16);
	ck_assert_int_eq(dom_proto_parse_request(req, n, &c, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "longer than 4096"));
	free(req);
	/* and a reply past its own bound */
	n = DOM_PROTO_REPLY_MAX + 1;
	char *huge = malloc(n);
	memset(huge, ' ', n);
	memcpy(huge, "{\"ok\":true}", 11);
	ck_assert_int_eq(dom_proto_parse_reply(huge, n, &r, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "longer than 65536"));
	free(huge);
}
END_TEST

START_TEST(malformed_replies)
{
	struct dom_reply r;
	char err[192];
	ck_assert_int_eq(dom_proto_parse_reply("{}", 2, &r, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "no \"ok\" boolean"));
	ck_assert_int_eq(dom_proto_parse_reply("garbage", 7, &r, err, sizeof(err)), -EINVAL);
	const char *noreason = "{\"ok\":false}";
	ck_assert_int_eq(dom_proto_parse_reply(noreason, strlen(noreason), &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.error, "the VM gave no reason");
	/* wrong types and too many NICs: ignored, bounded */
	const char *odd = "{\"ok\":true,\"state\":5,\"id\":\"x\",\"nics\":[1,{},{},{},{},{},{},{},{},{},"
			  "{\"ifname\":\"aaaaaaaaaaaaaaaaaaaaaaaa\",\"mac\":\"zz\"}]}";
	ck_assert_int_eq(dom_proto_parse_reply(odd, strlen(odd), &r, err, sizeof(err)), 0);
	ck_assert(r.has_status);
	ck_assert_int_eq(r.status.id, -1);
	ck_assert_str_eq(r.status.state, "");
	ck_assert_uint_le(r.status.nnics, DOM_NICS_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dom_proto");
	TCase *tc = tcase_create("proto");
	tcase_add_test(tc, every_request);
	tcase_add_test(tc, malformed_requests);
	tcase_add_test(tc, replies);
	tcase_add_test(tc, full_stats_reply);
	tcase_add_test(tc, malformed_replies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
