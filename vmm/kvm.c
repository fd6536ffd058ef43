#include "vmm/kvm.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Where KVM puts the pages VMX needs for real-mode emulation: above the
 * PCI hole and the LAPIC, below the 4 GiB line, never RAM (vmm/layout.h). */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000UL
#define KVM_TSS_ADDR          0xfffbd000UL

int kvm_ioctl_raw(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

int kvm_ioctl(int fd, unsigned long req, const char *req_name, void *arg)
{
	int r = kvm_ioctl_raw(fd, req, arg);
	if (r < 0)
		log_error("kvm: %s failed: %s", req_name, strerror(-r));
	return r;
}

struct kvm_cap_need {
	int cap;
	const char *name;
	const char *why;
};

static const struct kvm_cap_need needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel interrupt controllers" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel timer" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode support" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", "real-mode support" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID set-up" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs" },
};

static void kvm_explain_open_error(const char *path, int err)
{
	switch (err) {
	case ENOENT:
		log_error("no %s: the CPU has no VT-x/AMD-V (or it is off in the firmware), "
			  "or the kvm module is not loaded (modprobe kvm_intel or kvm_amd); "
			  "without it, tests/vmtest/run-kvm runs minivmm in an emulated VM", path);
		break;
	case EACCES:
	case EPERM:
		log_error("%s: permission denied: add your user to the 'kvm' group "
			  "(usermod -aG kvm $USER, then log in again) or run as root", path);
		break;
	case ENXIO:
	case ENODEV:
		log_error("%s: no KVM driver behind the device: load kvm_intel or kvm_amd", path);
		break;
	default:
		log_error("%s: cannot open: %s", path, strerror(err));
	}
}

int kvm_open(struct kvm *kvm, const char *path, unsigned ncpus)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->dev_fd < 0) {
		int err = errno;
		kvm_explain_open_error(path, err);
		return -err;
	}
	int version = kvm_ioctl_raw(kvm->dev_fd, KVM_GET_API_VERSION, NULL);
	if (version < 0) {
		log_error("%s: not a KVM device (KVM_GET_API_VERSION: %s)", path, strerror(-version));
		goto fail_proto;
	}
	if (version != KVM_API_VERSION) {
		log_error("%s: KVM API version %d, minivmm needs %d: this kernel's KVM is not "
			  "one minivmm can use", path, version, KVM_API_VERSION);
		goto fail_proto;
	}
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (kvm_ioctl_raw(kvm->dev_fd, KVM_CHECK_EXTENSION,
				  (void *)(long)needed_caps[i].cap) <= 0) {
			log_error("%s: the kernel's KVM lacks %s (needed for %s): use a newer kernel",
				  path, needed_caps[i].name, needed_caps[i].why);
			goto fail_proto;
		}
	}
	kvm->max_vcpus = kvm_ioctl_raw(kvm->dev_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm_ioctl_raw(kvm->dev_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus > 0 && ncpus > (unsigned)kvm->max_vcpus) {
		log_error("--cpus %u: this host's KVM allows at most %d vCPUs per VM", ncpus, kvm->max_vcpus);
		close(kvm->dev_fd);
		kvm->dev_fd = -1;
		return -EINVAL;
	}
	kvm->vcpu_mmap_size = kvm_ioctl_raw(kvm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (kvm->vcpu_mmap_size <= 0) {
		log_error("%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
		goto fail_proto;
	}
	return 0;

fail_proto:
	close(kvm->dev_fd);
	kvm->dev_fd = -1;
	return -EPROTONOSUPPORT;
}

int kvm_create_vm(struct kvm *kvm, const struct guest_mem *gm)
{
	int r = KVM_IOCTL(kvm->dev_fd, KVM_CREATE_VM, NULL);
	if (r < 0)
		return r;
	kvm->vm_fd = r;

	if ((r = KVM_IOCTL(kvm->vm_fd, KVM_SET_TSS_ADDR, (void *)KVM_TSS_ADDR)) < 0)
		return r;
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if ((r = KVM_IOCTL(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap)) < 0)
		return r;
	if ((r = KVM_IOCTL(kvm->vm_fd, KVM_CREATE_IRQCHIP, NULL)) < 0)
		return r;
	struct kvm_pit_config pit = { .flags = 0 };
	if ((r = KVM_IOCTL(kvm->vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return r;

	for (unsigned i = 0; i < gmem_region_count(gm); i++) {
		const struct gmem_region *reg = gmem_region(gm, i);
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = reg->gpa,
			.memory_size = reg->size,
			.userspace_addr = (uint64_t)(uintptr_t)reg->hva,
		};
		if ((r = KVM_IOCTL(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot)) < 0)
			return r;
	}
	return 0;
}

int kvm_irq_line(struct kvm *kvm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };
	return KVM_IOCTL(kvm->vm_fd, KVM_IRQ_LINE, &irq);
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->dev_fd >= 0)
		close(kvm->dev_fd);
	kvm->vm_fd = kvm->dev_fd = -1;
}
