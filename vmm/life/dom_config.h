/* A domain definition as the configuration of the VM `start` runs: the
 * same struct vm_config `minivmm --disk ... --bridge ...` fills, with the
 * --disk and NIC specs it would have been given. */
#ifndef MINIVMM_VMM_LIFE_DOM_CONFIG_H
#define MINIVMM_VMM_LIFE_DOM_CONFIG_H

#include "vmm/cli.h"
#include "vmm/life/domdef.h"

#include <limits.h>

struct dom_config {
	struct vm_config cfg; /* points into the fields below and into the domdef */
	char disk_specs[DOM_DISKS_MAX][PATH_MAX + 32]; /* "FILE[,readonly],format=..." */
	char nic_specs[DOM_NICS_MAX][96];		/* "BR,mac=...", "user,mac=..." */
	char uuid[37];
};

/* Fills OUT from D (which must outlive it): memory, vCPUs, kernel/initrd/
 * cmdline or the first disk's own boot, disks in target order (vda, vdb,
 * ...), NICs (a network's name goes where --bridge takes a bridge or a
 * network), uuid, metadata files. 0 or -EINVAL (logged: a disk file whose
 * name has a comma, a gap in the targets). */
int dom_config_from_def(const struct domdef *d, struct dom_config *out);

#endif
