/* A minimal i8042 keyboard controller (ports 0x60 data, 0x64 status/command).
 *
 * It answers Linux's probe like a controller with no keyboard or mouse
 * attached: self-test passes, the command byte reads back, the AUX loopback
 * test fails at once (no mouse), and bytes sent to the keyboard get no
 * answer. Its point is the reset line: command 0xFE (pulse output line 0),
 * any pulse command with bit 0 clear, or writing the output port with
 * bit 0 clear asks the VM to stop with VM_STOP_RESET. No interrupts are
 * raised; every answer is available by polling the status register. */
#ifndef MINIVMM_DEVICES_I8042_H
#define MINIVMM_DEVICES_I8042_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

struct i8042;

/* The stopper is copied. NULL on out-of-memory (logged). */
struct i8042 *i8042_create(const struct vm_stopper *stop);
void i8042_destroy(struct i8042 *kbc);

/* Claims one port each at data_port and cmd_port. 0 or -errno (logged). */
int i8042_register(struct i8042 *kbc, struct bus *pio, uint16_t data_port, uint16_t cmd_port);

#endif
