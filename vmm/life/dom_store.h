/* The domains' part of the state directory shared with `minivmm net`
 * (net/net_state.h: --state-dir, else $MINIVMM_STATE_DIR, else
 * /var/lib/minivmm; the same `lock` file serialises every changing command):
 *   domains/NAME.xml         the definition (libvirt domain XML, generated uuid
 *                            and MACs included), written atomically
 *   domains/autostart/NAME   present when NAME starts at boot
 *   domains/run/             the run files of `start` (dom_run.h): NAME.pid,
 *                            NAME.lock, NAME.state, NAME.sock, NAME.log;
 *                            dom_store_status() is the one place that reads
 *                            them to tell running from shut off.
 * undefine removes the definition and the autostart mark, never disk images. */
#ifndef MINIVMM_VMM_LIFE_DOM_STORE_H
#define MINIVMM_VMM_LIFE_DOM_STORE_H

#include "net/net_state.h"
#include "vmm/life/domdef.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DOM_NAMES_MAX 1024

/* virsh's state words, in virDomainState order. */
enum dom_run_state {
	DOM_NOSTATE,
	DOM_RUNNING,
	DOM_BLOCKED,
	DOM_PAUSED,
	DOM_SHUTDOWN,
	DOM_SHUTOFF,
	DOM_CRASHED,
	DOM_PMSUSPENDED
};

struct dom_status {
	enum dom_run_state state;
	int id; /* -1 while inactive: virsh shows "-" */
	pid_t pid; /* the VM process while active, else 0 */
	bool transient; /* active, but undefined meanwhile (dominfo: Persistent: no) */
	bool has_cpu_time; /* cpu_time_ns known (asked of the running VM) */
	uint64_t cpu_time_ns;
};

/* As net_state_open, plus the domains/ folders when WRITE. */
int dom_store_open(struct net_state *st, const char *dir, bool write);
int dom_store_load(const struct net_state *st, const char *name, struct domdef *d);
bool dom_store_exists(const struct net_state *st, const char *name);
int dom_store_save(const struct net_state *st, const struct domdef *d);
int dom_store_remove(const struct net_state *st, const char *name);
/* Defined names, in virsh's order (case-insensitive); count or -errno. */
int dom_store_list(const struct net_state *st, char (*names)[DOM_NAME_MAX + 1], size_t max);
/* The same plus running VMs that were undefined (virsh still lists them). */
int dom_store_list_all(const struct net_state *st, char (*names)[DOM_NAME_MAX + 1], size_t max);
/* The definition, or for a running VM that was undefined the copy it runs. */
int dom_store_load_active(const struct net_state *st, const char *name, struct domdef *d);
bool dom_store_autostart(const struct net_state *st, const char *name);
int dom_store_set_autostart(const struct net_state *st, const char *name, bool on);
/* Whether NAME runs (running, paused, shut off or crashed; dom_run.h). */
int dom_store_status(const struct net_state *st, const char *name, struct dom_status *s);
const char *dom_state_word(enum dom_run_state s);

#endif
