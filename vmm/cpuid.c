#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#define CPUID_MAX_ENTRIES 256

/* "AuthenticAMD" starts with "Auth" in EBX of leaf 0. */
#define CPUID_VENDOR_AMD_EBX 0x68747541u

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT        (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)

static size_t cpuid2_size(unsigned nent)
{
	return sizeof(struct kvm_cpuid2) + nent * sizeof(struct kvm_cpuid_entry2);
}

struct kvm_cpuid2 *cpuid_get_supported(int kvm_dev_fd)
{
	struct kvm_cpuid2 *c = calloc(1, cpuid2_size(CPUID_MAX_ENTRIES));
	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (KVM_IOCTL(kvm_dev_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return NULL;
	}
	/* KVM emulates the TSC-deadline mode of its LAPIC timer but does not
	 * list it: without it Linux calibrates the LAPIC timer against other
	 * clocks, which fails when the host is slow or noisy, and then runs
	 * with no per-CPU timer at all. */
	bool deadline = kvm_ioctl_raw(kvm_dev_fd, KVM_CHECK_EXTENSION,
				      (void *)(long)KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (unsigned i = 0; i < c->nent && deadline; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	return c;
}

unsigned cpuid_core_bits(unsigned ncpus)
{
	unsigned bits = 0;
	while ((1u << bits) < ncpus)
		bits++;
	return bits;
}

/* Leaves 0xB and 0x1F: SMT level (one thread per core), then the core level. */
static void cpuid_patch_ext_topology(struct kvm_cpuid_entry2 *e, unsigned apic_id,
				     unsigned ncpus, unsigned core_bits)
{
	e->edx = apic_id;
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0;
		break;
	case 1:
		e->eax = core_bits;
		e->ebx = ncpus;
		e->ecx = (2u << 8) | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned apic_id,
				  unsigned ncpus)
{
	struct kvm_cpuid2 *c = malloc(cpuid2_size(supported->nent));
	if (!c)
		return NULL;
	memcpy(c, supported, cpuid2_size(supported->nent));

	unsigned core_bits = cpuid_core_bits(ncpus);
	bool amd = false;
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0)
			amd = c->entries[i].ebx == CPUID_VENDOR_AMD_EBX;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) |
				 ((1u << core_bits) & 0xffu) << 16;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Intel: cores per package - 1 in EAX[31:26]. */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x03ffffffu) | (((1u << core_bits) - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			cpuid_patch_ext_topology(e, apic_id, ncpus, core_bits);
			break;
		case 0x80000001:
			if (amd && ncpus > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) | ((ncpus - 1) & 0xff);
			break;
		case 0x8000001e:
			e->eax = apic_id;
			e->ebx = apic_id & 0xff;	/* core id; 1 thread per core */
			e->ecx = 0;			/* node 0, one node */
			break;
		}
	}
	return c;
}
