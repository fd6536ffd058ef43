/* netperf_tool: the TCP load of bench/net_bench, small and static so it
 * runs in the busybox initramfs of the L2 guest and in the L1 VM alike.
 *
 *   netperf_tool -s [-p PORT]                       server (one process per connection)
 *   netperf_tool -c IPV4 [-p PORT] -m MODE [-t SECS] [-l BYTES]   client
 *   netperf_tool -k [-p PORT] [-t SECS]             sink: one connection's bytes, timed
 *
 * Client modes; every figure is timed by the client, so that when the
 * client runs outside the guest only the host's clock counts:
 *   send  the client writes BYTES-sized chunks (default 128 KiB) for SECS,
 *         shuts its side down and waits for the server's count of the bytes
 *         it read: rate = that count / (start .. count received).
 *   recv  the server writes for SECS and closes: rate = bytes read /
 *         (first byte .. EOF).
 *   rr    one byte each way, TCP_NODELAY, for SECS: transactions/s and the
 *         mean round trip.
 * It prints one line: "netperf: mode=send bytes=N secs=S mbit_s=R" or
 * "netperf: mode=rr trans=N secs=S tps=R mean_us=L p50_us=M p99_us=P max_us=X".
 * The sink (-k) reads one connection until EOF (or SECS of silence, for a
 * sender that never closes) and prints "netperf: mode=sink bytes=N secs=S
 * mbit_s=R", timed from the first byte to the last.
 *
 * Wire: the client's first 12 bytes are "NPB1", the mode letter ('S', 'R',
 * 'P') and 3 pad bytes, then SECS as a little-endian uint32. A benchmark
 * tool between namespaces the bench made: it checks what it reads, but
 * trusts its peer otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PORT 5201
#define DEFAULT_CHUNK (128u << 10)
#define MAX_CHUNK (4u << 20)
#define HELLO_LEN 12

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Reads until EOF; returns the byte count, *first = time of the first byte. */
static uint64_t drain(int fd, char *buf, size_t len, double *first)
{
	uint64_t total = 0;
	for (;;) {
		ssize_t r = read(fd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return total;
		if (!total && first)
			*first = now();
		total += (uint64_t)r;
	}
}

static void serve_stream_in(int fd, char *buf)
{
	uint64_t n = drain(fd, buf, MAX_CHUNK, NULL);
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(n >> (8 * i));
	(void)write_all(fd, le, sizeof(le));
}

static void serve_stream_out(int fd, char *buf, uint32_t secs)
{
	double end = now() + secs;
	while (now() < end)
		if (write_all(fd, buf, DEFAULT_CHUNK) < 0)
			return;
}

static void serve_rr(int fd)
{
	char c;
	nodelay(fd);
	while (read_all(fd, &c, 1) == 0)
		if (write_all(fd, &c, 1) < 0)
			return;
}

static void serve_one(int fd)
{
	unsigned char hello[HELLO_LEN];
	char *buf = calloc(1, MAX_CHUNK);

	if (!buf || read_all(fd, hello, sizeof(hello)) < 0 || memcmp(hello, "NPB1", 4)) {
		free(buf);
		return;
	}
	uint32_t secs = hello[8] | hello[9] << 8 | hello[10] << 16 | (uint32_t)hello[11] << 24;
	if (secs > 3600)
		secs = 3600;
	switch (hello[4]) {
	case 'S': serve_stream_in(fd, buf); break;
	case 'R': serve_stream_out(fd, buf, secs); break;
	case 'P': serve_rr(fd); break;
	default: break;
	}
	free(buf);
}

static int listen_on(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("netperf: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "netperf: port %u: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int run_server(unsigned port)
{
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	int lfd = listen_on(port);

	if (lfd < 0)
		return 1;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("netperf: accept");
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			serve_one(fd);
			_exit(0);
		}
		close(fd);
	}
}

static int run_sink(unsigned port, unsigned idle_secs)
{
	struct timeval tv = { .tv_sec = idle_secs ? idle_secs : 10 };
	int lfd = listen_on(port);
	char *buf = malloc(MAX_CHUNK);

	if (lfd < 0 || !buf)
		return 1;
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("netperf: accept");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	double first = 0, last = 0;
	uint64_t total = 0;
	for (;;) {
		ssize_t r = read(fd, buf, MAX_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* EOF, or idle_secs without data */
		last = now();
		if (!total)
			first = last;
		total += (uint64_t)r;
	}
	double dt = last > first ? last - first : 1e-6;
	printf("netperf: mode=sink bytes=%llu secs=%.3f mbit_s=%.1f\n", (unsigned long long)total,
	       dt, total * 8 / dt / 1e6);
	return total ? 0 : 1;
}

static int connect_to(const char *host, unsigned port, char mode, uint32_t secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned char hello[HELLO_LEN] = { 'N', 'P', 'B', '1', (unsigned char)mode, 0, 0, 0,
					   (unsigned char)secs, (unsigned char)(secs >> 8),
					   (unsigned char)(secs >> 16), (unsigned char)(secs >> 24) };

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "netperf: -c %s: not an IPv4 address\n", host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "netperf: connecting to %s:%u: %s\n", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (mode == 'P')
		nodelay(fd);
	if (write_all(fd, hello, sizeof(hello)) < 0) {
		fprintf(stderr, "netperf: %s:%u: sending the hello: %s\n", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int client_send(int fd, uint32_t secs, size_t chunk)
{
	char *buf = calloc(1, chunk);
	unsigned char le[8];

	if (!buf)
		return 1;
	double t0 = now(), end = t0 + secs;
	while (now() < end)
		if (write_all(fd, buf, chunk) < 0) {
			perror("netperf: send");
			free(buf);
			return 1;
		}
	shutdown(fd, SHUT_WR);
	free(buf);
	if (read_all(fd, le, sizeof(le)) < 0) {
		fprintf(stderr, "netperf: send: no byte count from the server\n");
		return 1;
	}
	double dt = now() - t0;
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | le[i];
	printf("netperf: mode=send bytes=%llu secs=%.3f mbit_s=%.1f\n", (unsigned long long)n, dt,
	       n * 8 / dt / 1e6);
	return 0;
}

static int client_recv(int fd)
{
	char *buf = malloc(MAX_CHUNK);
	double first = 0;

	if (!buf)
		return 1;
	uint64_t n = drain(fd, buf, MAX_CHUNK, &first);
	double dt = now() - first;
	free(buf);
	if (!n) {
		fprintf(stderr, "netperf: recv: the server sent nothing\n");
		return 1;
	}
	printf("netperf: mode=recv bytes=%llu secs=%.3f mbit_s=%.1f\n", (unsigned long long)n, dt,
	       n * 8 / dt / 1e6);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Round trips are kept (up to RR_MAX_SAMPLES) for the median, p99, max. */
#define RR_MAX_SAMPLES (1u << 22)

static int client_rr(int fd, uint32_t secs)
{
	double *rtt = malloc(RR_MAX_SAMPLES * sizeof(*rtt));
	uint64_t n = 0;
	char c = 'x';
	double t0 = now(), end = t0 + secs, t = t0;

	if (!rtt)
		return 1;
	while (t < end) {
		if (write_all(fd, &c, 1) < 0 || read_all(fd, &c, 1) < 0) {
			fprintf(stderr, "netperf: rr: the connection broke after %llu transactions\n",
				(unsigned long long)n);
			free(rtt);
			return 1;
		}
		double t1 = now();
		if (n < RR_MAX_SAMPLES)
			rtt[n] = t1 - t;
		n++;
		t = t1;
	}
	double dt = t - t0;
	size_t k = n < RR_MAX_SAMPLES ? (size_t)n : RR_MAX_SAMPLES;
	qsort(rtt, k, sizeof(*rtt), cmp_double);
	printf("netperf: mode=rr trans=%llu secs=%.3f tps=%.1f mean_us=%.1f p50_us=%.1f "
	       "p99_us=%.1f max_us=%.1f\n", (unsigned long long)n, dt, n / dt, dt / (double)n * 1e6,
	       k ? rtt[k / 2] * 1e6 : 0, k ? rtt[k * 99 / 100] * 1e6 : 0, k ? rtt[k - 1] * 1e6 : 0);
	free(rtt);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: netperf_tool -s [-p PORT]\n"
			"       netperf_tool -c IPV4 [-p PORT] -m send|recv|rr [-t SECS] [-l BYTES]\n"
			"       netperf_tool -k [-p PORT] [-t IDLE_SECS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *host = NULL, *mode = NULL;
	unsigned port = DEFAULT_PORT, secs = 5;
	unsigned long chunk = DEFAULT_CHUNK;
	int server = 0, sink = 0, opt;

	while ((opt = getopt(argc, argv, "skc:p:m:t:l:")) != -1) {
		char *end = NULL;
		switch (opt) {
		case 's': server = 1; break;
		case 'k': sink = 1; break;
		case 'c': host = optarg; break;
		case 'm': mode = optarg; break;
		case 'p': port = (unsigned)strtoul(optarg, &end, 10); break;
		case 't': secs = (unsigned)strtoul(optarg, &end, 10); break;
		case 'l': chunk = strtoul(optarg, &end, 10); break;
		default: return usage();
		}
		if (end && (*end || end == optarg))
			return usage();
	}
	if (!port || port > 65535 || !chunk || chunk > MAX_CHUNK || secs > 3600)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	if (server)
		return run_server(port);
	if (sink)
		return run_sink(port, secs);
	if (!host || !mode)
		return usage();
	char m = !strcmp(mode, "send") ? 'S' : !strcmp(mode, "recv") ? 'R' : !strcmp(mode, "rr") ? 'P' : 0;
	if (!m)
		return usage();
	int fd = connect_to(host, port, m, secs);
	if (fd < 0)
		return 1;
	int r = m == 'S' ? client_send(fd, secs, chunk) : m == 'R' ? client_recv(fd) : client_rr(fd, secs);
	close(fd);
	return r;
}
