/* DHCP load generator for bench/dhcp_bench.sh: NCLIENTS simulated clients
 * (distinct MACs) on one interface, at most INFLIGHT transactions at a time,
 * each transaction DISCOVER -> OFFER -> REQUEST -> ACK. First every client
 * gets a lease (warm-up, not timed), then transactions are counted for
 * SECONDS. Prints figures; asserts nothing.
 * With "release", every ACK is followed by a RELEASE, so each transaction
 * is a new binding (written to the lease file before the ACK by minivmm);
 * otherwise clients come back to an active lease (a renewal).
 *   dhcp_bench IFNAME NCLIENTS INFLIGHT SECONDS [release] */
#include "net/dhcp_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct slot {
	int client; /* index of the simulated client */
	uint32_t xid;
	int state; /* 0 idle, 1 discover sent, 2 request sent */
	double sent;
};

static int nclients, fd;
static int release_mode;
static unsigned seq;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void send_msg(struct slot *s, uint8_t type, uint32_t req_ip, uint32_t server)
{
	uint8_t buf[400] = {0};
	struct dhcp_hdr h = {.op = 1, .htype = 1, .hlen = 6};
	size_t n = sizeof(h);

	h.xid = htonl(s->xid);
	h.flags = htons(DHCP_FLAG_BROADCAST);
	h.chaddr[0] = 0x52;
	h.chaddr[1] = 0x54;
	h.chaddr[4] = (uint8_t)(s->client >> 8);
	h.chaddr[5] = (uint8_t)s->client;
	h.magic = htonl(DHCP_MAGIC);
	memcpy(buf, &h, sizeof(h));
	buf[n++] = DHCP_OPT_MSG_TYPE;
	buf[n++] = 1;
	buf[n++] = type;
	if (req_ip) {
		uint32_t a = htonl(req_ip), b = htonl(server);
		buf[n++] = DHCP_OPT_REQUESTED_IP;
		buf[n++] = 4;
		memcpy(buf + n, &a, 4);
		n += 4;
		buf[n++] = DHCP_OPT_SERVER_ID;
		buf[n++] = 4;
		memcpy(buf + n, &b, 4);
		n += 4;
	}
	buf[n++] = DHCP_OPT_END;
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(DHCP_SERVER_PORT),
				 .sin_addr.s_addr = INADDR_BROADCAST};
	if (sendto(fd, buf, 300, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		perror("sendto");
	s->sent = now_s();
}

static void send_release(struct slot *s, uint32_t ip, uint32_t server)
{
	uint8_t buf[300] = {0};
	struct dhcp_hdr h = {.op = 1, .htype = 1, .hlen = 6};
	uint32_t b = htonl(server);

	h.xid = htonl(s->xid);
	h.ciaddr = htonl(ip);
	h.chaddr[0] = 0x52;
	h.chaddr[1] = 0x54;
	h.chaddr[4] = (uint8_t)(s->client >> 8);
	h.chaddr[5] = (uint8_t)s->client;
	h.magic = htonl(DHCP_MAGIC);
	memcpy(buf, &h, sizeof(h));
	uint8_t opts[] = {DHCP_OPT_MSG_TYPE, 1, DHCPRELEASE, DHCP_OPT_SERVER_ID, 4, 0, 0, 0, 0,
			  DHCP_OPT_END};
	memcpy(opts + 5, &b, 4);
	memcpy(buf + sizeof(h), opts, sizeof(opts));
	/* The client has no address configured: broadcast, as a bench shortcut. */
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(DHCP_SERVER_PORT),
				 .sin_addr.s_addr = INADDR_BROADCAST};
	if (sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		perror("sendto");
}

static void begin(struct slot *s, int client)
{
	s->client = client;
	s->xid = (uint32_t)(++seq);
	s->state = 1;
	send_msg(s, DHCPDISCOVER, 0, 0);
}

/* Handle one reply; returns 1 when it completed a transaction. */
static int on_reply(struct slot *slots, int inflight, const uint8_t *p, size_t len, long *naks)
{
	struct dhcp_hdr h;
	size_t ol;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, p, sizeof(h));
	const uint8_t *t = dhcp_opt_find(p, len, DHCP_OPT_MSG_TYPE, &ol);
	const uint8_t *sid = dhcp_opt_find(p, len, DHCP_OPT_SERVER_ID, &ol);
	if (h.op != 2 || !t || !sid || ol != 4)
		return 0;
	for (int i = 0; i < inflight; i++) {
		struct slot *s = &slots[i];
		if (s->state == 0 || s->xid != ntohl(h.xid))
			continue;
		if (s->state == 1 && t[0] == DHCPOFFER) {
			uint32_t server;
			memcpy(&server, sid, 4);
			s->state = 2;
			send_msg(s, DHCPREQUEST, ntohl(h.yiaddr), ntohl(server));
		} else if (s->state == 2 && t[0] == DHCPACK) {
			s->state = 0;
			if (release_mode) {
				uint32_t server;
				memcpy(&server, sid, 4);
				send_release(s, ntohl(h.yiaddr), ntohl(server));
			}
			return 1;
		} else if (t[0] == DHCPNAK) {
			(*naks)++;
			s->state = 0;
		}
		return 0;
	}
	return 0;
}

/* Run transactions until DEADLINE (or until LIMIT completed); returns them. */
static long run(struct slot *slots, int inflight, double deadline, long limit, long *timeouts,
		long *naks)
{
	long done = 0;
	int next = 0;
	uint8_t buf[1600];

	for (int i = 0; i < inflight; i++)
		begin(&slots[i], next++ % nclients);
	while (now_s() < deadline && (limit <= 0 || done < limit)) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 50) > 0) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0)
				done += on_reply(slots, inflight, buf, (size_t)n, naks);
		}
		double t = now_s();
		for (int i = 0; i < inflight; i++) {
			struct slot *s = &slots[i];
			if (s->state != 0 && t - s->sent > 1.0) {
				(*timeouts)++;
				s->state = 0; /* start over with a fresh xid */
			}
			if (s->state == 0)
				begin(s, next++ % nclients);
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: dhcp_bench IFNAME NCLIENTS INFLIGHT SECONDS [release]\n");
		return 2;
	}
	release_mode = argc == 6 && !strcmp(argv[5], "release");
	nclients = atoi(argv[2]);
	int inflight = atoi(argv[3]);
	double secs = atof(argv[4]);
	if (nclients < 1 || inflight < 1 || inflight > nclients || secs <= 0)
		return 2;
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT)};
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, argv[1], (socklen_t)strlen(argv[1]) + 1) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dhcp_bench: socket");
		return 1;
	}
	struct slot *slots = calloc((size_t)inflight, sizeof(*slots));
	long timeouts = 0, naks = 0;
	/* Warm-up: every client once (waits out the bridge's STP delay). */
	long warm = run(slots, 1, now_s() + 30, nclients, &timeouts, &naks);
	if (warm < nclients) {
		fprintf(stderr, "dhcp_bench: warm-up got %ld of %d leases\n", warm, nclients);
		return 1;
	}
	timeouts = naks = 0;
	memset(slots, 0, (size_t)inflight * sizeof(*slots));
	double t0 = now_s();
	long done = run(slots, inflight, t0 + secs, 0, &timeouts, &naks);
	double dt = now_s() - t0;
	printf("transactions=%ld seconds=%.2f tps=%.0f timeouts=%ld naks=%ld\n", done, dt,
	       (double)done / dt, timeouts, naks);
	return 0;
}
