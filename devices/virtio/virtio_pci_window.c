/* The VIRTIO_PCI_CAP_PCI_CFG capability (virtio 1.2 spec 4.1.4.9; 4.1.4.7
 * in 1.0): an access window into BAR 0 through configuration space, which
 * "The device MUST present" (4.1.4.9.1). Firmware uses it when it cannot
 * map the BARs, so it works whether memory decode is on or not.
 *
 * The driver writes cap.bar, cap.offset and cap.length (1, 2 or 4), then:
 *   - reading pci_cfg_data (any byte of it) reads cap.length bytes of the
 *     BAR at cap.offset into pci_cfg_data, then returns the bytes asked;
 *   - writing pci_cfg_data stores the bytes written, then writes the first
 *     cap.length bytes of pci_cfg_data to the BAR at cap.offset.
 * Both go through the same handlers as the MMIO BAR, side effects
 * included (reading the ISR clears it; a status write can reset or start
 * the device; a notify write kicks the queue: the MMIO notify is caught by
 * a KVM ioeventfd, here the handler signals the queue's kick eventfd).
 *
 * All three fields are the driver's: checked at each access, read once.
 * 4.1.4.9.2: "The driver MUST NOT write a cap.offset which is not a
 * multiple of cap.length" and "MUST NOT read or write pci_cfg_data unless
 * cap.bar, cap.length and cap.offset address cap.length bytes within a BAR
 * range specified by some other Virtio Structure PCI Capability". The spec
 * does not say what the device does when the driver breaks this rule, so
 * we answer as BAR 0 answers where no structure lies: the BAR is not
 * touched, reads give zeros (pci_cfg_data is cleared), writes are dropped,
 * and the access is logged (rate-limited). */
#include "devices/virtio/virtio_pci_internal.h"
#include "vmm/log.h"

#include <stddef.h>
#include <string.h>

#define CAP_BAR offsetof(struct virtio_pci_cap, bar)
#define CAP_OFFSET offsetof(struct virtio_pci_cap, offset)
#define CAP_LENGTH offsetof(struct virtio_pci_cap, length)
#define CAP_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)
#define DATA_LEN sizeof(((struct virtio_pci_cfg_cap *)0)->pci_cfg_data)

int vpci_window_add_cap(struct vpci *t)
{
	int at = vpci_add_virtio_cap(t, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	if (at < 0)
		return at;
	uint32_t a = (uint32_t)at;
	pci_cfg_set_wmask(&t->cfg, a + CAP_BAR, 0xff, 1);
	pci_cfg_set_wmask(&t->cfg, a + CAP_OFFSET, 0xffffffff, 4);
	pci_cfg_set_wmask(&t->cfg, a + CAP_LENGTH, 0xffffffff, 4);
	pci_cfg_set_wmask(&t->cfg, a + CAP_DATA, 0xffffffff, DATA_LEN);
	t->window_cap = at;
	return 0;
}

/* True if [off, off+len) lies inside one of the structures our other
 * capabilities describe (all in BAR 0). */
static bool inside_a_structure(struct vpci *t, uint32_t off, uint32_t len)
{
	const struct { uint32_t start, size; } s[] = {
		{ VPCI_COMMON_OFF, VPCI_COMMON_LEN },
		{ VPCI_ISR_OFF, VPCI_ISR_LEN },
		{ VPCI_DEVCFG_OFF, t->ops->config_size(t->dev) },
		{ VPCI_NOTIFY_OFF, VPCI_NOTIFY_MULT * t->nq },
	};
	uint64_t end = (uint64_t)off + len;	/* no 32-bit wrap */
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (off >= s[i].start && end <= (uint64_t)s[i].start + s[i].size)
			return true;
	return false;
}

/* The window as the driver set it up, or false (logged) if it may not be
 * used (4.1.4.9.2). */
static bool window_target(struct vpci *t, bool write, uint32_t *off, uint32_t *len)
{
	uint32_t a = (uint32_t)t->window_cap;
	uint8_t bar = t->cfg.data[a + CAP_BAR];
	uint32_t o = pci_cfg_get32(&t->cfg, a + CAP_OFFSET);
	uint32_t n = pci_cfg_get32(&t->cfg, a + CAP_LENGTH);
	if (n == 0 && !write)
		return false;	/* never set up: a dump of the config space (lspci -xxx) */
	if (bar != 0 || (n != 1 && n != 2 && n != 4) || o % n || !inside_a_structure(t, o, n)) {
		vpci_log(t, "virtio-pci: %s: PCI_CFG window %s of BAR %u offset 0x%x length %u "
			 "refused (BAR 0 structures only, aligned 1/2/4 bytes)", t->name,
			 write ? "write" : "read", bar, o, n);
		return false;
	}
	*off = o;
	*len = n;
	return true;
}

static bool touches_data(struct vpci *t, uint32_t off, uint32_t len)
{
	uint32_t data = (uint32_t)t->window_cap + CAP_DATA;
	return t->window_cap > 0 && off < data + DATA_LEN && off + len > data;
}

void vpci_window_cfg_read(struct vpci *t, uint32_t off, uint32_t len)
{
	if (!touches_data(t, off, len))
		return;
	uint8_t buf[DATA_LEN] = { 0 };
	uint32_t bar_off, n;
	if (window_target(t, false, &bar_off, &n))
		vpci_bar0_read(t, bar_off, buf, n);
	memcpy(t->cfg.data + t->window_cap + CAP_DATA, buf, DATA_LEN);
}

void vpci_window_cfg_write(struct vpci *t, uint32_t off, uint32_t len)
{
	if (!touches_data(t, off, len))
		return;
	uint8_t buf[DATA_LEN];
	uint32_t bar_off, n;
	memcpy(buf, t->cfg.data + t->window_cap + CAP_DATA, DATA_LEN);
	if (window_target(t, true, &bar_off, &n))
		vpci_bar0_write(t, bar_off, buf, n);
}
