/* /dev/kvm and the VM file descriptor: opening with a diagnosis a user can
 * act on, the capabilities minivmm relies on, and the VM-wide set-up
 * (memory slots, in-kernel irqchip and PIT, interrupt lines). */
#ifndef MINIVMM_KVM_H
#define MINIVMM_KVM_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;
struct kvm_gsi_routes;

struct kvm {
	int dev_fd;		/* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;	/* size of each vCPU's struct kvm_run mapping */
	int max_vcpus;
	struct kvm_gsi_routes *routes;	/* GSI routing table; NULL until the first MSI route */
};

/* Opens the KVM device at 'path' (normally "/dev/kvm") and checks its API
 * version and the capabilities minivmm needs. Each failure is one log line
 * naming cause and fix. 0 or -errno. */
int kvm_open(struct kvm *kvm, const char *path, unsigned ncpus);

/* Creates the VM: TSS and identity-map pages, in-kernel irqchip and PIT,
 * one memory slot per guest RAM region. */
int kvm_create_vm(struct kvm *kvm, const struct guest_mem *gm);

/* Sets GSI 'gsi' of the in-kernel PIC/IOAPIC to 'level'. Thread-safe. */
int kvm_irq_line(struct kvm *kvm, unsigned gsi, int level);

/* Writes of 'len' bytes (1, 2, 4, 8) to guest-physical 'gpa' signal the
 * eventfd 'fd' inside KVM, without an exit to user space (any data). */
int kvm_ioeventfd(struct kvm *kvm, uint64_t gpa, uint32_t len, int fd, bool assign);
/* Writing 1 to eventfd 'fd' raises GSI 'gsi' inside KVM. */
int kvm_irqfd(struct kvm *kvm, int fd, unsigned gsi, bool assign);
/* Allocates a GSI above the IOAPIC's pins routed as an MSI (address and
 * data 0 until kvm_msi_route_set). The default PIC/IOAPIC routes are kept.
 * Thread-safe. 0 and *gsi, or -errno (logged). */
int kvm_msi_route_add(struct kvm *kvm, unsigned *gsi);
/* Points an MSI GSI at a new message and commits the table (KVM_SET_GSI_ROUTING). */
int kvm_msi_route_set(struct kvm *kvm, unsigned gsi, uint64_t addr, uint32_t data);

void kvm_close(struct kvm *kvm);

/* ioctl wrappers: the raw one returns -errno; the checked one also logs the
 * failing request by name. */
int kvm_ioctl_raw(int fd, unsigned long req, void *arg);
int kvm_ioctl(int fd, unsigned long req, const char *req_name, void *arg);
#define KVM_IOCTL(fd, req, arg) kvm_ioctl((fd), (req), #req, (arg))

#endif
