/* Putting the DHCP engine on a socket: one UDP socket bound to port 67 on
 * one interface (SO_BINDTODEVICE), so servers of several networks coexist. */
#ifndef MINIVMM_NET_DHCP_SERVE_H
#define MINIVMM_NET_DHCP_SERVE_H

#include "net/dhcp_server.h"
#include "net/dns_fwd.h"
#include "net/mdata_serve.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Open the server socket on IFNAME; returns the fd or -errno. */
int dhcp_serve_open(const char *ifname);
/* Serve DHCP on FD (and relay DNS through DNS, and metadata through MD,
 * when not NULL) until *STOP becomes non-zero or IFNAME disappears; leases
 * are flushed before returning. */
int dhcp_serve_loop(struct dhcp_server *s, int fd, struct dns_fwd *dns,
		    struct mdata_server *md, const char *ifname, volatile sig_atomic_t *stop);
#endif
