/* The metadata service's HTTP server, run by the network's helper beside
 * DHCP and DNS: non-blocking, one epoll set, single-threaded.
 *
 * Guests reach it as 169.254.169.254:80: the network's nftables table
 * DNATs that (only for packets arriving on its bridge) to the bridge
 * address, port MDATA_PORT, where this server listens with the socket
 * bound to the bridge (SO_BINDTODEVICE), so a connection that did not
 * arrive on the bridge is refused by the kernel. See net/README.md.
 *
 * Connections, bounds and timeouts: net/mdata_conn.h (at most
 * MDATA_CONN_PER_PEER connections from one address, so one VM cannot take
 * every slot).
 */
#ifndef MINIVMM_NET_MDATA_SERVE_H
#define MINIVMM_NET_MDATA_SERVE_H

#include "net/dhcp_lease.h"
#include "net/mdata_conn.h"

#include <stdint.h>
#include <time.h>

#define MDATA_PORT          8775	/* on the bridge address */

struct mdata_serve_cfg {
	uint32_t listen_ip;		/* host order: the bridge address */
	uint16_t port;
	const char *ifname;		/* the bridge */
	const char *record_dir;		/* mdata_record_dir() of the network */
	const struct dhcp_leases *leases;	/* the helper's lease table */
};

struct mdata_server;

/* Listens; 0 or -errno (logged). */
int mdata_serve_open(struct mdata_server **out, const struct mdata_serve_cfg *cfg);
/* A descriptor that polls readable when mdata_serve_poll() has work. */
int mdata_serve_fd(const struct mdata_server *s);
/* Handles what is ready (never blocks) and closes connections past their
 * deadline; call when the fd is readable and about once a second. */
void mdata_serve_poll(struct mdata_server *s, time_t now);
const struct mdata_stats *mdata_serve_stats(const struct mdata_server *s);
/* The port listened on (cfg.port, or the one the kernel chose for 0). */
uint16_t mdata_serve_port(const struct mdata_server *s);
void mdata_serve_close(struct mdata_server *s);

#endif
