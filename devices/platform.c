#include "devices/platform.h"
#include "devices/acpi_pm.h"
#include "devices/cmos.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct platform_devices {
	struct uart *com1;
	struct i8042 *kbc;
	struct cmos *cmos;
	struct acpi_pm *acpi;
	struct debug_exit *dbg;
	struct pci *pci;
};

/* Claimed so they are neither logged nor slow: writes vanish, reads give
 * all-ones (the bus fills them when there is no read callback). */
static void sink_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)opaque, (void)offset, (void)data, (void)len;
}

static const struct bus_dev_ops sink_ops = { .write = sink_write };

static int create_all(struct platform_devices *p, const struct irq_line *com1_irq,
		      const struct vm_stopper *stop, uart_tx_fn console_tx, void *tx_opaque)
{
	p->com1 = uart_create(com1_irq, console_tx, tx_opaque);
	if (!p->com1)
		return -errno;		/* eventfd or memory; logged */
	struct irq_line kbd_irq = *com1_irq, rtc_irq = *com1_irq, sci = *com1_irq;	/* other pins */
	kbd_irq.gsi = IRQ_KEYBOARD;
	rtc_irq.gsi = IRQ_RTC;
	sci.gsi = ACPI_SCI_IRQ;
	p->kbc = i8042_create(stop, &kbd_irq);
	p->cmos = cmos_create(&rtc_irq, NULL, NULL);
	p->acpi = acpi_pm_create(stop, &sci, NULL, NULL);
	p->dbg = debug_exit_create(stop);
	p->pci = pci_create();
	if (!p->kbc || !p->cmos || !p->acpi || !p->dbg || !p->pci)
		return -ENOMEM;		/* each logged its own failure */
	return 0;
}

static const struct acpi_pm_ports acpi_ports = {
	.evt = PORT_ACPI_PM1A_EVT, .cnt = PORT_ACPI_PM1A_CNT,
	.reset = PORT_ACPI_RESET, .timer = PORT_ACPI_PM_TMR,
};

static int register_all(struct platform_devices *p, struct bus *pio)
{
	int ret;
	if ((ret = uart_register(p->com1, pio, PORT_COM1)) < 0 ||
	    (ret = i8042_register(p->kbc, pio, PORT_I8042_DATA, PORT_I8042_CMD)) < 0 ||
	    (ret = cmos_register(p->cmos, pio, PORT_CMOS_INDEX, PORT_CMOS_DATA)) < 0 ||
	    (ret = acpi_pm_register(p->acpi, pio, &acpi_ports)) < 0 ||
	    (ret = debug_exit_register(p->dbg, pio, PORT_DEBUG_EXIT)) < 0 ||
	    (ret = pci_register(p->pci, pio, PORT_PCI_CONFIG_ADDR, PORT_PCI_CONFIG_DATA)) < 0 ||
	    (ret = pci_add_host_bridge(p->pci)) < 0)
		return ret;
	pci_set_mmio_window(p->pci, MEM_PCI_MMIO_START, MEM_PCI_MMIO_END);
	if ((ret = bus_register(pio, PORT_POST_CODE, 1, &sink_ops, NULL, "post-code")) < 0 ||
	    (ret = bus_register(pio, PORT_IO_DELAY, 1, &sink_ops, NULL, "io-delay")) < 0)
		log_error("platform: cannot claim ports 0x%x/0x%x: %s", PORT_POST_CODE,
			  PORT_IO_DELAY, strerror(-ret));
	return ret;
}

int platform_devices_create(struct bus *pio, const struct irq_line *com1_irq,
			    const struct vm_stopper *stop, uart_tx_fn console_tx,
			    void *tx_opaque, struct platform_devices **out)
{
	struct platform_devices *p = calloc(1, sizeof(*p));
	if (!p) {
		log_error("platform: out of memory");
		return -ENOMEM;
	}
	int ret = create_all(p, com1_irq, stop, console_tx, tx_opaque);
	if (ret == 0)
		ret = register_all(p, pio);
	if (ret < 0) {
		/* Ranges already registered would dangle: the caller must not
		 * use the bus after a failure (documented in the header). */
		platform_devices_destroy(p);
		return ret;
	}
	*out = p;
	return 0;
}

void platform_devices_destroy(struct platform_devices *p)
{
	if (!p)
		return;
	uart_destroy(p->com1);
	i8042_destroy(p->kbc);
	cmos_destroy(p->cmos);
	acpi_pm_destroy(p->acpi);
	debug_exit_destroy(p->dbg);
	pci_destroy(p->pci);
	free(p);
}

struct uart *platform_uart(struct platform_devices *p)
{
	return p->com1;
}

struct pci *platform_pci(struct platform_devices *p)
{
	return p->pci;
}

struct acpi_pm *platform_acpi_pm(struct platform_devices *p)
{
	return p->acpi;
}
