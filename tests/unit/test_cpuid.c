/* CPUID topology patching on a synthetic KVM_GET_SUPPORTED_CPUID table. */
#include "tests/unit/unit.h"
#include "vmm/cpuid.h"

#include <linux/kvm.h>
#include <stdlib.h>

static struct kvm_cpuid2 *synthetic_amd_table(void)
{
	static const struct kvm_cpuid_entry2 entries[] = {
		{ .function = 0, .eax = 0x10, .ebx = 0x68747541 /* "Auth" */ },
		{ .function = 1, .ebx = 0xff0a0800, .ecx = 0x1, .edx = 0 },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0x80000001 },
		{ .function = 0x80000008, .ecx = 0x700f },
		{ .function = 0x8000001e, .eax = 0x55, .ebx = 0x155, .ecx = 0x301 },
	};
	size_t n = sizeof(entries) / sizeof(entries[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(entries[0]));
	c->nent = n;
	for (size_t i = 0; i < n; i++)
		c->entries[i] = entries[i];
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

START_TEST(core_bits)
{
	ck_assert_uint_eq(cpuid_core_bits(1), 0);
	ck_assert_uint_eq(cpuid_core_bits(2), 1);
	ck_assert_uint_eq(cpuid_core_bits(3), 2);
	ck_assert_uint_eq(cpuid_core_bits(4), 2);
	ck_assert_uint_eq(cpuid_core_bits(5), 3);
	ck_assert_uint_eq(cpuid_core_bits(64), 6);
}
END_TEST

START_TEST(topology_per_vcpu)
{
	struct kvm_cpuid2 *sup = synthetic_amd_table();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, 3, 4);
	ck_assert_ptr_nonnull(c);

	const struct kvm_cpuid_entry2 *l1 = leaf(c, 1, 0);
	ck_assert_uint_eq(l1->ebx >> 24, 3);			/* APIC ID */
	ck_assert_uint_eq((l1->ebx >> 16) & 0xff, 4);		/* logical CPUs per package */
	ck_assert_uint_eq(l1->ebx & 0xffff, 0x0800);		/* other fields kept */
	ck_assert(l1->ecx & (1u << 31));			/* hypervisor */
	ck_assert(l1->ecx & 1u);
	ck_assert(l1->edx & (1u << 28));			/* HTT: several CPUs */

	ck_assert_uint_eq(leaf(c, 0xb, 0)->ebx, 1);		/* one thread per core */
	ck_assert_uint_eq(leaf(c, 0xb, 0)->edx, 3);
	ck_assert_uint_eq(leaf(c, 0xb, 1)->eax, 2);		/* shift to the package */
	ck_assert_uint_eq(leaf(c, 0xb, 1)->ebx, 4);
	ck_assert_uint_eq((leaf(c, 0xb, 1)->ecx >> 8) & 0xff, 2);	/* core level */
	ck_assert_uint_eq((leaf(c, 0xb, 2)->ecx >> 8) & 0xff, 0);	/* end */

	ck_assert_uint_eq(leaf(c, 0x80000008, 0)->ecx & 0xff, 3);	/* NC = cores - 1 */
	ck_assert_uint_eq((leaf(c, 0x80000008, 0)->ecx >> 12) & 0xf, 2);
	ck_assert(leaf(c, 0x80000001, 0)->ecx & 2u);			/* CmpLegacy */
	ck_assert_uint_eq(leaf(c, 0x8000001e, 0)->eax, 3);
	ck_assert_uint_eq(leaf(c, 0x8000001e, 0)->ebx, 3);

	/* The supported table itself is untouched. */
	ck_assert_uint_eq(leaf(sup, 1, 0)->ebx, 0xff0a0800);
	free(c);

	c = cpuid_for_vcpu(sup, 0, 1);
	ck_assert_uint_eq(leaf(c, 1, 0)->ebx >> 24, 0);
	ck_assert(!(leaf(c, 1, 0)->edx & (1u << 28)));
	ck_assert(!(leaf(c, 0x80000001, 0)->ecx & 2u));
	ck_assert_uint_eq(leaf(c, 0x80000008, 0)->ecx & 0xff, 0);
	free(c);
	free(sup);
}
END_TEST

TCase *tcase_cpuid(void)
{
	TCase *tc = tcase_create("cpuid");
	tcase_add_test(tc, core_bits);
	tcase_add_test(tc, topology_per_vcpu);
	return tc;
}
