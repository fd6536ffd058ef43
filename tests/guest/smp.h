/* Bringing up the application processors through the xAPIC. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "acpi.h"

/* Starts every AP in the MADT with INIT, SIPI, SIPI (one at a time, each
 * with a bounded wait), prints "smp: N of M cpus online" and returns the
 * number of CPUs online, the BSP included. */
unsigned int smp_boot(const struct acpi_info *acpi);

#endif
