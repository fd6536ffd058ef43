/* The VM's disks: every --disk opened and locked before /dev/kvm is
 * touched, then each put on PCI as virtio-blk (vda, vdb, ... in order),
 * its interrupts and kicks wired to KVM (irqfd, ioeventfd). */
#ifndef MINIVMM_VM_DISKS_H
#define MINIVMM_VM_DISKS_H

#include <stdbool.h>

struct vm_config;
struct vm_disks;
struct vm_pci;

/* Parses and opens cfg's --disk list. 0 and *out (NULL-free even with no
 * disks), or -errno (logged, naming the flag or the file). */
int vm_disks_open(const struct vm_config *cfg, struct vm_disks **out);
/* Creates the devices. VP must outlive them. */
int vm_disks_attach(struct vm_disks *d, struct vm_pci *vp);
/* Disk I's name ("vda") and counters; any thread, once attached. false
 * when there is no disk I. */
struct vblk_stats;
unsigned vm_disks_count(const struct vm_disks *d);
bool vm_disks_stats(const struct vm_disks *d, unsigned i, const char **name,
		    struct vblk_stats *out);
/* After the vCPUs stopped: stops the I/O threads, closes the images. */
void vm_disks_destroy(struct vm_disks *d);

#endif
