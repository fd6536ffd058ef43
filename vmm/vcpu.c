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

static struct kvm_segment kvm_segment_from(const struct boot_segment *b)
{
	return (struct kvm_segment){
		.base = b->base, .limit = b->limit, .selector = b->selector, .type = b->type,
		.present = b->present, .dpl = b->dpl, .db = b->db, .s = b->s, .l = b->l, .g = b->g,
	};
}

int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	int r = KVM_IOCTL(v->fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	/* boot/ decoded the GDT it wrote; KVM wants the hidden parts too. */
	sregs.cs = kvm_segment_from(&entry->cs);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = kvm_segment_from(&entry->ds);
	sregs.tr = kvm_segment_from(&entry->tr);
	sregs.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	sregs.gdt.base = entry->gdt_base;
	sregs.gdt.limit = entry->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = entry->cr0;
	sregs.cr3 = entry->cr3;
	sregs.cr4 = entry->cr4;
	sregs.efer = entry->efer;
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
