/* The state directory (default /var/lib/minivmm, or --state-dir DIR, or
 * $MINIVMM_STATE_DIR):
 *   networks/NAME.xml     definitions (libvirt XML), survive host reboots
 *   autostart/NAME        present when NAME starts at boot (`net start --autostart`)
 *   leases/NAME.leases    the DHCP lease file
 *   run/NAME.run          what `net start` did: helper pid, bridge ifindex,
 *                         previous ip_forward; a network is active when this
 *                         exists and its bridge still has that ifindex
 *   run/NAME.log          the DHCP helper's log of the current or last run
 *                         (kept after stop, removed by undefine)
 *   lock                  flock()ed by every command that changes state */
#ifndef MINIVMM_NET_STATE_H
#define MINIVMM_NET_STATE_H

#include "net/netdef.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define NET_STATE_DEFAULT "/var/lib/minivmm"
#define NET_NAMES_MAX 256

struct net_state {
	char dir[PATH_MAX / 2];
	int lock_fd;
};

struct net_run {
	pid_t pid;	  /* DHCP helper, 0 if none */
	unsigned ifindex; /* of the bridge start created */
	int forward_prev; /* ip_forward before start set it, -1 if untouched */
};

/* DIR NULL: $MINIVMM_STATE_DIR, then the default. WRITE creates the
 * directories and takes the lock. */
int net_state_open(struct net_state *st, const char *dir, bool write);
void net_state_close(struct net_state *st);
int net_state_path(const struct net_state *st, char *buf, size_t size, const char *sub,
		   const char *name, const char *suffix);

int net_state_load(const struct net_state *st, const char *name, struct netdef *d);
bool net_state_exists(const struct net_state *st, const char *name);
int net_state_save(const struct net_state *st, const struct netdef *d);
/* Undefine: the definition, its autostart mark and its lease file, all or
 * none (a failure leaves the network defined as it was; -errno, logged);
 * then the helper's log. */
int net_state_remove(const struct net_state *st, const char *name);
/* Defined network names, sorted; returns the count or -errno. */
int net_state_list(const struct net_state *st, char (*names)[NETDEF_NAME_MAX + 1], size_t max);
bool net_state_autostart(const struct net_state *st, const char *name);
int net_state_set_autostart(const struct net_state *st, const char *name, bool on);

int net_state_run_read(const struct net_state *st, const char *name, struct net_run *r);
int net_state_run_write(const struct net_state *st, const char *name, const struct net_run *r);
void net_state_run_remove(const struct net_state *st, const char *name);

/* Write PATH atomically: PATH.tmp, fsync, rename. */
int net_write_atomic(const char *path, const char *data, size_t len);

#endif
