/* The domain verbs of `minivmm` (as virsh's): define, undefine, list,
 * dominfo, domblklist, domiflist, dumpxml, edit, autostart. */
#ifndef MINIVMM_VMM_LIFE_DOM_CLI_H
#define MINIVMM_VMM_LIFE_DOM_CLI_H

#include <stdbool.h>

bool dom_cli_is_verb(const char *word);
/* ARGV[0] is the verb; options (--state-dir DIR, -q) may come anywhere.
 * Returns the exit status: 0, or 1 after an error (logged). */
int dom_main(int argc, char **argv);

#endif
