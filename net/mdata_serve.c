/* Metadata HTTP server on a bridge (routing in mdata_serve.h, connections
 * in mdata_conn.c). */
#include "net/mdata_serve.h"
#include "net/mdata_match.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct mdata_server {
	struct mdata_serve_cfg cfg;
	struct mdata_conns *conns;
};

static int listen_on(const struct mdata_serve_cfg *cfg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cfg->port),
				  .sin_addr.s_addr = htonl(cfg->listen_ip) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Bound to the bridge: a SYN that arrived on any other interface
	 * (the uplink, lo) finds no listener and is reset. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->ifname,
		       (socklen_t)strlen(cfg->ifname) + 1) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, MDATA_CONN_MAX) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The MAC the host's ARP table holds for ip on ifname (complete entries
 * only): the frames of this connection come from, and its replies go to,
 * that MAC. 0 or -ENOENT. */
static int peer_mac(const char *ifname, uint32_t ip, uint8_t mac[6])
{
	FILE *f = fopen("/proc/net/arp", "re");
	char line[256], want[16], addr[16], hw[18], dev[IFNAMSIZ];
	unsigned type, flags;
	int r = -ENOENT;
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, want, sizeof(want));
	while (f && r && fgets(line, sizeof(line), f))
		if (sscanf(line, "%15s 0x%x 0x%x %17s %*s %15s", addr, &type, &flags, hw, dev) == 5 &&
		    !strcmp(addr, want) && !strcmp(dev, ifname) && (flags & ATF_COM) &&
		    dhcp_mac_parse(hw, mac) == 0)
			r = 0;
	if (f)
		fclose(f);
	return r;
}

/* The VM is the one whose lease holds the peer address, checked against
 * the neighbour table; its record is read per request. */
static void *answer(void *opaque, uint32_t peer, const char *path, time_t now,
		    struct mdata_reply *rep)
{
	static const char no_mac[] = "no neighbour entry for this address\n";
	struct mdata_server *s = opaque;
	struct mdata_record *rec = calloc(1, sizeof(*rec));
	uint8_t mac[6];

	if (rec && peer_mac(s->cfg.ifname, peer, mac) == 0) {
		mdata_answer(s->cfg.leases, s->cfg.record_dir, peer, mac, now, path, rec, rep);
		return rec;
	}
	free(rec);
	rep->status = 404;
	rep->content_type = "text/plain";
	rep->body = no_mac;
	rep->body_len = sizeof(no_mac) - 1;
	return NULL;
}

static void release(void *opaque, void *held)
{
	(void)opaque;
	mdata_record_free(held);
	free(held);
}

static const struct mdata_conn_ops bridge_ops = { .answer = answer, .release = release };

int mdata_serve_open(struct mdata_server **out, const struct mdata_serve_cfg *cfg)
{
	struct mdata_server *s = calloc(1, sizeof(*s));
	int fd = listen_on(cfg);
	int r = !s ? -ENOMEM : fd;
	if (s && fd >= 0) {
		s->cfg = *cfg;
		r = mdata_conns_open(&s->conns, fd, &bridge_ops, s);	/* takes fd */
	} else if (fd >= 0) {
		close(fd);
	}
	if (r < 0) {
		char ip[16];
		struct in_addr a = { .s_addr = htonl(cfg->listen_ip) };
		log_error("metadata: listening on %s:%u (%s): %s",
			  inet_ntop(AF_INET, &a, ip, sizeof(ip)), cfg->port, cfg->ifname,
			  strerror(-r));
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

int mdata_serve_fd(const struct mdata_server *s) { return mdata_conns_fd(s->conns); }

const struct mdata_stats *mdata_serve_stats(const struct mdata_server *s)
{
	return mdata_conns_stats(s->conns);
}

uint16_t mdata_serve_port(const struct mdata_server *s)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	if (getsockname(mdata_conns_listen_fd(s->conns), (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin_port);
}

void mdata_serve_poll(struct mdata_server *s, time_t now) { mdata_conns_poll(s->conns, now); }

void mdata_serve_close(struct mdata_server *s)
{
	if (!s)
		return;
	mdata_conns_close(s->conns);
	free(s);
}
