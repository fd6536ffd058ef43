/* DHCP lease table: allocation policy and the lease file. */
#include "net/dhcp_lease.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct entry {
	uint8_t mac[6];
	bool has_mac; /* false: a declined address parked by nobody */
	uint32_t ip;
	time_t expiry; /* end of the bound lease; 0 = never bound */
	time_t hold;   /* offer or decline hold */
	char hostname[64];
};

struct dhcp_leases {
	uint32_t start, end, server_ip;
	struct dhcp_host *hosts;
	size_t nhosts;
	struct entry *e;
	size_t n, cap;
	uint8_t *used; /* bitmap over the range: an entry exists */
	char *path;
	bool dirty;
};

static bool in_range(const struct dhcp_leases *l, uint32_t ip)
{
	return ip >= l->start && ip <= l->end;
}

static void used_set(struct dhcp_leases *l, uint32_t ip, bool on)
{
	if (!in_range(l, ip))
		return;
	uint32_t i = ip - l->start;
	if (on)
		l->used[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		l->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static bool used_get(const struct dhcp_leases *l, uint32_t ip)
{
	uint32_t i = ip - l->start;
	return l->used[i / 8] & (1u << (i % 8));
}

static const struct dhcp_host *static_by_ip(const struct dhcp_leases *l, uint32_t ip)
{
	for (size_t i = 0; i < l->nhosts; i++)
		if (l->hosts[i].ip == ip)
			return &l->hosts[i];
	return NULL;
}

const struct dhcp_host *dhcp_lease_static(const struct dhcp_leases *l, const uint8_t mac[6])
{
	for (size_t i = 0; i < l->nhosts; i++)
		if (!memcmp(l->hosts[i].mac, mac, 6))
			return &l->hosts[i];
	return NULL;
}

static long find_ip(const struct dhcp_leases *l, uint32_t ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].ip == ip)
			return (long)i;
	return -1;
}

static long find_mac(const struct dhcp_leases *l, const uint8_t mac[6])
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].has_mac && !memcmp(l->e[i].mac, mac, 6))
			return (long)i;
	return -1;
}

/* Is the entry's address held by someone other than MAC right now? */
static bool held_by_other(const struct entry *e, const uint8_t mac[6], time_t now)
{
	if (!e->has_mac)
		return e->hold > now;
	if (!memcmp(e->mac, mac, 6))
		return false;
	return e->expiry > now || e->hold > now;
}

static bool usable(const struct dhcp_leases *l, uint32_t ip, const uint8_t mac[6], time_t now)
{
	const struct dhcp_host *h = static_by_ip(l, ip);

	if (h)
		return !memcmp(h->mac, mac, 6);
	if (!in_range(l, ip) || ip == l->server_ip)
		return false;
	long i = find_ip(l, ip);
	return i < 0 || !held_by_other(&l->e[i], mac, now);
}

static void remove_entry(struct dhcp_leases *l, size_t i)
{
	if (l->e[i].expiry)
		l->dirty = true;
	used_set(l, l->e[i].ip, false);
	l->e[i] = l->e[--l->n];
}

/* Make IP the one entry of MAC; returns its index. */
static size_t assign(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip)
{
	long j = find_mac(l, mac);
	if (j >= 0 && l->e[j].ip != ip)
		remove_entry(l, (size_t)j);
	long i = find_ip(l, ip);
	if (i < 0) {
		/* cap covers every range address and static host, so never full. */
		i = (long)l->n++;
		memset(&l->e[i], 0, sizeof(l->e[i]));
		l->e[i].ip = ip;
		used_set(l, ip, true);
	}
	struct entry *e = &l->e[i];
	if (!e->has_mac || memcmp(e->mac, mac, 6)) {
		if (e->expiry)
			l->dirty = true;
		e->expiry = 0;
		e->hostname[0] = '\0';
	}
	memcpy(e->mac, mac, 6);
	e->has_mac = true;
	return (size_t)i;
}

static int pick_free(const struct dhcp_leases *l, const uint8_t mac[6], time_t now, uint32_t *ip)
{
	for (uint64_t a = l->start; a <= l->end; a++) {
		if (!used_get(l, (uint32_t)a) && usable(l, (uint32_t)a, mac, now)) {
			*ip = (uint32_t)a;
			return 0;
		}
	}
	/* Every address has had an owner: take the one expired longest ago. */
	long best = -1;
	time_t best_t = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->e[i];
		time_t t = e->expiry > e->hold ? e->expiry : e->hold;
		if (in_range(l, e->ip) && usable(l, e->ip, mac, now) && (best < 0 || t < best_t)) {
			best = (long)i;
			best_t = t;
		}
	}
	if (best < 0)
		return -ENOSPC;
	*ip = l->e[best].ip;
	return 0;
}

int dhcp_lease_offer(struct dhcp_leases *l, const uint8_t mac[6], uint32_t requested, time_t now,
		     uint32_t *ip)
{
	const struct dhcp_host *h = dhcp_lease_static(l, mac);
	long j = find_mac(l, mac);
	uint32_t a;

	if (h)
		a = h->ip;
	else if (j >= 0 && usable(l, l->e[j].ip, mac, now))
		a = l->e[j].ip;
	else if (requested && usable(l, requested, mac, now))
		a = requested;
	else if (pick_free(l, mac, now, &a) < 0)
		return -ENOSPC;

	size_t i = assign(l, mac, a);
	l->e[i].hold = now + DHCP_OFFER_HOLD;
	*ip = a;
	return 0;
}

int dhcp_lease_bind(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, uint32_t secs,
		    const char *hostname, time_t now)
{
	if (!usable(l, ip, mac, now))
		return -EADDRNOTAVAIL;
	size_t i = assign(l, mac, ip);
	struct entry *e = &l->e[i];
	e->expiry = now + (time_t)secs;
	e->hold = 0;
	if (hostname && hostname[0])
		snprintf(e->hostname, sizeof(e->hostname), "%s", hostname);
	l->dirty = true;
	return 0;
}

uint32_t dhcp_lease_current(const struct dhcp_leases *l, const uint8_t mac[6], time_t now)
{
	long j = find_mac(l, mac);
	return j >= 0 && l->e[j].expiry > now ? l->e[j].ip : 0;
}

int dhcp_lease_release(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, time_t now)
{
	long j = find_mac(l, mac);
	if (j < 0 || l->e[j].ip != ip || l->e[j].expiry <= now)
		return -ENOENT;
	l->e[j].expiry = now;
	l->dirty = true;
	return 0;
}

int dhcp_lease_decline(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, time_t now)
{
	long j = find_ip(l, ip);
	if (j < 0 || !l->e[j].has_mac || memcmp(l->e[j].mac, mac, 6))
		return -ENOENT;
	struct entry *e = &l->e[j];
	if (e->expiry)
		l->dirty = true;
	e->has_mac = false;
	e->expiry = 0;
	e->hold = now + DHCP_DECLINE_HOLD;
	return 0;
}

int dhcp_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

void dhcp_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* One line: "EXPIRY MAC IP HOSTNAME|*". */
static int load_line(struct dhcp_leases *l, const char *line)
{
	long long expiry;
	char mac_s[32], ip_s[32], host[64];
	uint8_t mac[6];
	struct in_addr a;

	if (sscanf(line, "%lld %31s %31s %63s", &expiry, mac_s, ip_s, host) != 4 || expiry <= 0 ||
	    dhcp_mac_parse(mac_s, mac) || inet_pton(AF_INET, ip_s, &a) != 1)
		return -EINVAL;
	uint32_t ip = ntohl(a.s_addr);
	const struct dhcp_host *h = static_by_ip(l, ip);
	if ((h && memcmp(h->mac, mac, 6)) || (!h && (!in_range(l, ip) || ip == l->server_ip)))
		return -ERANGE;
	if (find_ip(l, ip) >= 0 || find_mac(l, mac) >= 0)
		return -EEXIST;
	struct entry *e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->mac, mac, 6);
	e->has_mac = true;
	e->ip = ip;
	e->expiry = (time_t)expiry;
	if (strcmp(host, "*"))
		snprintf(e->hostname, sizeof(e->hostname), "%s", host);
	used_set(l, ip, true);
	return 0;
}

static int load(struct dhcp_leases *l)
{
	FILE *f = fopen(l->path, "r");
	char line[256];
	unsigned lineno = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		int err = -errno;
		log_error("dhcp: %s: %s", l->path, strerror(errno));
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (l->n >= l->cap || load_line(l, line) < 0)
			log_warn("dhcp: %s:%u: bad or duplicate lease ignored", l->path, lineno);
	}
	fclose(f);
	return 0;
}

int dhcp_leases_open(struct dhcp_leases **out, const struct dhcp_pool *pool, const char *path,
		     time_t now)
{
	(void)now;
	*out = NULL;
	if (pool->start > pool->end || pool->end - pool->start >= DHCP_POOL_MAX ||
	    pool->nhosts > DHCP_HOSTS_MAX) {
		log_error("dhcp: range or host list too large (at most %u addresses, %u hosts)",
			  DHCP_POOL_MAX, DHCP_HOSTS_MAX);
		return -EINVAL;
	}
	struct dhcp_leases *l = calloc(1, sizeof(*l));
	size_t range = (size_t)(pool->end - pool->start) + 1;
	if (!l)
		return -ENOMEM;
	l->start = pool->start;
	l->end = pool->end;
	l->server_ip = pool->server_ip;
	l->nhosts = pool->nhosts;
	l->cap = range + pool->nhosts;
	l->hosts = calloc(pool->nhosts + 1, sizeof(*l->hosts));
	l->e = calloc(l->cap, sizeof(*l->e));
	l->used = calloc(range / 8 + 1, 1);
	l->path = path ? strdup(path) : NULL;
	if (!l->hosts || !l->e || !l->used || (path && !l->path)) {
		dhcp_leases_close(l);
		return -ENOMEM;
	}
	if (pool->nhosts)
		memcpy(l->hosts, pool->hosts, pool->nhosts * sizeof(*l->hosts));
	int r = l->path ? load(l) : 0;
	if (r < 0) {
		dhcp_leases_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void dhcp_leases_close(struct dhcp_leases *l)
{
	if (!l)
		return;
	free(l->hosts);
	free(l->e);
	free(l->used);
	free(l->path);
	free(l);
}

static int write_all(int fd, const struct dhcp_leases *l)
{
	errno = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->e[i];
		char mac[18], ip[INET_ADDRSTRLEN];
		struct in_addr a = {htonl(e->ip)};

		if (!e->has_mac || !e->expiry)
			continue;
		dhcp_mac_format(e->mac, mac);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		if (dprintf(fd, "%lld %s %s %s\n", (long long)e->expiry, mac, ip,
			    e->hostname[0] ? e->hostname : "*") < 0)
			return errno ? -errno : -EIO; /* e.g. ENOSPC, for the log */
	}
	return 0;
}

static int fsync_parent_dir(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int dhcp_leases_save(struct dhcp_leases *l)
{
	char tmp[4096];

	if (!l->path || !l->dirty)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", l->path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = -errno;
		log_error("dhcp: %s: %s", tmp, strerror(errno));
		return err;
	}
	int r = write_all(fd, l);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, l->path) < 0)
		r = -errno;
	if (!r)
		r = fsync_parent_dir(l->path);	/* the rename itself must survive a crash */
	if (r < 0) {
		log_error("dhcp: writing lease file %s: %s", l->path, strerror(-r));
		unlink(tmp);
		return r;
	}
	l->dirty = false;
	return 0;
}

bool dhcp_leases_dirty(const struct dhcp_leases *l) { return l->dirty; }
size_t dhcp_leases_count(const struct dhcp_leases *l) { return l->n; }

int dhcp_leases_get(const struct dhcp_leases *l, size_t i, struct dhcp_lease *out)
{
	if (i >= l->n)
		return -ENOENT;
	const struct entry *e = &l->e[i];
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, e->mac, 6);
	out->ip = e->ip;
	out->expiry = e->has_mac ? e->expiry : 0;
	memcpy(out->hostname, e->hostname, sizeof(out->hostname));
	return 0;
}
