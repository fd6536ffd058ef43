/* virtio-blk (blk.h) behind the virtio-pci transport. */
#include "devices/virtio/virtio_pci.h"
#include "vmm/log.h"

#include <stdlib.h>

/* vm_disks.c asks for up to VBLK_MAX_QUEUES: the transport must hold them. */
_Static_assert(VBLK_MAX_QUEUES <= VPCI_MAX_QUEUES, "virtio-blk queues beyond the transport's");

struct vpci_blk {
	struct vpci *t;
	struct vblk *blk;
};

static uint64_t blk_features(void *d) { return vblk_features(d); }
static unsigned blk_num_queues(void *d) { return vblk_num_queues(d); }
static unsigned blk_queue_max(void *d) { return vblk_queue_max_size(d); }
static uint32_t blk_config_size(void *d) { (void)d; return vblk_config_size(); }

static void blk_config_read(void *d, uint32_t off, void *buf, uint32_t len)
{
	vblk_config_read(d, off, buf, len);
}

static int blk_start(void *d, const struct guest_mem *gm, uint64_t features,
		     const struct virtio_queue_layout *queues, const int *kick_fds)
{
	return vblk_start(d, gm, features, queues, kick_fds);
}

static void blk_reset(void *d) { vblk_reset(d); }

static const struct vpci_dev_ops blk_ops = {
	.features = blk_features, .num_queues = blk_num_queues,
	.queue_max_size = blk_queue_max, .config_size = blk_config_size,
	.config_read = blk_config_read, .start = blk_start, .reset = blk_reset,
};

/* The vblk is found again through the transport's device pointer. */
struct vpci *vpci_blk_create(const struct vpci_machine *m, struct disk *disk,
			     const struct vblk_opts *opts)
{
	struct vpci *t = vpci_new(m, VIRTIO_ID_BLOCK, opts->name);
	if (!t)
		return NULL;
	struct virtio_hooks hooks = vpci_device_hooks(t);
	struct vblk *b = vblk_create(disk, opts, &hooks);
	if (!b || vpci_plug(t, &blk_ops, b) < 0) {
		vblk_destroy(b);
		vpci_destroy(t);
		return NULL;
	}
	return t;
}

void vpci_blk_destroy(struct vpci *t)
{
	if (!t)
		return;
	struct vblk *b = vpci_device(t);
	vblk_reset(b);
	vblk_destroy(b);
	vpci_destroy(t);
}
