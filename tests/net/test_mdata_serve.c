/* The metadata server's bounds on loopback, its clock driven by the test:
 * keep-alive and pipelining, error replies that reach the client whole
 * (then the rest of its input is dropped), the per-address connection
 * cap, the head, idle and send deadlines, and that the server keeps
 * serving through all of it. Loopback has no ARP entries, so every
 * request is answered 404 (tests/net/mdata_e2e.sh checks the 200s). Needs
 * SO_BINDTODEVICE (root or CAP_NET_RAW on older kernels): skipped (77)
 * without, except under CI=true. */
#include "net/dhcp_lease.h"
#include "net/mdata_serve.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct mdata_server *srv;
static struct dhcp_leases *leases;
static time_t now = 1000;

static void setup(void)
{
	static const struct dhcp_pool pool = { .start = 0x7f000064, .end = 0x7f0000c8,
					       .server_ip = 0x7f000001 };
	ck_assert_int_eq(dhcp_leases_open(&leases, &pool, NULL, now), 0);
	struct mdata_serve_cfg cfg = { .listen_ip = INADDR_LOOPBACK, .port = 0, .ifname = "lo",
				       .record_dir = "/nonexistent", .leases = leases };
	ck_assert_int_eq(mdata_serve_open(&srv, &cfg), 0);
}

static void teardown(void)
{
	mdata_serve_close(srv);
	dhcp_leases_close(leases);
}

static int client(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(mdata_serve_port(srv)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Runs the server until fd has something to read (or 2 s pass). */
static bool drive(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (int i = 0; i < 200; i++) {
		mdata_serve_poll(srv, now);
		if (poll(&p, 1, 10) > 0)
			return true;
	}
	return false;
}

/* Reads what the server sent until it pauses or closes; *closed says which. */
static char *response(int fd, bool *closed)
{
	static char buf[16384];
	size_t n = 0;
	*closed = false;
	while (n < sizeof(buf) - 1 && drive(fd)) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);
		if (r <= 0) {
			*closed = r == 0 || errno == ECONNRESET;
			break;
		}
		n += (size_t)r;
		/* a whole reply here has a body of its Content-Length */
		buf[n] = 0;
		char *cl = strstr(buf, "Content-Length: "), *end = strstr(buf, "\r\n\r\n");
		if (cl && end && n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			break;
	}
	buf[n] = 0;
	return buf;
}

static void say(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

START_TEST(keep_alive_and_pipelining)
{
	bool closed;
	int fd = client();
	say(fd, "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n");
	char *r = response(fd, &closed);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 404 Not Found\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Connection: keep-alive"));
	ck_assert(!closed);
	/* two requests in one write: two replies, then the close asked for */
	say(fd, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	r = response(fd, &closed);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 404"));
	char *second = strstr(r + 1, "HTTP/1.1 404");
	if (!second)	/* the first reply came alone: read on */
		second = response(fd, &closed);
	ck_assert_ptr_nonnull(strstr(second, "Connection: close"));
	response(fd, &closed);
	ck_assert(closed);
	close(fd);
	ck_assert_uint_eq(mdata_serve_stats(srv)->requests, 3);
}
END_TEST

START_TEST(error_reply_survives_unread_input)
{
	static char body[200000];
	bool closed;
	int fd = client();
	memset(body, 'b', sizeof(body) - 1);
	say(fd, "POST /latest/user-data HTTP/1.1\r\nHost: x\r\nContent-Length: 199999\r\n\r\n");
	/* the body keeps coming while the server has already answered */
	ck_assert_int_gt(send(fd, body, 60000, MSG_NOSIGNAL), 0);
	char *r = response(fd, &closed);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Allow: GET, HEAD\r\n"));
	close(fd);
	fd = client();
	say(fd, "GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(response(fd, &closed), "HTTP/1.1 400 Bad Request\r\n"));
	close(fd);
	ck_assert_uint_ge(mdata_serve_stats(srv)->errors, 2);
}
END_TEST

START_TEST(per_address_cap)
{
	int fds[MDATA_CONN_PER_PEER + 2];
	bool closed;
	for (int i = 0; i < MDATA_CONN_PER_PEER + 2; i++) {
		fds[i] = client();
		for (int k = 0; k < 5; k++)
			mdata_serve_poll(srv, now);
	}
	/* the ones beyond the cap are closed at once */
	for (int i = MDATA_CONN_PER_PEER; i < MDATA_CONN_PER_PEER + 2; i++) {
		response(fds[i], &closed);
		ck_assert(closed);
	}
	ck_assert_uint_eq(mdata_serve_stats(srv)->refused_full, 2);
	/* the others are served; freeing one lets a new one in */
	say(fds[0], "GET / HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(response(fds[0], &closed), "HTTP/1.1 404"));
	response(fds[0], &closed);
	ck_assert(closed);	/* HTTP/1.0: closed after the reply */
	close(fds[0]);		/* ends the server's drain of it */
	fds[0] = -1;
	for (int k = 0; k < 5; k++)
		mdata_serve_poll(srv, now);
	int again = client();
	say(again, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(response(again, &closed), "HTTP/1.1 404"));
	close(again);
	for (int i = 1; i < MDATA_CONN_PER_PEER + 2; i++)
		close(fds[i]);
}
END_TEST

START_TEST(deadlines)
{
	bool closed;
	int slow = client(), idle = client(), silent = client();
	say(slow, "GET / HTTP/1.1\r\nHo");
	say(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(response(idle, &closed), "HTTP/1.1 404"));
	ck_assert(!closed);
	now += MDATA_HEAD_TIMEOUT;	/* the slow head's time is up */
	char *r = response(slow, &closed);
	ck_assert_ptr_nonnull(strstr(r, "HTTP/1.1 408 Request Timeout\r\n"));
	response(silent, &closed);	/* never sent a byte: just closed */
	ck_assert(closed);
	response(idle, &closed);	/* idle, but within its keep-alive time */
	ck_assert(!closed);
	now += MDATA_IDLE_TIMEOUT;
	response(idle, &closed);
	ck_assert(closed);
	ck_assert_uint_eq(mdata_serve_stats(srv)->timeouts, 3);
	close(slow);
	close(idle);
	close(silent);
}
END_TEST

int main(void)
{
	log_set_quiet(true);
	struct dhcp_leases *l;
	static const struct dhcp_pool pool = { .start = 1, .end = 2, .server_ip = 3 };
	if (dhcp_leases_open(&l, &pool, NULL, 0) < 0)
		return 1;
	struct mdata_serve_cfg cfg = { .listen_ip = INADDR_LOOPBACK, .ifname = "lo",
				       .record_dir = "/nonexistent", .leases = l };
	struct mdata_server *probe;
	if (mdata_serve_open(&probe, &cfg) < 0) {
		const char *ci = getenv("CI");
		fprintf(stderr, "cannot listen on loopback bound to lo (SO_BINDTODEVICE needs "
			"privileges here): skipped\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	mdata_serve_close(probe);
	dhcp_leases_close(l);

	Suite *s = suite_create("mdata_serve");
	TCase *tc = tcase_create("serve");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keep_alive_and_pipelining);
	tcase_add_test(tc, error_reply_survives_unread_input);
	tcase_add_test(tc, per_address_cap);
	tcase_add_test(tc, deadlines);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
