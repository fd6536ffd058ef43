/* The control socket of a background VM (domains/run/NAME.sock, mode 0600):
 * a thread of the VM process that answers dom_proto.h's requests with the
 * vm_control.h calls. Started from hooks->started, stopped from
 * hooks->stopping. Several clients at a time (each line answered in
 * order); a malformed request gets an error reply and the VM runs on. */
#ifndef MINIVMM_VMM_LIFE_DOM_SERVER_H
#define MINIVMM_VMM_LIFE_DOM_SERVER_H

#include "vmm/life/dom_proto.h"

struct vm;
struct dom_server;

/* What the VM process does besides answering. */
struct dom_server_ops {
	void (*paused)(void *opaque, bool paused);  /* after pause/resume: records the state */
	void (*reboot)(void *opaque);		    /* "reboot": the next power-off restarts */
	void *opaque;
};

/* Listens on PATH (a stale socket there is replaced: the caller holds the
 * VM's lock). IDENT: name, uuid, id, pid for status. 0 or -errno (logged). */
int dom_server_start(const char *path, struct vm *vm, const struct dom_proto_status *ident,
		     const struct dom_server_ops *ops, struct dom_server **out);
/* Stops the thread, closes every client and removes the socket. */
void dom_server_stop(struct dom_server *s);

#endif
