/* A small DNS forwarder on the bridge address (as libvirt's dnsmasq does):
 * guests are handed the bridge address as their DNS server, and queries are
 * relayed over UDP to the host's first resolver from /etc/resolv.conf —
 * loopback resolvers such as systemd-resolved's 127.0.0.53 included, which
 * a guest could not reach itself. Query ids are rewritten to random ones
 * (getrandom) so answers go back to the right guest and cannot be forged by
 * guessing the next id; unanswered queries are forgotten after DNS_FWD_TIMEOUT
 * seconds. UDP only: a truncated answer makes the guest retry over TCP,
 * which is not served. */
#ifndef MINIVMM_NET_DNS_FWD_H
#define MINIVMM_NET_DNS_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DNS_FWD_TIMEOUT 5
#define DNS_FWD_MAX_MSG 4096

struct dns_fwd_stats {
	uint64_t queries, answers, malformed, expired;
};

struct dns_fwd;

/* Listen on LISTEN_IP:LISTEN_PORT (port 0: any, for tests), on IFNAME if not
 * NULL; relay to UPSTREAM_IP:UPSTREAM_PORT. Addresses in host order. */
int dns_fwd_open(struct dns_fwd **out, uint32_t listen_ip, uint16_t listen_port, const char *ifname,
		 uint32_t upstream_ip, uint16_t upstream_port);
void dns_fwd_close(struct dns_fwd *f);
/* The two fds to poll: [0] guests' queries, [1] upstream answers. */
void dns_fwd_fds(const struct dns_fwd *f, int fds[2]);
uint16_t dns_fwd_port(const struct dns_fwd *f);
/* Relay what is readable on each fd. */
void dns_fwd_on_query(struct dns_fwd *f, time_t now);
void dns_fwd_on_answer(struct dns_fwd *f, time_t now);
const struct dns_fwd_stats *dns_fwd_stats(const struct dns_fwd *f);

/* The first IPv4 nameserver in a resolv.conf, loopback allowed; 0 if none. */
uint32_t dns_fwd_upstream(const char *resolv_conf);
/* Up to MAX IPv4 nameservers of a resolv.conf (loopback ones only if
 * LOOPBACK); returns how many. Used to hand guests the host's resolvers
 * directly when the forwarder cannot listen on the bridge address. */
size_t dns_resolvers(const char *resolv_conf, bool loopback, uint32_t *ips, size_t max);

#endif
