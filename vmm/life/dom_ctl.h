/* The client side of a running VM's control socket (dom_server.h): what
 * the CLI verbs use, one request per connection. */
#ifndef MINIVMM_VMM_LIFE_DOM_CTL_H
#define MINIVMM_VMM_LIFE_DOM_CTL_H

#include "vmm/life/dom_proto.h"
#include "vmm/life/dom_store.h"

#include <stdbool.h>

/* Seconds a reply may take. */
#define DOM_CTL_TIMEOUT 10
/* The console's escape: Ctrl+] */
#define DOM_CTL_ESCAPE 0x1d

/* Sends C, reads the reply into R (R->ok false: the VM's refusal, in
 * R->error). -ENOTCONN (logged "domain is not running") when NAME has no
 * socket, else -errno. */
int dom_ctl_request(const struct net_state *st, const char *name, enum dom_cmd c,
		    struct dom_reply *r);
/* "console": relays IN_FD to the guest and the guest to OUT_FD (IN_FD in
 * raw mode when it is a terminal) until Ctrl+] on IN_FD, IN_FD's end, or
 * the VM's end (*ENDED). The banner lines are printed once attached. */
int dom_ctl_console(const struct net_state *st, const char *name, int in_fd, int out_fd,
		    bool *ended);

#endif
