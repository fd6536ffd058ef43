/* A minimal i8042 keyboard controller (ports 0x60 data, 0x64 status/command).
 *
 * It answers Linux's probe like a controller with no keyboard or mouse
 * attached: self-test passes, the command byte reads back, the AUX loopback
 * test fails at once (no mouse), and a byte sent to the keyboard is
 * answered at once with the status register's timeout bit and 0xFE (no
 * device; atkbd's probe fails in microseconds instead of timing out), with
 * IRQ 1 raised while that byte waits if the command byte enables the
 * keyboard interrupt. Controller command answers are polled, with no
 * interrupt. Its point is the reset line: command 0xFE (pulse output
 * line 0), any pulse command with bit 0 clear, or writing the output port
 * with bit 0 clear asks the VM to stop with VM_STOP_RESET. The irq
 * callback runs on a vCPU thread with the device's mutex held. */
#ifndef MINIVMM_DEVICES_I8042_H
#define MINIVMM_DEVICES_I8042_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

struct i8042;

/* The stopper and irq (IRQ 1's line; NULL: none) are copied. NULL on
 * out-of-memory (logged). */
struct i8042 *i8042_create(const struct vm_stopper *stop, const struct irq_line *irq);
void i8042_destroy(struct i8042 *kbc);

/* Claims one port each at data_port and cmd_port. 0 or -errno (logged). */
int i8042_register(struct i8042 *kbc, struct bus *pio, uint16_t data_port, uint16_t cmd_port);

#endif
