/* The detached console without KVM: the byte ring, and a client on a
 * socketpair driven the way vm.c's main loop drives it (dcon_service on
 * its event, dcon_read on input). */
#include "tests/unit/unit.h"
#include "vmm/console.h"
#include "vmm/console_detached.h"
#include "vmm/console_ring.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Everything in R, oldest first (caller frees). */
static char *ring_text(const struct byte_ring *r)
{
	struct byte_ring copy;
	ck_assert_int_eq(byte_ring_init(&copy, r->cap + 1), 0);
	ck_assert(byte_ring_push_ring(&copy, r));
	char *s = calloc(1, copy.len + 1);
	const uint8_t *p;
	size_t n, at = 0;
	while ((n = byte_ring_peek(&copy, &p)) > 0) {
		memcpy(s + at, p, n);
		at += n;
		byte_ring_drop(&copy, n);
	}
	byte_ring_free(&copy);
	return s;
}

START_TEST(ring_history_keeps_the_newest)
{
	struct byte_ring r;
	ck_assert_int_eq(byte_ring_init(&r, 8), 0);
	byte_ring_push_overwrite(&r, (const uint8_t *)"abcde", 5);
	byte_ring_push_overwrite(&r, (const uint8_t *)"fghij", 5);	/* wraps */
	char *s = ring_text(&r);
	ck_assert_str_eq(s, "cdefghij");
	free(s);
	byte_ring_push_overwrite(&r, (const uint8_t *)"0123456789xy", 12);	/* > cap */
	s = ring_text(&r);
	ck_assert_str_eq(s, "456789xy");
	free(s);
	byte_ring_free(&r);
}
END_TEST

START_TEST(ring_queue_all_or_nothing)
{
	struct byte_ring r;
	ck_assert_int_eq(byte_ring_init(&r, 8), 0);
	ck_assert(byte_ring_push(&r, (const uint8_t *)"abcdef", 6));
	ck_assert(!byte_ring_push(&r, (const uint8_t *)"ghi", 3));	/* 2 free */
	ck_assert_uint_eq(r.len, 6);
	byte_ring_drop(&r, 4);
	ck_assert(byte_ring_push(&r, (const uint8_t *)"ghijkl", 6));	/* wraps */
	const uint8_t *p;
	ck_assert_uint_eq(byte_ring_peek(&r, &p), 4);	/* "efgh" up to the end */
	ck_assert_int_eq(memcmp(p, "efgh", 4), 0);
	char *s = ring_text(&r);
	ck_assert_str_eq(s, "efghijkl");
	free(s);
	byte_ring_free(&r);
}
END_TEST

struct client {
	struct console *con;
	struct console_detached *dc;
	int peer;		/* the client's end of the socketpair */
	char log[64];
};

static void client_open(struct client *c)
{
	snprintf(c->log, sizeof(c->log), "/tmp/test-dcon-XXXXXX");
	int fd = mkstemp(c->log);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(console_open_detached(&c->con, c->log), 0);
	c->dc = console_detached(c->con);
	ck_assert_ptr_nonnull(c->dc);
	ck_assert_int_eq(console_input_fd(c->con), -1);
	c->peer = -1;
}

/* Attaches a new socketpair; the VM side is handed over. */
static int client_attach(struct client *c)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int r = console_detached(c->con) ? dcon_attach(c->dc, sv[1]) : -ENOTSUP;
	if (r < 0) {
		close(sv[0]);
		ck_assert_int_eq(close(sv[1]), 0);	/* refused: the fd stayed ours */
		return r;
	}
	c->peer = sv[0];
	return 0;
}

/* What the main loop does when the event fd or the client fd fires. */
static void service(struct client *c)
{
	struct pollfd p[2] = {
		{ .fd = dcon_event_fd(c->dc), .events = POLLIN },
		{ .fd = dcon_output_fd(c->dc), .events = POLLOUT },
	};
	if (poll(p, 2, 0) > 0)
		dcon_service(c->dc);
}

/* Reads what the client got within a short time (NUL-terminated). */
static size_t client_read(struct client *c, char *buf, size_t cap)
{
	size_t len = 0;
	for (int i = 0; i < 20; i++) {
		service(c);
		struct pollfd p = { .fd = c->peer, .events = POLLIN };
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = read(c->peer, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

static void client_close(struct client *c)
{
	if (c->peer >= 0)
		close(c->peer);
	console_close(c->con);
	unlink(c->log);
}

static void write_str(struct console *con, const char *s)
{
	console_write(con, (const uint8_t *)s, strlen(s));
}

START_TEST(detached_ring_replay_then_live)
{
	struct client c;
	char buf[1024];
	client_open(&c);
	write_str(c.con, "boot line\r\n");
	ck_assert(!dcon_attached(c.dc));
	ck_assert_int_eq(client_attach(&c), 0);
	ck_assert(dcon_attached(c.dc));
	client_read(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "boot line\r\n");	/* the ring first */
	write_str(c.con, "live\r\n");
	client_read(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "live\r\n");
	/* The log got both, in order. */
	char logbuf[64] = { 0 };
	int fd = open(c.log, O_RDONLY);
	ck_assert_int_gt(read(fd, logbuf, sizeof(logbuf) - 1), 0);
	close(fd);
	ck_assert_str_eq(logbuf, "boot line\r\nlive\r\n");
	client_close(&c);
}
END_TEST

START_TEST(detached_one_client_input_and_eof)
{
	struct client c;
	uint8_t in[16];
	client_open(&c);
	ck_assert_int_eq(client_attach(&c), 0);
	struct client other = c;
	ck_assert_int_eq(client_attach(&other), -EBUSY);	/* fd stays the caller's */
	service(&c);
	int fd = console_input_fd(c.con);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(c.peer, "ls\r", 3), 3);
	bool esc = true;
	ssize_t n;
	while ((n = console_read(c.con, in, sizeof(in), &esc)) == -EAGAIN)
		usleep(1000);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(memcmp(in, "ls\r", 3), 0);
	ck_assert(!esc);
	/* Ctrl+] is data here: the client handles its own escape key. */
	ck_assert_int_eq(write(c.peer, "\x1d", 1), 1);
	while ((n = console_read(c.con, in, sizeof(in), &esc)) == -EAGAIN)
		usleep(1000);
	ck_assert_int_eq(n, 1);
	ck_assert(!esc);
	close(c.peer);	/* EOF: the client is dropped, the console goes on */
	c.peer = -1;
	while ((n = console_read(c.con, in, sizeof(in), &esc)) == -EAGAIN)
		usleep(1000);
	ck_assert_int_eq(n, 0);
	ck_assert(!dcon_attached(c.dc));
	ck_assert_int_eq(console_input_fd(c.con), -1);
	write_str(c.con, "still logging\r\n");
	ck_assert_int_eq(client_attach(&c), 0);	/* a new client is welcome */
	client_close(&c);
}
END_TEST

START_TEST(detached_detach_closes_the_fd)
{
	struct client c;
	char buf[64];
	client_open(&c);
	ck_assert_int_eq(client_attach(&c), 0);
	service(&c);
	dcon_detach(c.dc);
	ck_assert(!dcon_attached(c.dc));
	service(&c);
	ck_assert_int_eq(console_input_fd(c.con), -1);
	ck_assert_int_eq(read(c.peer, buf, sizeof(buf)), 0);	/* EOF */
	client_close(&c);
}
END_TEST

/* A client that never reads: the writers never block, and once it is
 * DCON_QUEUE_MAX behind it is disconnected; the ring keeps the newest. */
START_TEST(detached_slow_client_dropped)
{
	struct client c;
	client_open(&c);
	ck_assert_int_eq(client_attach(&c), 0);
	service(&c);
	int sz = 4096;
	setsockopt(c.peer, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	static char line[1000];
	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	for (int i = 0; i < 1000 && dcon_attached(c.dc); i++) {	/* ~1 MB */
		write_str(c.con, line);
		service(&c);
	}
	ck_assert(!dcon_attached(c.dc));
	service(&c);
	ck_assert_int_eq(console_input_fd(c.con), -1);
	client_close(&c);
}
END_TEST

/* Threads as in a VM: a "vCPU" writing, a "controller" attaching and
 * detaching, the "main loop" servicing and reading. Nothing may crash
 * or lose the ring (fd leaks are not checked here). */
struct stress {
	struct client *c;
	atomic_bool done;
};

static void *stress_writer(void *arg)
{
	struct stress *st = arg;
	char line[64];
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "line %d\r\n", i);
		console_write(st->c->con, (const uint8_t *)line, (size_t)n);
	}
	atomic_store(&st->done, true);
	return NULL;
}

static void *stress_controller(void *arg)
{
	struct stress *st = arg;
	while (!atomic_load(&st->done)) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		if (dcon_attach(st->c->dc, sv[1]) < 0)
			close(sv[1]);
		char buf[512];
		(void)!read(sv[0], buf, sizeof(buf));	/* blocks until the ring comes */
		dcon_detach(st->c->dc);
		close(sv[0]);
	}
	return NULL;
}

START_TEST(detached_threads_stress)
{
	struct client c;
	struct stress st = { .c = &c };
	client_open(&c);
	pthread_t w, k;
	ck_assert_int_eq(pthread_create(&w, NULL, stress_writer, &st), 0);
	ck_assert_int_eq(pthread_create(&k, NULL, stress_controller, &st), 0);
	uint8_t in[64];
	bool esc;
	while (!atomic_load(&st.done)) {
		struct pollfd p[3] = {
			{ .fd = dcon_event_fd(c.dc), .events = POLLIN },
			{ .fd = dcon_output_fd(c.dc), .events = POLLOUT },
			{ .fd = console_input_fd(c.con), .events = POLLIN },
		};
		if (poll(p, 3, 10) > 0) {
			if (p[2].revents)
				(void)console_read(c.con, in, sizeof(in), &esc);
			if (p[0].revents || p[1].revents)
				dcon_service(c.dc);
		}
	}
	pthread_join(w, NULL);
	/* The controller may wait for a ring replay: keep servicing. */
	for (int i = 0; i < 200 && pthread_tryjoin_np(k, NULL) != 0; i++) {
		dcon_service(c.dc);
		usleep(5000);
	}
	char buf[VM_CONSOLE_RING + 1];
	service(&c);
	dcon_detach(c.dc);
	service(&c);
	ck_assert_int_eq(client_attach(&c), 0);
	size_t n = client_read(&c, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "line 19999\r\n"));	/* the ring has the newest */
	client_close(&c);
}
END_TEST

START_TEST(foreground_console_has_no_client)
{
	struct console *con;
	ck_assert_int_eq(console_open(&con, "-"), 0);
	ck_assert_ptr_null(console_detached(con));
	console_close(con);
}
END_TEST

TCase *tcase_console_detached(void)
{
	TCase *tc = tcase_create("console_detached");
	tcase_add_test(tc, ring_history_keeps_the_newest);
	tcase_add_test(tc, ring_queue_all_or_nothing);
	tcase_add_test(tc, detached_ring_replay_then_live);
	tcase_add_test(tc, detached_one_client_input_and_eof);
	tcase_add_test(tc, detached_detach_closes_the_fd);
	tcase_add_test(tc, detached_slow_client_dropped);
	tcase_add_test(tc, detached_threads_stress);
	tcase_add_test(tc, foreground_console_has_no_client);
	return tc;
}
