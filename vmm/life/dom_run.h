/* The run files of a background VM, in the state directory's domains/run/:
 *   NAME.lock   flock()ed (exclusive) by the VM process for its whole life:
 *               how a running VM is told from a stale pid file after kill -9
 *   NAME.pid    the VM process's pid
 *   NAME.state  "id=N pid=P state=running|paused|crashed", written
 *               atomically by the VM process when its state changes
 *   NAME.sock   the control socket (dom_server.h)
 *   NAME.log    the VM process's stderr and console log (kept)
 *   NAME.xml    the definition it runs (a running VM survives undefine)
 *   last-id     the last Id given to a started VM (Ids increase per start) */
#ifndef MINIVMM_VMM_LIFE_DOM_RUN_H
#define MINIVMM_VMM_LIFE_DOM_RUN_H

#include "vmm/life/dom_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dom_run_record {
	int id;
	pid_t pid;
	enum dom_run_state state; /* DOM_RUNNING, DOM_PAUSED or DOM_CRASHED */
};

/* domains/run/NAME + SUFFIX (".pid", ".sock", ...). */
int dom_run_path(const struct net_state *st, const char *name, const char *suffix, char *buf,
		 size_t size);
/* Takes NAME.lock for the calling process: 0 and *FD (keep it open for as
 * long as the VM runs), -EBUSY when another process holds it (retried for
 * up to a second: a status check may hold it for an instant). */
int dom_run_lock(const struct net_state *st, const char *name, int *fd);
/* The record as text and back; parse returns -EINVAL on anything else. */
int dom_run_format(const struct dom_run_record *r, char *buf, size_t size);
int dom_run_parse(const char *text, struct dom_run_record *r);
int dom_run_write(const struct net_state *st, const char *name, const struct dom_run_record *r);
int dom_run_read(const struct net_state *st, const char *name, struct dom_run_record *r);
/* Removes NAME.pid, NAME.sock, NAME.state and NAME.xml (the lock and log stay). */
void dom_run_clean(const struct net_state *st, const char *name);
/* What dom_store_status reports: running/paused with Id and pid while the
 * lock is held; else crashed (the VM process recorded an internal error)
 * or shut off. Run files a killed VM process left behind are removed
 * (under its lock, so a VM being started is not touched). */
int dom_run_status(const struct net_state *st, const char *name, struct dom_status *s);
/* The next Id (last-id + 1, written back atomically); the caller holds the
 * state lock. */
int dom_run_next_id(const struct net_state *st);

#endif
