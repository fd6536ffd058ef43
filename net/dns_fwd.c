/* UDP DNS relay with query-id rewriting. */
#include "net/dns_fwd.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_HDR_LEN 12
#define SLOTS 65536 /* one per upstream query id */

struct pending {
	struct sockaddr_in client;
	uint16_t client_id;
	time_t sent; /* 0: free */
};

struct dns_fwd {
	int lfd, ufd;
	struct sockaddr_in upstream;
	uint16_t ids[32]; /* random upstream ids not used yet */
	size_t nids;
	bool warned;
	struct pending *slots;
	struct dns_fwd_stats stats;
};

static int udp_socket(uint32_t ip, uint16_t port, const char *ifname)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	int one = 1;
	if (fd < 0)
		return -errno;
	/* As for DHCP: coexist with a DNS server bound to all addresses. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				  (socklen_t)strlen(ifname) + 1) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int dns_fwd_open(struct dns_fwd **out, uint32_t listen_ip, uint16_t listen_port, const char *ifname,
		 uint32_t upstream_ip, uint16_t upstream_port)
{
	struct sockaddr_in up = {.sin_family = AF_INET,
				 .sin_port = htons(upstream_port),
				 .sin_addr.s_addr = htonl(upstream_ip)};
	struct dns_fwd *f = calloc(1, sizeof(*f));
	char a[INET_ADDRSTRLEN];

	*out = NULL;
	if (!f || !(f->slots = calloc(SLOTS, sizeof(*f->slots)))) {
		free(f);
		return -ENOMEM;
	}
	f->ufd = -1;
	f->lfd = udp_socket(listen_ip, listen_port, ifname);
	if (f->lfd < 0) {
		int err = f->lfd;
		struct in_addr la = {htonl(listen_ip)};
		log_error("dns: listening on %s port %u: %s", inet_ntop(AF_INET, &la, a, sizeof(a)),
			  listen_port, strerror(-err));
		dns_fwd_close(f);
		return err;
	}
	/* Not connect()ed: the upstream may be unreachable now (no route yet)
	 * without that stopping the network; answers are matched by source. */
	f->upstream = up;
	f->ufd = udp_socket(INADDR_ANY, 0, NULL);
	if (f->ufd < 0) {
		int err = f->ufd;
		log_error("dns: upstream socket: %s", strerror(-err));
		dns_fwd_close(f);
		return err;
	}
	*out = f;
	return 0;
}

void dns_fwd_close(struct dns_fwd *f)
{
	if (!f)
		return;
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->ufd >= 0)
		close(f->ufd);
	free(f->slots);
	free(f);
}

void dns_fwd_fds(const struct dns_fwd *f, int fds[2])
{
	fds[0] = f->lfd;
	fds[1] = f->ufd;
}

uint16_t dns_fwd_port(const struct dns_fwd *f)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	if (getsockname(f->lfd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin_port);
}

/* Upstream query ids are random, so that a host off the path cannot guess
 * them to forge answers for the guests (a sequential id was predictable).
 * getrandom() fills a small pool rather than being called per query; it
 * does not block: before the kernel's pool is ready, queries are dropped
 * (the guest retries) instead of stalling DHCP. */
static int random_id(struct dns_fwd *f)
{
	if (!f->nids) {
		ssize_t n = getrandom(f->ids, sizeof(f->ids), GRND_NONBLOCK);
		if (n < (ssize_t)sizeof(f->ids[0])) {
			if (!f->warned)
				log_warn("dns: no random query id (getrandom: %s); dropping queries",
					 n < 0 ? strerror(errno) : "short read");
			f->warned = true;
			return -1;
		}
		f->nids = (size_t)n / sizeof(f->ids[0]);
	}
	return f->ids[--f->nids];
}

/* A random free upstream id, reusing slots whose query timed out. */
static int take_id(struct dns_fwd *f, time_t now)
{
	for (int tries = 0; tries < 64; tries++) {
		int id = random_id(f);
		if (id < 0)
			return -1;
		struct pending *p = &f->slots[id];
		if (p->sent && now - p->sent <= DNS_FWD_TIMEOUT)
			continue;
		if (p->sent)
			f->stats.expired++;
		return id;
	}
	return -1;
}

void dns_fwd_on_query(struct dns_fwd *f, time_t now)
{
	uint8_t buf[DNS_FWD_MAX_MSG];
	struct sockaddr_in from;

	for (int k = 0; k < 32; k++) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(f->lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		/* A query: a full header, QR bit clear. */
		if (n < DNS_HDR_LEN || (buf[2] & 0x80) || flen != sizeof(from)) {
			f->stats.malformed++;
			continue;
		}
		int id = take_id(f, now);
		if (id < 0)
			continue; /* overloaded: the guest retries */
		struct pending *p = &f->slots[id];
		p->client = from;
		p->client_id = (uint16_t)(buf[0] << 8 | buf[1]);
		p->sent = now;
		buf[0] = (uint8_t)(id >> 8);
		buf[1] = (uint8_t)id;
		if (sendto(f->ufd, buf, (size_t)n, 0, (struct sockaddr *)&f->upstream,
			   sizeof(f->upstream)) == n)
			f->stats.queries++;
		else
			p->sent = 0;
	}
}

void dns_fwd_on_answer(struct dns_fwd *f, time_t now)
{
	uint8_t buf[DNS_FWD_MAX_MSG];

	for (int k = 0; k < 32; k++) {
		struct sockaddr_in src;
		socklen_t slen = sizeof(src);
		ssize_t n = recvfrom(f->ufd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &slen);
		if (n < 0)
			return;
		if (n < DNS_HDR_LEN || !(buf[2] & 0x80) || slen != sizeof(src) ||
		    src.sin_addr.s_addr != f->upstream.sin_addr.s_addr ||
		    src.sin_port != f->upstream.sin_port) {
			f->stats.malformed++;
			continue;
		}
		struct pending *p = &f->slots[buf[0] << 8 | buf[1]];
		if (!p->sent || now - p->sent > DNS_FWD_TIMEOUT) {
			f->stats.malformed++; /* unknown or late: dropped */
			continue;
		}
		buf[0] = (uint8_t)(p->client_id >> 8);
		buf[1] = (uint8_t)p->client_id;
		p->sent = 0;
		if (sendto(f->lfd, buf, (size_t)n, 0, (struct sockaddr *)&p->client,
			   sizeof(p->client)) == n)
			f->stats.answers++;
	}
}

const struct dns_fwd_stats *dns_fwd_stats(const struct dns_fwd *f) { return &f->stats; }

size_t dns_resolvers(const char *resolv_conf, bool loopback, uint32_t *ips, size_t max)
{
	FILE *fp = fopen(resolv_conf, "r");
	char line[256], addr[64];
	size_t n = 0;

	if (!fp)
		return 0;
	while (n < max && fgets(line, sizeof(line), fp)) {
		struct in_addr a;
		if (sscanf(line, " nameserver %63s", addr) != 1 ||
		    inet_pton(AF_INET, addr, &a) != 1)
			continue;
		uint32_t ip = ntohl(a.s_addr);
		if (ip == 0 || (!loopback && (ip >> 24) == 127))
			continue;
		ips[n++] = ip;
	}
	fclose(fp);
	return n;
}

uint32_t dns_fwd_upstream(const char *resolv_conf)
{
	uint32_t ip = 0;
	return dns_resolvers(resolv_conf, true, &ip, 1) ? ip : 0;
}
