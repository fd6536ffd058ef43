#include "vmm/vm_disks.h"
#include "devices/pci_intx.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/cli.h"
#include "vmm/kvm.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vm_disks;

struct vm_disk {
	struct vm_disks *owner;
	unsigned index;		/* its INTx source number on a shared pin */
	char *spec;		/* disk_opts point into it */
	char name[8];		/* "vda" */
	struct disk *disk;
	struct vpci *dev;
};

struct vm_disks {
	struct kvm *kvm;
	unsigned ncpus;		/* the VM's vCPUs: polling needs a CPU beyond them */
	unsigned n;
	struct vm_disk d[CLI_MAX_DISKS];
	struct pci_intx intx;	/* disks 8 slots apart share an IOAPIC pin */
	bool intx_ready;
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
		v->owner = d;
		v->index = i;
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

/* The hooks' opaque is the disk (its INTx source number is needed);
 * the KVM handle is its owner's. */
static struct kvm *disk_kvm(void *opaque) { return ((struct vm_disk *)opaque)->owner->kvm; }

static int hook_ioeventfd(void *opaque, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	return kvm_ioeventfd(disk_kvm(opaque), gpa, len, fd, assign);
}

static int hook_msi_add(void *opaque, int fd, unsigned *gsi)
{
	int r = kvm_msi_route_add(disk_kvm(opaque), gsi);
	return r < 0 ? r : kvm_irqfd(disk_kvm(opaque), fd, *gsi, true);
}

static int hook_msi_set(void *opaque, unsigned gsi, uint64_t addr, uint32_t data)
{
	return kvm_msi_route_set(disk_kvm(opaque), gsi, addr, data);
}

static void set_line(void *kvm, unsigned gsi, int level)
{
	kvm_irq_line(kvm, gsi, level);
}

static void hook_set_intx(void *opaque, unsigned gsi, int level)
{
	struct vm_disk *v = opaque;

	pci_intx_set(&v->owner->intx, gsi, v->index, level);
}

/* The I/O thread's busy-polling saves a wake-up per request only while a
 * host CPU is free for it; on a host with no CPU to spare beyond the vCPUs
 * it steals time from them (measured in a 1-CPU L1 VM: guest 4K reads
 * at 0.27x of QEMU with polling). */
static int vm_disks_poll_us(const struct vm_disks *d)
{
	return vblk_usable_cpus() > d->ncpus ? 0 /* vblk's default */ : -1 /* never */;
}

int vm_disks_attach(struct vm_disks *d, struct kvm *kvm, const struct guest_mem *gm,
		    struct pci *pci, struct bus *mmio)
{
	d->kvm = kvm;
	pci_intx_init(&d->intx, set_line, kvm);
	d->intx_ready = true;
	for (unsigned i = 0; i < d->n; i++) {
		struct vm_disk *v = &d->d[i];
		const struct vpci_machine m = {
			.pci = pci, .mmio = mmio, .gm = gm,
			.ioeventfd = hook_ioeventfd, .msi_add = hook_msi_add,
			.msi_set = hook_msi_set, .set_intx = hook_set_intx, .opaque = v,
		};
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

void vm_disks_destroy(struct vm_disks *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++) {
		vpci_blk_destroy(d->d[i].dev);
		disk_close(d->d[i].disk);
		free(d->d[i].spec);
	}
	if (d->intx_ready)
		pci_intx_fini(&d->intx);
	free(d);
}
