/* The CPUID a vCPU sees: what KVM supports on this host, with the topology
 * rewritten so a VM of N vCPUs is one package of N single-thread cores with
 * APIC IDs 0..N-1, and the hypervisor bit set. */
#ifndef MINIVMM_CPUID_H
#define MINIVMM_CPUID_H

struct kvm_cpuid2;

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table, plus the features KVM
 * leaves for the VMM to announce (the TSC-deadline timer of the in-kernel
 * LAPIC); NULL on failure (logged). */
struct kvm_cpuid2 *cpuid_get_supported(int kvm_dev_fd);

/* A malloc'd copy of 'supported' patched for the vCPU with APIC ID
 * 'apic_id' in a VM of 'ncpus' vCPUs. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned apic_id,
				  unsigned ncpus);

/* Bits of the APIC ID that number the cores: ceil(log2(ncpus)). */
unsigned cpuid_core_bits(unsigned ncpus);

#endif
