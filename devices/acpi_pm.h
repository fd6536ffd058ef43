/* ACPI fixed hardware as our FADT describes it: the PM1a event block
 * (PM1_STS, write-1-to-clear, and PM1_EN: 2 bytes each), the PM1a control
 * block (2 bytes) and the 1-byte reset register.
 *
 * Writing PM1_CNT with SLP_EN and SLP_TYP == ACPI_SLP_TYP_S5 asks the VM to
 * stop with VM_STOP_POWEROFF; writing ACPI_RESET_VALUE to the reset register
 * asks for VM_STOP_RESET. Other sleep states are ignored (our DSDT offers
 * only \_S5). SCI_EN always reads as set: the machine is in ACPI mode from
 * the start, so no SMI_CMD is needed. No event ever sets a status bit. */
#ifndef MINIVMM_DEVICES_ACPI_PM_H
#define MINIVMM_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_RESET_REG_LEN 1

#define ACPI_PM1_CNT_SCI_EN    0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP   0x1c00
#define ACPI_PM1_CNT_SLP_EN    0x2000

struct acpi_pm;

/* The stopper is copied. NULL on out-of-memory (logged). */
struct acpi_pm *acpi_pm_create(const struct vm_stopper *stop);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Claims the three blocks at the given ports. 0 or -errno (logged). */
int acpi_pm_register(struct acpi_pm *pm, struct bus *pio, uint16_t evt_base,
		     uint16_t cnt_base, uint16_t reset_port);

#endif
