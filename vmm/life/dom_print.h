/* virsh's output formats for domains (libvirt >= 5, tools/vsh-table.c and
 * virsh-domain-monitor.c): tables for list/domblklist/domiflist, the
 * "%-15s %s" lines of dominfo. Every printer writes to F and returns 0 or
 * -ENOMEM; the blank line virsh prints after each command is the caller's. */
#ifndef MINIVMM_VMM_LIFE_DOM_PRINT_H
#define MINIVMM_VMM_LIFE_DOM_PRINT_H

#include "vmm/life/dom_store.h"
#include "vmm/life/domdef.h"

#include <stdbool.h>
#include <stdio.h>

/* A vsh-table: every cell is " " + text, every column but the last padded
 * to its widest cell (header included) + 2; the separator is sum(width + 3)
 * dashes. QUIET drops header and separator. */
struct vsh_table;
struct vsh_table *vsh_table_new(unsigned ncols, const char *const *headers);
int vsh_table_add(struct vsh_table *t, const char *const *cells);
int vsh_table_print(const struct vsh_table *t, FILE *f, bool quiet);
void vsh_table_free(struct vsh_table *t);

struct dom_list_row {
	const char *name;
	struct dom_status status;
};
/* ROWS in the order to print (active by Id, then inactive by name). */
int dom_print_list(FILE *f, const struct dom_list_row *rows, size_t n, bool quiet);
int dom_print_blklist(FILE *f, const struct domdef *d, bool details, bool quiet);
/* IFNAMES[i]: NIC i's TAP (vnet0) while running, NULL: "-". */
int dom_print_iflist(FILE *f, const struct domdef *d, const char *const *ifnames, bool quiet);
void dom_print_dominfo(FILE *f, const struct domdef *d, const struct dom_status *s, bool autostart);

#endif
