#include "vmm/vcpu.h"
#include "boot/boot.h"
#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Selectors of the boot GDT (Linux boot protocol: __BOOT_CS, __BOOT_DS). */
#define BOOT_CS 0x10
#define BOOT_DS 0x18

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Local APIC LVT registers and delivery modes, as the firmware would set
 * them: LINT0 takes the PIC's ExtINT (virtual wire), LINT1 is NMI. */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    0x400
#define APIC_MODE_EXTINT 0x700

static int vcpu_set_lint(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	int r = KVM_IOCTL(v->fd, KVM_GET_LAPIC, &lapic);
	if (r < 0)
		return r;
	uint32_t lint0 = APIC_MODE_EXTINT, lint1 = APIC_MODE_NMI;
	memcpy(&lapic.regs[APIC_LVT_LINT0], &lint0, sizeof(lint0));
	memcpy(&lapic.regs[APIC_LVT_LINT1], &lint1, sizeof(lint1));
	return KVM_IOCTL(v->fd, KVM_SET_LAPIC, &lapic);
}

int vcpu_create(struct vcpu *v, struct kvm *kvm, unsigned id,
		const struct kvm_cpuid2 *supported, unsigned ncpus)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->fd = -1;
	int r = KVM_IOCTL(kvm->vm_fd, KVM_CREATE_VCPU, (void *)(long)id);
	if (r < 0)
		return r;
	v->fd = r;
	v->run_size = (size_t)kvm->vcpu_mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = -errno;
		v->run = NULL;
		log_error("vcpu%u: cannot map kvm_run: %s", id, strerror(-r));
		return r;
	}
	struct kvm_cpuid2 *cpuid = cpuid_for_vcpu(supported, id, ncpus);
	if (!cpuid)
		return -ENOMEM;
	r = KVM_IOCTL(v->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0)
		return r;
	return vcpu_set_lint(v);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64, .g = 1,
	};
}

int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	int r = KVM_IOCTL(v->fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	bool long64 = entry->mode == BOOT_CPU_LONG64;

	sregs.cs = flat_segment(BOOT_CS, 0xb /* code, execute/read, accessed */, long64);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		flat_segment(BOOT_DS, 0x3 /* data, read/write, accessed */, false);
	/* VMX insists on a usable busy TSS even though nothing switches tasks. */
	sregs.tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	sregs.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	sregs.gdt.base = entry->gdt_base;
	sregs.gdt.limit = entry->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;

	if (long64) {
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		sregs.cr3 = entry->cr3;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if ((r = KVM_IOCTL(v->fd, KVM_SET_SREGS, &sregs)) < 0)
		return r;

	struct kvm_regs regs = {
		.rflags = 0x2,	/* bit 1 is reserved-one; interrupts off */
		.rip = entry->rip,
		.rsi = entry->rsi,
		.rbx = entry->rbx,
	};
	return KVM_IOCTL(v->fd, KVM_SET_REGS, &regs);
}

void vcpu_log_state(struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (kvm_ioctl_raw(v->fd, KVM_GET_REGS, &regs) < 0 ||
	    kvm_ioctl_raw(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	log_error("vcpu%u: rip=0x%llx rsp=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx "
		  "cr4=0x%llx efer=0x%llx", v->id, (unsigned long long)regs.rip,
		  (unsigned long long)regs.rsp, (unsigned long long)regs.rflags,
		  (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3,
		  (unsigned long long)sregs.cr4, (unsigned long long)sregs.efer);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
