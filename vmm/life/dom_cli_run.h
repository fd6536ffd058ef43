/* The verbs on running VMs (`start`, `console`, `shutdown`, `reboot`,
 * `destroy`, `suspend`, `resume`, `autostart-all`) with virsh's messages,
 * and what list/dominfo/domiflist ask of a running VM. dom_cli.c parses
 * their arguments. QUIET drops the "Domain ..." lines. */
#ifndef MINIVMM_VMM_LIFE_DOM_CLI_RUN_H
#define MINIVMM_VMM_LIFE_DOM_CLI_RUN_H

#include "vmm/life/dom_store.h"

#include <stdbool.h>

/* Set when a verb returns in the forked VM process: dom_main returns
 * EXIT_STATUS at once (nothing more is printed). */
struct dom_child {
	bool in_child;
	int exit_status;
};

/* Seconds destroy waits for the VM process to end. */
#define DOM_DESTROY_WAIT 15

int dom_verb_start(struct net_state *st, const char *name, bool quiet, struct dom_child *child);
/* VERB: "reboot", "destroy", "suspend", "resume". */
int dom_verb_control(struct net_state *st, const char *verb, const char *name, bool quiet);
/* TIMEOUT_S > 0: destroy it if it still runs after that many seconds. */
int dom_verb_shutdown(struct net_state *st, const char *name, unsigned timeout_s, bool quiet);
int dom_verb_console(struct net_state *st, const char *name);
/* Autostart networks (`net start --autostart`), then autostart domains not
 * running. DIR: the state directory as given (NULL: default). */
int dom_verb_autostart_all(const char *dir, bool quiet, struct dom_child *child);
/* S of a running domain gets its CPU time; IFNAMES[i] NIC i's host name
 * (NULL when unknown or not running). Best effort: the table still prints. */
void dom_running_details(const struct net_state *st, const char *name, struct dom_status *s,
			 char ifnames[][16], unsigned nnics);

#endif
