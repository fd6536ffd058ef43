/* AP start-up: copy the real-mode trampoline (head.S) below 1 MiB, then for
 * each AP send INIT, wait, and SIPI twice, as the MP specification says.
 * Each AP enters ap_main() in long mode on its own stack, prints itself and
 * counts itself online; the BSP waits for the count with a time limit. */
#include "smp.h"
#include "console.h"
#include "io.h"

#define LAPIC_ID     0x020
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_BUSY     (1u << 12)
#define ICR_INIT     0x00000500u
#define ICR_SIPI     0x00000600u
#define ICR_ASSERT   (1u << 14)
#define ICR_LEVEL    (1u << 15)
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define APIC_BASE_ENABLE (1u << 11)

extern const char ap_tramp_start[], ap_tramp_end[];

static uint64_t lapic = 0xfee00000;	/* replaced by the MADT's value */
static const struct acpi_info *smp_acpi;
static volatile unsigned int cpus_online;

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic + reg, v);
}

static unsigned int apic_id_self(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static int cpu_index(unsigned int apic_id)
{
	for (unsigned int i = 0; i < smp_acpi->ncpus && i < MAX_CPUS; i++)
		if (smp_acpi->apic_ids[i] == apic_id)
			return (int)i;
	return -1;
}

void ap_main(unsigned int ticket);
void ap_main(unsigned int ticket)
{
	unsigned int apic = apic_id_self();

	(void)ticket;
	kprintf("cpu %d (apic %u) online\n", cpu_index(apic), apic);
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
	halt_forever();
}

static int icr_send(unsigned int apic_id, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (unsigned int i = 0; i < 100000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return 0;
		cpu_relax();
	}
	kprintf("smp: IPI 0x%x to apic %u still pending\n", lo, apic_id);
	return -1;
}

static bool wait_online(unsigned int target, unsigned int seconds)
{
	uint64_t end = rdtsc() + tsc_ticks_for_seconds(seconds);

	while (__atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST) < target) {
		if (rdtsc() > end)
			return false;
		cpu_relax();
	}
	return true;
}

static void start_ap(unsigned int apic_id, unsigned int target)
{
	uint32_t vector = AP_TRAMP_ADDR >> 12;

	icr_send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	icr_send(apic_id, ICR_INIT | ICR_LEVEL);	/* de-assert */
	delay_us(10000);
	for (int i = 0; i < 2; i++) {
		icr_send(apic_id, ICR_SIPI | ICR_ASSERT | vector);
		delay_us(200);
		if (__atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST) >= target)
			return;
	}
	if (!wait_online(target, 5))
		kprintf("smp: apic %u did not come online\n", apic_id);
}

static bool lapic_usable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE) || (base & APIC_BASE_X2APIC)) {
		kprintf("smp: local APIC not in xAPIC mode (APIC_BASE 0x%lx)\n",
			(unsigned long)base);
		return false;
	}
	return true;
}

unsigned int smp_boot(const struct acpi_info *acpi)
{
	smp_acpi = acpi;
	if (acpi->lapic_base)
		lapic = acpi->lapic_base;
	cpus_online = 1;
	if (acpi->ncpus > MAX_CPUS) {
		kprintf("smp: MADT lists %u cpus, at most %d supported\n", acpi->ncpus, MAX_CPUS);
		return 1;
	}
	if (!lapic_usable())
		return 1;
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | 0x100);	/* software enable */
	memcpy((void *)(uintptr_t)AP_TRAMP_ADDR, ap_tramp_start,
	       (size_t)(ap_tramp_end - ap_tramp_start));

	unsigned int self = apic_id_self();
	kprintf("smp: bsp is apic %u, starting %u ap(s)\n", self,
		acpi->ncpus ? acpi->ncpus - 1 : 0);
	kprintf("cpu %d (apic %u) online (bsp)\n", cpu_index(self), self);
	for (unsigned int i = 0; i < acpi->ncpus; i++) {
		if (acpi->apic_ids[i] == self)
			continue;
		start_ap(acpi->apic_ids[i], cpus_online + 1);
	}
	unsigned int n = __atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST);
	kprintf("smp: %u of %u cpus online\n", n, acpi->ncpus);
	return n;
}
