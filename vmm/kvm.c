#include "vmm/kvm.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
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

int kvm_ioeventfd(struct kvm *kvm, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = gpa, .len = len, .fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};
	return KVM_IOCTL(kvm->vm_fd, KVM_IOEVENTFD, &io);
}

int kvm_irqfd(struct kvm *kvm, int fd, unsigned gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};
	return KVM_IOCTL(kvm->vm_fd, KVM_IRQFD, &irqfd);
}

/* KVM_SET_GSI_ROUTING replaces the whole table, so the table keeps KVM's
 * default routes (GSI 0-15 on the PICs and IOAPIC, 16-23 on the IOAPIC)
 * next to the MSI routes. */
#define KVM_IOAPIC_PINS 24
#define KVM_PIC_PINS 16
#define KVM_MAX_ROUTES 1024

struct kvm_gsi_routes {
	pthread_mutex_t lock;
	unsigned next_gsi;
	struct kvm_irq_routing *table;	/* room for KVM_MAX_ROUTES entries */
};

static void add_irqchip_route(struct kvm_gsi_routes *r, unsigned gsi, unsigned chip, unsigned pin)
{
	struct kvm_irq_routing_entry *e = &r->table->entries[r->table->nr++];
	*e = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static struct kvm_gsi_routes *routes_create(void)
{
	struct kvm_gsi_routes *r = calloc(1, sizeof(*r));
	if (r)
		r->table = calloc(1, sizeof(*r->table) +
				     KVM_MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	if (!r || !r->table) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	for (unsigned gsi = 0; gsi < KVM_PIC_PINS; gsi++)
		add_irqchip_route(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				  gsi % 8);
	for (unsigned gsi = 0; gsi < KVM_IOAPIC_PINS; gsi++)
		add_irqchip_route(r, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	r->next_gsi = KVM_IOAPIC_PINS;
	return r;
}

static struct kvm_irq_routing_entry *find_msi_route(struct kvm_gsi_routes *r, unsigned gsi)
{
	for (unsigned i = 0; i < r->table->nr; i++)
		if (r->table->entries[i].gsi == gsi && r->table->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &r->table->entries[i];
	return NULL;
}

int kvm_msi_route_add(struct kvm *kvm, unsigned *gsi)
{
	static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&create_lock);
	if (!kvm->routes)
		kvm->routes = routes_create();
	pthread_mutex_unlock(&create_lock);
	struct kvm_gsi_routes *r = kvm->routes;
	if (!r) {
		log_error("kvm: out of memory for the GSI routing table");
		return -ENOMEM;
	}
	pthread_mutex_lock(&r->lock);
	int ret = -ENOSPC;
	if (r->table->nr < KVM_MAX_ROUTES) {
		struct kvm_irq_routing_entry *e = &r->table->entries[r->table->nr++];
		*e = (struct kvm_irq_routing_entry){ .gsi = r->next_gsi, .type = KVM_IRQ_ROUTING_MSI };
		*gsi = r->next_gsi++;
		ret = KVM_IOCTL(kvm->vm_fd, KVM_SET_GSI_ROUTING, r->table);
	} else {
		log_error("kvm: GSI routing table full (%u routes)", KVM_MAX_ROUTES);
	}
	pthread_mutex_unlock(&r->lock);
	return ret < 0 ? ret : 0;
}

int kvm_msi_route_set(struct kvm *kvm, unsigned gsi, uint64_t addr, uint32_t data)
{
	struct kvm_gsi_routes *r = kvm->routes;
	if (!r) {
		log_error("kvm: GSI %u is not an MSI route", gsi);
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	struct kvm_irq_routing_entry *e = find_msi_route(r, gsi);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		log_error("kvm: GSI %u is not an MSI route", gsi);
		return -EINVAL;
	}
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	int ret = KVM_IOCTL(kvm->vm_fd, KVM_SET_GSI_ROUTING, r->table);
	pthread_mutex_unlock(&r->lock);
	return ret < 0 ? ret : 0;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->routes) {
		pthread_mutex_destroy(&kvm->routes->lock);
		free(kvm->routes->table);
		free(kvm->routes);
		kvm->routes = NULL;
	}
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->dev_fd >= 0)
		close(kvm->dev_fd);
	kvm->vm_fd = kvm->dev_fd = -1;
}
