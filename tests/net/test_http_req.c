/* The metadata service's HTTP request parser: valid requests (whole, byte
 * by byte, pipelined) and the hostile ones: oversized lines and heads, too
 * many headers, other methods, path traversal in every spelling, bodies,
 * malformed syntax, random bytes. */
#include "net/http_req.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum http_parse_result parse(const char *s, struct http_req *r)
{
	return http_req_parse(s, strlen(s), r);
}

/* A request with this target must be refused with status. */
static void refused_target(const char *target, int status)
{
	char buf[4096];
	struct http_req r;
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
	ck_assert_msg(parse(buf, &r) == HTTP_PARSE_ERROR, "'%s' accepted as '%s'", target, r.path);
	ck_assert_msg(r.status == status, "'%s': %d, want %d", target, r.status, status);
	ck_assert_ptr_nonnull(r.why);
	ck_assert(!r.keep_alive);
}

static void refused(const char *req, int status)
{
	struct http_req r;
	ck_assert_msg(parse(req, &r) == HTTP_PARSE_ERROR, "accepted: %s", req);
	ck_assert_msg(r.status == status, "%d, want %d for: %s (%s)", r.status, status, req, r.why);
}

START_TEST(simple_get)
{
	const char *req = "GET /latest/meta-data/instance-id HTTP/1.1\r\n"
			  "Host: 169.254.169.254\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n";
	struct http_req r;
	ck_assert_int_eq(parse(req, &r), HTTP_PARSE_DONE);
	ck_assert_int_eq(r.method, HTTP_GET);
	ck_assert_str_eq(r.path, "/latest/meta-data/instance-id");
	ck_assert(r.keep_alive);
	ck_assert_uint_eq(r.head_len, strlen(req));
}
END_TEST

START_TEST(byte_by_byte_then_pipelined)
{
	const char *two = "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b?q=1 HTTP/1.1\nHost: h\n\n";
	size_t first = strlen("HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n");
	struct http_req r;
	for (size_t n = 0; n < first; n++)
		ck_assert_int_eq(http_req_parse(two, n, &r), HTTP_PARSE_MORE);
	ck_assert_int_eq(http_req_parse(two, strlen(two), &r), HTTP_PARSE_DONE);
	ck_assert_int_eq(r.method, HTTP_HEAD);
	ck_assert_str_eq(r.path, "/a");
	ck_assert_uint_eq(r.head_len, first);
	/* the next one, with bare LF line ends and a query */
	ck_assert_int_eq(parse(two + first, &r), HTTP_PARSE_DONE);
	ck_assert_int_eq(r.method, HTTP_GET);
	ck_assert_str_eq(r.path, "/b");
	ck_assert_uint_eq(r.head_len, strlen(two) - first);
}
END_TEST

START_TEST(connection_semantics)
{
	struct http_req r;
	ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &r), HTTP_PARSE_DONE);
	ck_assert(!r.keep_alive);
	ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r),
			 HTTP_PARSE_DONE);
	ck_assert(r.keep_alive);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: te, Close\r\n\r\n", &r),
			 HTTP_PARSE_DONE);
	ck_assert(!r.keep_alive);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nhost:h\r\nContent-Length: 0\r\n\r\n", &r),
			 HTTP_PARSE_DONE);
	ck_assert(r.keep_alive);
}
END_TEST

START_TEST(targets_accepted)
{
	struct http_req r;
	ck_assert_int_eq(parse("GET /l%61test/meta-data/ HTTP/1.1\r\nHost: h\r\n\r\n", &r),
			 HTTP_PARSE_DONE);
	ck_assert_str_eq(r.path, "/latest/meta-data/");
	ck_assert_int_eq(parse("GET http://169.254.169.254/latest/ HTTP/1.1\r\nHost: h\r\n\r\n", &r),
			 HTTP_PARSE_DONE);
	ck_assert_str_eq(r.path, "/latest/");
	ck_assert_int_eq(parse("GET /a/..b/c.. HTTP/1.1\r\nHost: h\r\n\r\n", &r), HTTP_PARSE_DONE);
	ck_assert_str_eq(r.path, "/a/..b/c..");
}
END_TEST

START_TEST(path_traversal_refused)
{
	static const char *const bad[] = {
		"/latest/../../etc/passwd", "/..", "/../", "/.", "/./latest", "/latest/meta-data/..",
		"/%2e%2e/etc", "/%2E%2E/etc", "/.%2e/etc", "/%2e/", "/latest%2f..%2fx",
		"/a%5cb", "/a\\..\\b", "/%00", "/a%0a", "/%zz", "/%4", "/%", "/a#frag",
		"/caf\xc3\xa9", "*", "latest/meta-data", "http://host", "",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_target(bad[i], 400);
}
END_TEST

START_TEST(long_targets)
{
	char t[1200] = "/";
	memset(t + 1, 'a', 300);
	t[301] = 0;
	refused_target(t, 414);		/* decoded path longer than HTTP_PATH_MAX */
	memset(t + 1, 'a', 1100);
	t[1101] = 0;
	refused_target(t, 414);		/* raw target too long */
}
END_TEST

START_TEST(methods)
{
	static const char *const other[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get",
					     "CONNECT", "TRACE" };
	for (unsigned i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: h\r\n\r\n", other[i]);
		refused(buf, 405);
	}
	/* the first error wins: the method, not the traversal after it */
	refused("PUT /../x HTTP/1.1\r\nHost: h\r\n\r\n", 405);
	refused("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(malformed_syntax)
{
	refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
	refused("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400);
	refused("GET / FOO\r\nHost: h\r\n\r\n", 400);
	refused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	refused("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
	refused("GET /\r\nHost: h\r\n\r\n", 400);
	refused("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\n\r\n", 400);				/* no Host */
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400);	/* bare CR */
	refused("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 400);
	refused("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501);

	const char nul[] = "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n";
	struct http_req r;
	ck_assert_int_eq(http_req_parse(nul, sizeof(nul) - 1, &r), HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 400);
}
END_TEST

START_TEST(size_limits)
{
	static char buf[3 * HTTP_HEAD_MAX];
	struct http_req r;

	/* a request line that never ends: refused as soon as it is too long */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	ck_assert_int_eq(http_req_parse(buf, HTTP_LINE_MAX - 1, &r), HTTP_PARSE_MORE);
	ck_assert_int_eq(http_req_parse(buf, HTTP_LINE_MAX, &r), HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 414);
	ck_assert_int_eq(http_req_parse(buf, sizeof(buf), &r), HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 414);

	/* a header line that never ends */
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'b', sizeof(buf) - (size_t)n);
	ck_assert_int_eq(http_req_parse(buf, sizeof(buf), &r), HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 431);

	/* too many headers */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X-%d: y\r\n", i);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	refused(buf, 431);

	/* lines within the limit, the head beyond it, never ending */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n");
	while (n < HTTP_HEAD_MAX + 100) {
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X-Pad: ");
		memset(buf + n, 'p', 1500);
		n += 1500;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	}
	ck_assert_int_eq(http_req_parse(buf, HTTP_HEAD_MAX - 1, &r), HTTP_PARSE_MORE);
	ck_assert_int_eq(http_req_parse(buf, (size_t)n, &r), HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 431);

	/* a complete head followed by many more bytes: only the head counts */
	n = snprintf(buf, sizeof(buf), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	memset(buf + n, 'z', sizeof(buf) - (size_t)n);
	ck_assert_int_eq(http_req_parse(buf, sizeof(buf), &r), HTTP_PARSE_DONE);
	ck_assert_uint_eq(r.head_len, (size_t)n);
}
END_TEST

/* Random and mutated heads: never a crash (ASan/UBSan watch), always a
 * status with an error, a head inside the buffer when done. */
START_TEST(random_bytes)
{
	static const char seed[] = "GET /latest/meta-data/ HTTP/1.1\r\nHost: h\r\nX: %2e\r\n\r\n";
	char buf[512];
	struct http_req r;
	srand(12);
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)rand() % sizeof(buf);
		if (iter & 1) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)(rand() % 256);
		} else {
			len = sizeof(seed) - 1;
			memcpy(buf, seed, len);
			for (int k = rand() % 4; k >= 0; k--)
				buf[rand() % len] = (char)(rand() % 256);
		}
		enum http_parse_result res = http_req_parse(buf, len, &r);
		if (res == HTTP_PARSE_ERROR)
			ck_assert_int_ge(r.status, 400);
		if (res == HTTP_PARSE_DONE) {
			ck_assert_uint_le(r.head_len, len);
			ck_assert_int_eq(r.path[0], '/');
			ck_assert_ptr_null(strstr(r.path, "/../"));
			ck_assert_uint_lt(strlen(r.path), HTTP_PATH_MAX);
		}
	}
}
END_TEST

START_TEST(response_heads)
{
	char buf[256];
	int n = http_resp_head(buf, sizeof(buf), 200, "text/plain", 12, true);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "HTTP/1.1 200 OK\r\nServer: minivmm\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n");
	n = http_resp_head(buf, sizeof(buf), 405, NULL, 0, false);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nConnection: close\r\n"));
	ck_assert_int_eq(http_resp_head(buf, 20, 200, "text/plain", 1, true), -ENOSPC);
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_req");
	TCase *tc = tcase_create("parse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, simple_get);
	tcase_add_test(tc, byte_by_byte_then_pipelined);
	tcase_add_test(tc, connection_semantics);
	tcase_add_test(tc, targets_accepted);
	tcase_add_test(tc, path_traversal_refused);
	tcase_add_test(tc, long_targets);
	tcase_add_test(tc, methods);
	tcase_add_test(tc, malformed_syntax);
	tcase_add_test(tc, size_limits);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, response_heads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
