/* virtio-net (net.h) behind the virtio-pci transport. */
#include "devices/virtio/net.h"
#include "devices/virtio/net_user.h"
#include "devices/virtio/virtio_pci.h"

#include <unistd.h>

_Static_assert(2 * VNET_MAX_PAIRS + 1 <= VPCI_MAX_QUEUES, "virtio-net queues beyond the transport's");
/* One MSI-X vector per queue and one for config changes, before the PBA. */
_Static_assert(VPCI_MSIX_TABLE_OFF + 16 * (VPCI_MAX_QUEUES + 1) <= VPCI_MSIX_PBA_OFF,
	       "MSI-X table overlaps the PBA");

static uint64_t net_features(void *d) { return vnet_features(d); }
static unsigned net_num_queues(void *d) { return vnet_num_queues(d); }
static unsigned net_queue_max(void *d) { return vnet_queue_max_size(d); }
static uint32_t net_config_size(void *d) { (void)d; return vnet_config_size(); }

static void net_config_read(void *d, uint32_t off, void *buf, uint32_t len)
{
	vnet_config_read(d, off, buf, len);
}

static int net_start(void *d, const struct guest_mem *gm, uint64_t features,
		     const struct virtio_queue_layout *queues, const int *kick_fds)
{
	return vnet_start(d, gm, features, queues, kick_fds);
}

static void net_reset(void *d) { vnet_reset(d); }

static const struct vpci_dev_ops net_ops = {
	.features = net_features, .num_queues = net_num_queues,
	.queue_max_size = net_queue_max, .config_size = net_config_size,
	.config_read = net_config_read, .start = net_start, .reset = net_reset,
};

struct vpci *vpci_net_create(const struct vpci_machine *m, const struct vnet_opts *opts)
{
	struct vpci *t = vpci_new(m, VIRTIO_ID_NET, opts->name);
	if (!t) {
		if (opts->user)
			vnet_user_destroy(opts->user);
		for (unsigned i = 0; !opts->user && i < opts->pairs && i < VNET_MAX_PAIRS; i++)
			close(opts->tap_fds[i]);
		return NULL;
	}
	struct virtio_hooks hooks = vpci_device_hooks(t);
	struct vnet *n = vnet_create(opts, &hooks);
	if (!n || vpci_plug(t, &net_ops, n) < 0) {
		vnet_destroy(n);
		vpci_destroy(t);
		return NULL;
	}
	return t;
}

void vpci_net_destroy(struct vpci *t)
{
	if (!t)
		return;
	struct vnet *n = vpci_device(t);
	vnet_reset(n);
	vnet_destroy(n);
	vpci_destroy(t);
}
