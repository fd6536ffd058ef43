/* Starting and stopping networks: bridge, address, forwarding, nftables
 * table, and the per-network DHCP helper process. */
#ifndef MINIVMM_NET_RUN_H
#define MINIVMM_NET_RUN_H

#include "net/net_state.h"

#include <stdbool.h>
#include <stddef.h>

/* Everything start creates is undone if a later step fails. */
int net_start(struct net_state *st, const char *name);
/* Removes exactly what start added (helper, table, bridge). */
int net_stop(struct net_state *st, const char *name);
/* Removes D's metadata records, STATE/run/mdata/BRIDGE (stop and undefine
 * do; a VM still running on it has lost its bridge with it). */
void net_mdata_remove(const struct net_state *st, const struct netdef *d);
/* Is D running? Fills *R when it is. */
bool net_active(const struct net_state *st, const struct netdef *d, struct net_run *r);
/* Run D's DHCP server in the foreground until SIGTERM/SIGINT. */
int net_serve(struct net_state *st, const char *name);
/* -EEXIST (logged) if D's subnet or bridge clashes with another definition. */
int net_check_conflicts(const struct net_state *st, const struct netdef *d);

/* For a VM's NIC (`--net NAME`): NAME is a network or a bridge. Sets BRIDGE
 * (16 bytes) to the running bridge to attach a TAP to (tap_open()), or
 * returns -ENODEV with a one-line error: the network is defined but not
 * active, or no such bridge exists and no network is defined for it.
 * STATE_DIR NULL: $MINIVMM_STATE_DIR, then the default. */
int net_resolve_bridge(const char *state_dir, const char *name, char bridge[16]);
/* As net_resolve_bridge(), and MDATA_DIR (SIZE bytes) set to where the
 * VMs' metadata records go (mdata_record_dir()) when NAME is a started
 * minivmm network whose helper serves 169.254.169.254; "" for a bridge
 * made by other means, or a network without a DHCP helper. */
int net_resolve_network(const char *state_dir, const char *name, char bridge[16],
			char *mdata_dir, size_t size);

#endif
