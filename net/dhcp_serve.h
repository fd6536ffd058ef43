/* Putting the DHCP engine on a socket: one UDP socket bound to port 67 on
 * one interface (SO_BINDTODEVICE), so servers of several networks coexist. */
#ifndef MINIVMM_NET_DHCP_SERVE_H
#define MINIVMM_NET_DHCP_SERVE_H

#include "net/dhcp_server.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Open the server socket on IFNAME; returns the fd or -errno. */
int dhcp_serve_open(const char *ifname);
/* Serve until *STOP becomes non-zero; leases are flushed before returning. */
int dhcp_serve_loop(struct dhcp_server *s, int fd, volatile sig_atomic_t *stop);
/* The IPv4 "nameserver" lines of a resolv.conf, loopback ones skipped
 * (they would not answer a guest). Returns how many were stored. */
size_t dhcp_host_resolvers(const char *path, uint32_t *dns, size_t max);

#endif
