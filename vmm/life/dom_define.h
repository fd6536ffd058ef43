/* Storing a definition as virsh define/edit do: the name and uuid rules,
 * and `edit` through $VISUAL/$EDITOR with validation before saving. */
#ifndef MINIVMM_VMM_LIFE_DOM_DEFINE_H
#define MINIVMM_VMM_LIFE_DOM_DEFINE_H

#include "net/net_state.h"
#include "vmm/life/domdef.h"

/* Save D (the state lock held), replacing a definition of the same name and
 * uuid; another domain's uuid, or this name with another uuid, is -EEXIST.
 * A document without <uuid> redefining NAME keeps NAME's uuid, and NICs
 * without <mac> keep the MAC the same NIC had (so DHCP gives the same
 * address): the lab edits node_base.xml and defines it again (libvirt would
 * refuse it, with a new uuid). */
int dom_define(const struct net_state *st, struct domdef *d);
/* Open NAME's XML in the editor; an invalid result offers to edit again
 * (answer read from stdin; no answer is "n"). Takes the lock only to save.
 * QUIET: no "Domain ... edited." line. */
int dom_edit(const struct net_state *st, const char *name, bool quiet);

#endif
