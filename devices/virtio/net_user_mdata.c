/* --net user's metadata service and link-local filter (net_user_mdata.h). */
#include "devices/virtio/net_user_mdata.h"

#include "devices/virtio/net_user.h"
#include "devices/virtio/net_user_opts.h"
#include "net/mdata_conn.h"
#include "net/mdata_record.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ETH_HLEN 14
#define MDATA_HTTP_PORT 80

struct user_mdata {
	uint32_t alias;			/* network order: .4 of the slirp network */
	uint32_t net, mask;		/* network order */
	struct mdata_record rec;	/* this VM's data */
	struct mdata_conns *srv;	/* NULL: no service */
	char dir[64], sock[80];
	uint64_t blocked;
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* RFC 1624: the one's complement sum at SUM after a 4-byte field changed
 * from OLD to NEW (IPv4 header and TCP pseudo-header alike). */
static void csum_replace4(uint8_t *sum, const uint8_t *old, const uint8_t *new)
{
	uint32_t s = (uint16_t)~get16(sum);
	for (int i = 0; i < 4; i += 2)
		s += (uint16_t)~get16(old + i) + get16(new + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	put16(sum, (uint16_t)~s);
}

/* The 4-byte address at FIELD becomes ADDR (network order), the IP header
 * checksum and the TCP one (TCP: NULL for another protocol) following. */
static void rewrite_addr(uint8_t *ip, uint8_t *field, uint32_t addr, uint8_t *tcp)
{
	uint8_t old[4];
	memcpy(old, field, 4);
	memcpy(field, &addr, 4);
	csum_replace4(ip + 10, old, field);
	if (tcp)
		csum_replace4(tcp + 16, old, field);
}

static bool link_local4(const uint8_t *a) { return a[0] == 169 && a[1] == 254; }

static bool blocked_v6(const uint8_t *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t ec2[16] = { 0xfd, 0, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };
	return ((!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12)) && link_local4(a + 12)) ||
	       !memcmp(a, ec2, 16);
}

/* The TCP header of an unfragmented IPv4 TCP packet, or NULL. */
static uint8_t *tcp_of(uint8_t *ip, size_t len)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ip[9] != 6 || (get16(ip + 6) & 0x3fff) || ihl + 20 > len)
		return NULL;
	return ip + ihl;
}

static size_t arp_reply(const uint8_t *req, uint8_t *out)
{
	static const uint8_t mac[6] = { 0x52, 0x55, 0xa9, 0xfe, 0xa9, 0xfe };
	memset(out, 0, 64);
	memcpy(out, req + 22, 6);		/* to the asker's hardware address */
	memcpy(out + 6, mac, 6);
	memcpy(out + 12, req + 12, 10);		/* ARP, Ethernet/IPv4, 6, 4 */
	put16(out + 20, 2);			/* reply */
	memcpy(out + 22, mac, 6);
	memcpy(out + 28, req + 38, 4);		/* 169.254.169.254 is at mac */
	memcpy(out + 32, req + 22, 10);		/* to the asker */
	return 60;
}

static enum user_mdata_verdict from_guest_ip(struct user_mdata *m, uint8_t *ip, size_t len)
{
	if (len < 20 || ip[0] >> 4 != 4 || (size_t)(ip[0] & 0xf) * 4 < 20 ||
	    (size_t)(ip[0] & 0xf) * 4 > len)
		return MDATA_PASS;	/* slirp drops it */
	uint8_t *dst = ip + 16, *tcp;
	if (!memcmp(dst, &m->alias, 4))
		goto drop;
	if (!link_local4(dst))
		return MDATA_PASS;
	uint32_t want = htonl(MDATA_ADDR);
	if (!m->srv || memcmp(dst, &want, 4) || !(tcp = tcp_of(ip, len)) ||
	    get16(tcp + 2) != MDATA_HTTP_PORT)
		goto drop;
	uint32_t src;
	memcpy(&src, ip + 12, 4);
	if ((src & m->mask) == m->net)	/* local-ipv4: where the guest asks from */
		inet_ntop(AF_INET, &src, m->rec.vm.local_ipv4, sizeof(m->rec.vm.local_ipv4));
	rewrite_addr(ip, dst, m->alias, tcp);
	return MDATA_PASS;
drop:
	m->blocked++;
	return MDATA_DROP;
}

enum user_mdata_verdict user_mdata_from_guest(struct user_mdata *m, uint8_t *frame, size_t len,
					      uint8_t *reply, size_t *reply_len)
{
	if (len < ETH_HLEN)
		return MDATA_PASS;
	uint16_t type = get16(frame + 12);
	uint8_t *l3 = frame + ETH_HLEN;
	size_t l3len = len - ETH_HLEN;
	uint32_t want = htonl(MDATA_ADDR);

	if (type == 0x0800)
		return from_guest_ip(m, l3, l3len);
	if (type == 0x86dd && l3len >= 40 && blocked_v6(l3 + 24)) {
		m->blocked++;
		return MDATA_DROP;
	}
	if (type == 0x0806 && m->srv && l3len >= 28 && get16(l3) == 1 && get16(l3 + 2) == 0x0800 &&
	    l3[4] == 6 && l3[5] == 4 && get16(l3 + 6) == 1 && !memcmp(l3 + 24, &want, 4)) {
		*reply_len = arp_reply(frame, reply);
		return MDATA_REPLY;
	}
	return MDATA_PASS;
}

void user_mdata_to_guest(const struct user_mdata *m, uint8_t *frame, size_t len)
{
	uint8_t *ip = frame + ETH_HLEN, *tcp;
	if (!m || !m->srv || len < ETH_HLEN + 20 || get16(frame + 12) != 0x0800 || ip[0] >> 4 != 4 ||
	    (size_t)(ip[0] & 0xf) * 4 < 20 || memcmp(ip + 12, &m->alias, 4) ||
	    !(tcp = tcp_of(ip, len - ETH_HLEN)) || get16(tcp) != MDATA_HTTP_PORT)
		return;
	rewrite_addr(ip, ip + 12, htonl(MDATA_ADDR), tcp);
}

/* --- the server -------------------------------------------------------- */

static void *answer(void *opaque, uint32_t peer, const char *path, time_t now,
		    struct mdata_reply *rep)
{
	struct user_mdata *m = opaque;
	(void)peer;
	(void)now;
	mdata_tree_get(&m->rec.vm, path, rep);
	return NULL;	/* the record lives as long as the device */
}

static const struct mdata_conn_ops user_ops = { .answer = answer };

/* A private directory (0700) and a socket in it. */
static int listen_unix(struct user_mdata *m, const char *spec)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!base || !*base || strlen(base) > 32)
		base = "/tmp";
	snprintf(m->dir, sizeof(m->dir), "%s/minivmm-mdata.XXXXXX", base);
	if (!mkdtemp(m->dir)) {
		int e = errno;
		log_error("--net '%s': metadata: a directory for its socket in %s: %s", spec, base,
			  strerror(e));
		m->dir[0] = 0;
		return -e;
	}
	snprintf(m->sock, sizeof(m->sock), "%s/http", m->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", m->sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* SOMAXCONN: slirp connects from this thread, at most one connect
	 * per guest frame, and each poll accepts all that wait (mdata_conn.h) */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(m->sock, 0600) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		log_error("--net '%s': metadata: listening on %s: %s", spec, m->sock, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static int start_server(struct user_mdata *m, Slirp *slirp, const char *spec,
			const struct vnet_user_identity *id)
{
	struct mdata_files f = { .instance_id = id->instance_id, .hostname = id->hostname,
				 .ssh_key_path = id->ssh_key_file,
				 .user_data_path = id->user_data_file };
	int r = mdata_record_load(&f, &m->rec);
	if (r < 0)
		return r;
	int fd = listen_unix(m, spec);
	if (fd < 0)
		return fd;
	if ((r = mdata_conns_open(&m->srv, fd, &user_ops, m)) < 0) {	/* takes fd */
		log_error("--net '%s': metadata: %s", spec, strerror(-r));
		return r;
	}
	struct in_addr alias = { .s_addr = m->alias };
	if (slirp_add_unix(slirp, m->sock, &alias, MDATA_HTTP_PORT) < 0) {
		log_error("--net '%s': metadata: libslirp refused a forward to %s", spec, m->sock);
		return -EINVAL;
	}
	return 0;
}

int user_mdata_create(Slirp *slirp, const char *spec, const struct net_user_opts *o,
		      const struct vnet_user_identity *id, struct user_mdata **out)
{
	struct user_mdata *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m) {
		log_error("--net '%s': out of memory", spec);
		return -ENOMEM;
	}
	m->net = o->net.s_addr;
	m->mask = o->mask.s_addr;
	m->alias = o->net.s_addr | htonl(4);
	inet_ntop(AF_INET, &o->dhcp_start, m->rec.vm.local_ipv4, sizeof(m->rec.vm.local_ipv4));
	int r = id ? start_server(m, slirp, spec, id) : 0;
	if (r < 0) {
		user_mdata_destroy(m);
		return r;
	}
	*out = m;
	return 0;
}

void user_mdata_destroy(struct user_mdata *m)
{
	if (!m)
		return;
	if (m->srv && (m->blocked || mdata_conns_stats(m->srv)->requests))
		log_debug("metadata (--net user): %llu requests, %llu frames to 169.254.0.0/16 "
			  "dropped", mdata_conns_stats(m->srv)->requests,
			  (unsigned long long)m->blocked);
	mdata_conns_close(m->srv);
	mdata_record_free(&m->rec);
	if (m->sock[0])
		unlink(m->sock);
	if (m->dir[0])
		rmdir(m->dir);
	free(m);
}

int user_mdata_fd(const struct user_mdata *m) { return m && m->srv ? mdata_conns_fd(m->srv) : -1; }
int user_mdata_busy(const struct user_mdata *m)
{
	return m && m->srv && mdata_conns_open_count(m->srv) > 0;
}
void user_mdata_poll(struct user_mdata *m, time_t now)
{
	if (m->srv)
		mdata_conns_poll(m->srv, now);
}
uint64_t user_mdata_blocked(const struct user_mdata *m) { return m->blocked; }
uint64_t user_mdata_requests(const struct user_mdata *m)
{
	return m->srv ? mdata_conns_stats(m->srv)->requests : 0;
}
