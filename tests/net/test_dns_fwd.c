/* The DNS forwarder over loopback: id rewriting, answers routed back to the
 * right client, malformed and unknown packets dropped. */
#include "net/dns_fwd.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LO 0x7f000001u

static int udp(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LO)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void to(int fd, uint16_t port, const uint8_t *buf, size_t n)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(LO)};
	ck_assert_int_eq(sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)n);
}

static ssize_t from(int fd, uint8_t *buf, size_t n, uint16_t *port)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	if (poll(&p, 1, 1000) != 1)
		return -1;
	ssize_t r = recvfrom(fd, buf, n, 0, (struct sockaddr *)&sa, &len);
	if (port)
		*port = ntohs(sa.sin_port);
	return r;
}

static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 1000), 1);
}

START_TEST(relay_rewrites_ids)
{
	uint16_t up_port, c1_port, c2_port, fport, ufd_port;
	int up = udp(&up_port), c1 = udp(&c1_port), c2 = udp(&c2_port), fds[2];
	struct dns_fwd *f;
	uint8_t q1[20] = {0x12, 0x34, 0x01, 0x00}, q2[20] = {0x12, 0x34, 0x01, 0x00, 1};
	uint8_t u1[20], u2[20], a[20];

	ck_assert_int_eq(dns_fwd_open(&f, LO, 0, NULL, LO, up_port), 0);
	dns_fwd_fds(f, fds);
	fport = dns_fwd_port(f);
	/* two clients, the same query id */
	to(c1, fport, q1, sizeof(q1));
	wait_readable(fds[0]);
	dns_fwd_on_query(f, 100);
	to(c2, fport, q2, sizeof(q2));
	wait_readable(fds[0]);
	dns_fwd_on_query(f, 100);
	ck_assert_int_eq(from(up, u1, sizeof(u1), &ufd_port), 20);
	ck_assert_int_eq(from(up, u2, sizeof(u2), NULL), 20);
	ck_assert(memcmp(u1, u2, 2) != 0); /* distinct upstream ids */
	ck_assert_mem_eq(u1 + 2, q1 + 2, 18);
	ck_assert_mem_eq(u2 + 2, q2 + 2, 18);
	ck_assert_uint_eq(dns_fwd_stats(f)->queries, 2);

	/* answers, second first; each goes back to its client with id 0x1234 */
	u2[2] |= 0x80;
	u1[2] |= 0x80;
	to(up, ufd_port, u2, sizeof(u2));
	to(up, ufd_port, u1, sizeof(u1));
	wait_readable(fds[1]);
	usleep(20000);
	dns_fwd_on_answer(f, 101);
	ck_assert_int_eq(from(c2, a, sizeof(a), NULL), 20);
	ck_assert_int_eq(a[0] << 8 | a[1], 0x1234);
	ck_assert_int_eq(a[4], 1); /* c2's query body */
	ck_assert_int_eq(from(c1, a, sizeof(a), NULL), 20);
	ck_assert_int_eq(a[4], 0);
	ck_assert_uint_eq(dns_fwd_stats(f)->answers, 2);

	/* an answer from anyone but the upstream is dropped */
	to(c1, ufd_port, u2, sizeof(u2));
	wait_readable(fds[1]);
	dns_fwd_on_answer(f, 101);
	ck_assert_uint_eq(dns_fwd_stats(f)->malformed, 1);

	/* a repeated answer (id now free) is dropped */
	to(up, ufd_port, u1, sizeof(u1));
	wait_readable(fds[1]);
	dns_fwd_on_answer(f, 101);
	ck_assert_uint_eq(dns_fwd_stats(f)->answers, 2);
	ck_assert_uint_eq(dns_fwd_stats(f)->malformed, 2);
	dns_fwd_close(f);
	close(up);
	close(c1);
	close(c2);
}
END_TEST

#define NQ 64

/* Relay NQ queries from two clients (client ids 7, 10, 13, ..., body byte
 * = the query's number) through F; the upstream ids are stored in UP_IDS,
 * then the answers are sent back in reverse order. */
static void relay_many(struct dns_fwd *f, int up, int c[2], uint16_t up_ids[NQ])
{
	uint16_t ufd_port = 0;
	int fds[2];
	uint8_t q[20] = {0}, u[20];

	dns_fwd_fds(f, fds);
	for (int i = 0; i < NQ; i++) {
		q[0] = (uint8_t)((i * 3 + 7) >> 8);
		q[1] = (uint8_t)(i * 3 + 7);
		q[2] = 0x01;
		q[4] = (uint8_t)i;
		to(c[i % 2], dns_fwd_port(f), q, sizeof(q));
		wait_readable(fds[0]);
		dns_fwd_on_query(f, 100);
		ck_assert_int_eq(from(up, u, sizeof(u), &ufd_port), 20);
		ck_assert_mem_eq(u + 2, q + 2, 18); /* only the id is rewritten */
		up_ids[i] = (uint16_t)(u[0] << 8 | u[1]);
	}
	ck_assert_uint_eq(dns_fwd_stats(f)->queries, NQ);
	for (int i = NQ - 1; i >= 0; i--) {
		memset(u, 0, sizeof(u));
		u[0] = (uint8_t)(up_ids[i] >> 8);
		u[1] = (uint8_t)up_ids[i];
		u[2] = 0x81;
		u[4] = (uint8_t)i;
		to(up, ufd_port, u, sizeof(u));
	}
	for (int tries = 0; tries < 50 && dns_fwd_stats(f)->answers < NQ; tries++) {
		wait_readable(fds[1]);
		usleep(2000);
		dns_fwd_on_answer(f, 101);
	}
	ck_assert_uint_eq(dns_fwd_stats(f)->answers, NQ);
	ck_assert_uint_eq(dns_fwd_stats(f)->malformed, 0);
}

START_TEST(upstream_ids_are_random_and_answers_match)
{
	uint16_t up_port, port, ids[2][NQ];
	int up = udp(&up_port), c[2] = {udp(&port), udp(&port)};
	uint8_t a[20];

	for (int k = 0; k < 2; k++) {
		struct dns_fwd *f;
		ck_assert_int_eq(dns_fwd_open(&f, LO, 0, NULL, LO, up_port), 0);
		relay_many(f, up, c, ids[k]);
		dns_fwd_close(f);
		/* every answer reached the client that asked, with its own id */
		bool got[NQ] = {false};
		for (int n = 0; n < NQ; n++) {
			int who = n % 2;
			ck_assert_int_eq(from(c[who], a, sizeof(a), NULL), 20);
			int i = a[4];
			ck_assert_int_lt(i, NQ);
			ck_assert(!got[i]);
			got[i] = true;
			ck_assert_int_eq(i % 2, who);
			ck_assert_int_eq(a[0] << 8 | a[1], (i * 3 + 7) & 0xffff);
			ck_assert_int_eq(a[2], 0x81);
		}
	}
	/* Not guessable: distinct, no id the previous one plus one (a
	 * counter), the top and bottom bits vary, and a second forwarder in
	 * the same process does not repeat the first one's ids. */
	int successive = 0, top = 0, bottom = 0, same = 0;
	for (int i = 0; i < NQ; i++) {
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(ids[0][i], ids[0][j]);
		if (i && ids[0][i] == (uint16_t)(ids[0][i - 1] + 1))
			successive++;
		top += ids[0][i] >> 15;
		bottom += ids[0][i] & 1;
		same += ids[0][i] == ids[1][i];
	}
	ck_assert_int_le(successive, 1);
	ck_assert(top > 0 && top < NQ);
	ck_assert(bottom > 0 && bottom < NQ);
	ck_assert_int_le(same, 1);
	close(up);
	close(c[0]);
	close(c[1]);
}
END_TEST

START_TEST(malformed_and_late)
{
	uint16_t up_port, c_port, ufd_port;
	int up = udp(&up_port), c = udp(&c_port), fds[2];
	struct dns_fwd *f;
	uint8_t shortq[5] = {1, 2, 3, 4, 5}, resp_as_query[12] = {0, 1, 0x80};
	uint8_t q[12] = {0xab, 0xcd}, u[12];

	ck_assert_int_eq(dns_fwd_open(&f, LO, 0, NULL, LO, up_port), 0);
	dns_fwd_fds(f, fds);
	to(c, dns_fwd_port(f), shortq, sizeof(shortq));
	to(c, dns_fwd_port(f), resp_as_query, sizeof(resp_as_query));
	wait_readable(fds[0]);
	usleep(20000);
	dns_fwd_on_query(f, 100);
	ck_assert_uint_eq(dns_fwd_stats(f)->malformed, 2);
	ck_assert_uint_eq(dns_fwd_stats(f)->queries, 0);

	/* an answer after the timeout is not relayed */
	to(c, dns_fwd_port(f), q, sizeof(q));
	wait_readable(fds[0]);
	dns_fwd_on_query(f, 100);
	ck_assert_int_eq(from(up, u, sizeof(u), &ufd_port), 12);
	u[2] |= 0x80;
	to(up, ufd_port, u, sizeof(u));
	wait_readable(fds[1]);
	dns_fwd_on_answer(f, 100 + DNS_FWD_TIMEOUT + 1);
	ck_assert_uint_eq(dns_fwd_stats(f)->answers, 0);
	ck_assert_uint_eq(dns_fwd_stats(f)->malformed, 3);
	dns_fwd_close(f);
	close(up);
	close(c);
}
END_TEST

START_TEST(upstream_from_resolv_conf)
{
	char path[] = "/tmp/mvresolv.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	dprintf(fd, "# comment\nsearch lab\nnameserver ::1\nnameserver 127.0.0.53\n"
		    "nameserver 10.0.0.2\n");
	close(fd);
	ck_assert_uint_eq(dns_fwd_upstream(path), 0x7f000035);
	uint32_t ips[3];
	ck_assert_uint_eq(dns_resolvers(path, false, ips, 3), 1);
	ck_assert_uint_eq(ips[0], 0x0a000002);
	ck_assert_uint_eq(dns_resolvers(path, true, ips, 3), 2);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "search lab\n");
	close(fd);
	ck_assert_uint_eq(dns_fwd_upstream(path), 0);
	unlink(path);
	ck_assert_uint_eq(dns_fwd_upstream("/nonexistent/resolv.conf"), 0);
}
END_TEST

START_TEST(unreachable_upstream_is_not_fatal)
{
	struct dns_fwd *f;
	/* TEST-NET-1, no route needed to open the forwarder */
	ck_assert_int_eq(dns_fwd_open(&f, LO, 0, NULL, 0xc0000201, 53), 0);
	dns_fwd_close(f);
}
END_TEST

START_TEST(listen_port_taken)
{
	uint16_t port;
	int fd = udp(&port);
	struct dns_fwd *f;
	log_clear_last_error();
	ck_assert_int_lt(dns_fwd_open(&f, LO, port, NULL, LO, 53), 0);
	ck_assert(strstr(log_last_error(), "dns: listening on 127.0.0.1 port") != NULL);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns_fwd");
	TCase *tc = tcase_create("fwd");

	log_set_quiet(true);
	tcase_add_test(tc, relay_rewrites_ids);
	tcase_add_test(tc, upstream_ids_are_random_and_answers_match);
	tcase_add_test(tc, malformed_and_late);
	tcase_add_test(tc, upstream_from_resolv_conf);
	tcase_add_test(tc, listen_port_taken);
	tcase_add_test(tc, unreachable_upstream_is_not_fatal);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
