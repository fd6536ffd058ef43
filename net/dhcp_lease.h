/* The DHCP server's address pool and lease table.
 *
 * One entry per address ever handed out, at most one per MAC, so a MAC whose
 * lease expired, or whose network was restarted, gets its previous address
 * back unless the pool ran out and the address went to someone else.
 * Entries ever bound are persisted to a lease file written atomically (temp
 * file, fsync, rename); offers and declines live in memory only.
 * All times are passed in, so tests control the clock. */
#ifndef MINIVMM_NET_DHCP_LEASE_H
#define MINIVMM_NET_DHCP_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DHCP_POOL_MAX 65536   /* addresses in one range */
#define DHCP_HOSTS_MAX 256    /* static host entries */
#define DHCP_OFFER_HOLD 60    /* seconds an offered address is kept for its client */
#define DHCP_DECLINE_HOLD 600 /* seconds a declined address is not offered */

/* A static host entry (<host mac= ip= name=>): that MAC always gets that IP. */
struct dhcp_host {
	uint8_t mac[6];
	uint32_t ip; /* host order */
	char name[64];
};

struct dhcp_pool {
	uint32_t start, end; /* the dynamic range, host order, inclusive */
	uint32_t server_ip;  /* never handed out */
	const struct dhcp_host *hosts;
	size_t nhosts;
};

/* A lease as listed by `net info` and the tests. */
struct dhcp_lease {
	uint8_t mac[6];
	uint32_t ip;
	time_t expiry; /* 0: offered, never bound */
	char hostname[64];
};

struct dhcp_leases;

/* Create the table; when PATH is not NULL, load it if it exists (bad lines
 * are skipped with a warning) and save to it later. */
int dhcp_leases_open(struct dhcp_leases **out, const struct dhcp_pool *pool, const char *path,
		     time_t now);
void dhcp_leases_close(struct dhcp_leases *l);

/* Choose the address to offer MAC (static entry, its previous address, the
 * requested one, a never-used one, then the longest-expired one) and hold it
 * for DHCP_OFFER_HOLD seconds. -ENOSPC when the pool is exhausted. */
int dhcp_lease_offer(struct dhcp_leases *l, const uint8_t mac[6], uint32_t requested, time_t now,
		     uint32_t *ip);
/* Bind IP to MAC until now + SECS. -EADDRNOTAVAIL if IP is not one MAC may
 * have (outside the pool, the server's, another host's static address, or
 * held by another client). */
int dhcp_lease_bind(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, uint32_t secs,
		    const char *hostname, time_t now);
/* The address MAC has bound now (0 if none). */
uint32_t dhcp_lease_current(const struct dhcp_leases *l, const uint8_t mac[6], time_t now);
/* The static host entry for MAC, or NULL. */
const struct dhcp_host *dhcp_lease_static(const struct dhcp_leases *l, const uint8_t mac[6]);
/* RELEASE: the lease ends now; the MAC keeps its claim on the address. */
int dhcp_lease_release(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, time_t now);
/* DECLINE: the address is in use by someone unknown; park it. */
int dhcp_lease_decline(struct dhcp_leases *l, const uint8_t mac[6], uint32_t ip, time_t now);

/* Write the lease file if anything persistent changed since the last save. */
int dhcp_leases_save(struct dhcp_leases *l);
bool dhcp_leases_dirty(const struct dhcp_leases *l);
size_t dhcp_leases_count(const struct dhcp_leases *l);
int dhcp_leases_get(const struct dhcp_leases *l, size_t i, struct dhcp_lease *out);

/* "52:54:00:12:34:56" <-> bytes. */
int dhcp_mac_parse(const char *s, uint8_t mac[6]);
void dhcp_mac_format(const uint8_t mac[6], char out[18]);

#endif
