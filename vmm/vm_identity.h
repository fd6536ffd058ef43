/* What makes a foreground VM "the same VM" on every run, so its defaults
 * (UUID, NIC MACs) stay stable: the identity key is the real path
 * (realpath(3)) of the first --disk's file, or, without a disk, of the
 * --kernel file. Moving or renaming that file makes a new VM. */
#ifndef MINIVMM_VM_IDENTITY_H
#define MINIVMM_VM_IDENTITY_H

#include <stdint.h>

#include "vmm/uuid.h"

struct vm_config;

/* The identity key into a malloc'd string (*key, freed by the caller).
 * 0 or -errno (logged, naming the file). */
int vm_identity_key(const struct vm_config *cfg, char **key);

/* --uuid when given (checked by cli_parse), else uuid_derive() of the
 * identity key. 0 or -errno (logged). */
int vm_identity_uuid(const struct vm_config *cfg, uint8_t uuid[UUID_LEN]);

#endif
