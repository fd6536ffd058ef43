/* The legacy PC devices of a minivmm machine, created and put on the
 * port-I/O bus at the addresses of vmm/layout.h in one call:
 * COM1 (8250 UART, irq com1_irq), i8042, CMOS/RTC, ACPI PM1a/reset/PM timer, PCI
 * configuration ports, the debug-exit port, and silent sinks for the POST
 * port 0x80 and the I/O-delay port 0xED (Linux writes them constantly).
 *
 * Destroy only once no vCPU can touch the bus any more: the bus keeps
 * pointers to the devices. */
#ifndef MINIVMM_DEVICES_PLATFORM_H
#define MINIVMM_DEVICES_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "devices/serial.h"
#include "devices/pci.h"
#include "vmm/bus.h"
#include "vmm/vm_hooks.h"

struct acpi_pm;

#define PORT_POST_CODE 0x80
#define PORT_IO_DELAY  0xed

struct platform_devices;

/* 0 and *out set, or -errno (logged). After a failure some ranges may
 * still point at freed devices: destroy the bus, do not use it. console_tx receives the guest's COM1
 * output; see devices/serial.h for its rules. The irq line and stopper are
 * copied. com1_irq's set_level and opaque also drive the other ISA lines,
 * each with its own GSI: IRQ_KEYBOARD (1), IRQ_RTC (8; from the RTC's timer
 * thread too) and the ACPI SCI (ACPI_SCI_IRQ, 9; from the thread that
 * presses the power button too). */
int platform_devices_create(struct bus *pio, const struct irq_line *com1_irq,
			    const struct vm_stopper *stop, uart_tx_fn console_tx,
			    void *tx_opaque, struct platform_devices **out);
void platform_devices_destroy(struct platform_devices *p);

/* COM1, for uart_receive() and uart_rx_space_fd(). */
struct uart *platform_uart(struct platform_devices *p);
/* The ACPI PM block, for the power button. */
struct acpi_pm *platform_acpi_pm(struct platform_devices *p);
/* The PCI configuration space, for adding functions (virtio, host bridge). */
struct pci *platform_pci(struct platform_devices *p);

#endif
