/* `minivmm start NAME`: the VM as a background process. The CLI forks it
 * (setsid, stdio to domains/run/NAME.log, the console detached with the
 * same log), waits until it reports the VM running or fails, and returns.
 * The VM process holds domains/run/NAME.lock for its life, writes its
 * run files (dom_run.h), serves NAME.sock (dom_server.h), runs the VM again
 * when the guest reboots and on_reboot is restart, and removes its run
 * files when the VM ends (a crash record stays after an internal error). */
#ifndef MINIVMM_VMM_LIFE_DOM_START_H
#define MINIVMM_VMM_LIFE_DOM_START_H

#include "vmm/life/dom_store.h"

#include <stdbool.h>

/* Seconds the CLI waits for the VM to report ready. */
#define DOM_START_TIMEOUT 120

struct dom_start_result {
	bool in_child; /* returned in the VM process, after the VM ended */
	int exit_status; /* in_child: the process's exit status */
	int id;
};

/* Starts D (the caller holds the state lock). In the CLI: 0 once the VM
 * runs (R->id), or -errno after logging why (the VM process's own error
 * lines are copied from its log). -EEXIST when it runs already. */
int dom_start(struct net_state *st, const struct domdef *d, struct dom_start_result *res);

#endif
