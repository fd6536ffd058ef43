#include "vmm/vm_disks.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/cli.h"
#include "vmm/vm_pci.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vm_disks;

struct vm_disk {
	struct vm_pci_port port;
	char *spec;		/* disk_opts point into it */
	char name[8];		/* "vda" */
	struct disk *disk;
	struct vpci *dev;
};

struct vm_disks {
	unsigned ncpus;		/* the VM's vCPUs: polling needs a CPU beyond them */
	unsigned n;
	struct vm_disk d[CLI_MAX_DISKS];
};

int vm_disks_open(const struct vm_config *cfg, struct vm_disks **out)
{
	struct vm_disks *d = calloc(1, sizeof(*d));
	if (!d) {
		log_error("--disk: out of memory");
		return -ENOMEM;
	}
	*out = d;
	d->ncpus = cfg->ncpus;
	for (unsigned i = 0; i < cfg->ndisks && i < CLI_MAX_DISKS; i++) {
		struct vm_disk *v = &d->d[d->n++];
		struct disk_opts o;
		snprintf(v->name, sizeof(v->name), "vd%c", 'a' + i);
		v->spec = strdup(cfg->disks[i]);
		if (!v->spec) {
			log_error("--disk: out of memory");
			return -ENOMEM;
		}
		int r = disk_opts_parse(v->spec, &o);
		if (r < 0 || (r = disk_open(&o, &v->disk)) < 0)
			return r;	/* logged with the file name */
	}
	return 0;
}

/* The I/O thread's busy-polling saves a wake-up per request only while a
 * host CPU is free for it; on a host with no CPU to spare beyond the vCPUs
 * it steals time from them (measured in a 1-CPU L1 VM: guest 4K reads
 * at 0.27x of QEMU with polling). */
static int vm_disks_poll_us(const struct vm_disks *d)
{
	return vblk_usable_cpus() > d->ncpus ? 0 /* vblk's default */ : -1 /* never */;
}

int vm_disks_attach(struct vm_disks *d, struct vm_pci *vp)
{
	for (unsigned i = 0; i < d->n; i++) {
		struct vm_disk *v = &d->d[i];
		const struct vpci_machine m = vm_pci_machine(vp, &v->port);
		v->dev = vpci_blk_create(&m, v->disk, &(struct vblk_opts){
			.name = v->name, .poll_us = vm_disks_poll_us(d),
			/* One request queue per vCPU: each vCPU's requests complete
			 * on that vCPU (its own MSI-X vector), as with QEMU. */
			.num_queues = d->ncpus < VBLK_MAX_QUEUES ? d->ncpus : VBLK_MAX_QUEUES });
		if (!v->dev)
			return -EIO;	/* logged */
		log_debug("%s: %s (%s%s) at PCI 00:%02x.0", v->name, v->disk->path,
			  v->disk->ops->format, v->disk->readonly ? ", read-only" : "",
			  vpci_slot(v->dev));
	}
	return 0;
}

unsigned vm_disks_count(const struct vm_disks *d)
{
	return d ? d->n : 0;
}

bool vm_disks_stats(const struct vm_disks *d, unsigned i, const char **name,
		    struct vblk_stats *out)
{
	if (!d || i >= d->n || !d->d[i].dev)
		return false;
	*name = d->d[i].name;
	vblk_get_stats(vpci_device(d->d[i].dev), out);
	return true;
}

void vm_disks_destroy(struct vm_disks *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++) {
		vpci_blk_destroy(d->d[i].dev);
		disk_close(d->d[i].disk);
		free(d->d[i].spec);
	}
	free(d);
}
