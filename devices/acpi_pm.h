/* ACPI fixed hardware as our FADT describes it: the PM1a event block
 * (PM1_STS, write-1-to-clear, and PM1_EN: 2 bytes each), the PM1a control
 * block (2 bytes), the 1-byte reset register and the PM timer.
 *
 * The PM timer is a read-only 32-bit counter (the FADT sets TMR_VAL_EXT)
 * running at ACPI_PM_TMR_HZ from 0 when the device is created. Its value
 * is computed from a monotonic clock on each read: no thread, no host
 * work while nobody reads it. PM1_STS.TMR_STS is set whenever bit 31 of
 * the counter has changed since the guest last cleared it; TMR_EN can be
 * set but raises no SCI.
 *
 * Writing PM1_CNT with SLP_EN and SLP_TYP == ACPI_SLP_TYP_S5 asks the VM to
 * stop with VM_STOP_POWEROFF; writing ACPI_RESET_VALUE to the reset register
 * asks for VM_STOP_RESET. Other sleep states are ignored (our DSDT offers
 * only \_S5). SCI_EN always reads as set: the machine is in ACPI mode from
 * the start, so no SMI_CMD is needed.
 *
 * The one event is the fixed power button (the FADT advertises it):
 * acpi_pm_press_power_button() sets PM1_STS.PWRBTN_STS (bit 8; the guest
 * clears it by writing 1, and cannot set it itself). The SCI line
 * (ACPI_SCI_IRQ, level-triggered, active high) is high exactly while
 * PWRBTN_STS and PM1_EN.PWRBTN_EN (bit 8) are both set. */
#ifndef MINIVMM_DEVICES_ACPI_PM_H
#define MINIVMM_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_RESET_REG_LEN 1
#define ACPI_PM_TMR_LEN 4

#define ACPI_PM_TMR_HZ 3579545u		/* the PC's 14.318 MHz crystal / 4 */

#define ACPI_PM1_STS_TMR       0x0001
#define ACPI_PM1_PWRBTN        0x0100	/* PWRBTN_STS in PM1_STS, PWRBTN_EN in PM1_EN */

#define ACPI_PM1_CNT_SCI_EN    0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP   0x1c00
#define ACPI_PM1_CNT_SLP_EN    0x2000

struct acpi_pm;

/* Nanoseconds on a clock that never goes back; lets tests move time. */
typedef uint64_t (*acpi_pm_clock_fn)(void *opaque);

/* The stopper and the SCI line are copied (sci NULL: no SCI wired).
 * clock NULL: CLOCK_MONOTONIC. NULL on out-of-memory (logged). */
struct acpi_pm *acpi_pm_create(const struct vm_stopper *stop, const struct irq_line *sci,
			       acpi_pm_clock_fn clock, void *clock_opaque);
/* A press of the fixed power button; any thread. */
void acpi_pm_press_power_button(struct acpi_pm *pm);
void acpi_pm_destroy(struct acpi_pm *pm);

/* The ports of the four blocks. */
struct acpi_pm_ports {
	uint16_t evt, cnt, reset, timer;
};

/* Claims the four blocks. 0 or -errno (logged). */
int acpi_pm_register(struct acpi_pm *pm, struct bus *pio, const struct acpi_pm_ports *ports);

/* The counter after 'ns' nanoseconds, before the wrap to 32 bits. */
uint64_t acpi_pm_ticks(uint64_t ns);

#endif
