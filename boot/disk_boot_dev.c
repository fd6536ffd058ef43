/* disk_boot_open(): the first --disk through minivmm's disk layer, read
 * only, as a struct blkdev. */
#include "boot/disk_boot.h"
#include "devices/virtio/disk.h"
#include "vmm/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

static int disk_blkdev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct disk *d = ctx;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	return d->ops->preadv(d, off, &iov, 1);
}

int disk_boot_open(const char *disk_spec, const char *extra_cmdline, struct disk_boot **out)
{
	char *copy = strdup(disk_spec);
	struct disk_opts opts;
	struct disk *d;
	if (!copy)
		return -ENOMEM;
	int r = disk_opts_parse(copy, &opts);
	if (r == 0) {
		/* Read only, and no O_DIRECT: reads of any size and alignment. */
		opts.readonly = true;
		opts.direct = false;
		r = disk_open(&opts, &d);
	}
	if (r == 0) {
		struct blkdev dev = { .read = disk_blkdev_read, .ctx = d, .size = d->size,
				      .name = opts.path };
		r = disk_boot_find(&dev, extra_cmdline, out);
		disk_close(d);
	}
	free(copy);
	return r;
}
