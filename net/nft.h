/* NAT and forwarding rules through libnftables. Each network owns exactly
 * one table, "ip minivmm-NAME", so removing the table removes everything
 * the network added and nothing else. */
#ifndef MINIVMM_NET_NFT_H
#define MINIVMM_NET_NFT_H

#include "net/netdef.h"

#include <stdbool.h>
#include <stddef.h>

/* The nft script for D (for tests and `net info`); 0 or -errno. */
int nft_net_script(const struct netdef *d, char *buf, size_t size);
/* Install the table (atomically: all rules or none). */
int nft_net_add(const struct netdef *d);
/* Remove the table if present. */
int nft_net_del(const char *name);
/* Is the network's table installed? (no error is logged) */
bool nft_net_exists(const char *name);

#endif
