/* minivmm's debug-exit port: a 1-byte write of v asks the VM to stop with
 * VM_STOP_DEBUG_EXIT and status v (the tiny test guest's exit code). Wider
 * writes do not fit the 1-byte range and are unclaimed; reads give 0xff. */
#ifndef MINIVMM_DEVICES_DEBUG_EXIT_H
#define MINIVMM_DEVICES_DEBUG_EXIT_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

struct debug_exit;

/* The stopper is copied. NULL on out-of-memory (logged). */
struct debug_exit *debug_exit_create(const struct vm_stopper *stop);
void debug_exit_destroy(struct debug_exit *dx);

int debug_exit_register(struct debug_exit *dx, struct bus *pio, uint16_t port);

#endif
