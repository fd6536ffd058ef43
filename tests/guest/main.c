/* The minivmm test guest: prints what it was given, then does what its
 * command line asks (verbs.h): smp, then reset, poweroff, pwrbtn, exit=N; with
 * none of these it exits 0. */
#include "acpi.h"
#include "bootinfo.h"
#include "console.h"
#include "guest.h"
#include "io.h"
#include "smp.h"
#include "vblk.h"
#include "vnet.h"
#include "verbs.h"
#include "vmm/layout.h"


static struct boot_info boot;
static struct acpi_info acpi;

void guest_main(int kind, uint64_t info);
void idt_init(void);

__attribute__((noreturn)) void guest_exit(unsigned int code)
{
	kprintf("guest: exit %u\n", code);
	outb(PORT_DEBUG_EXIT, (uint8_t)code);
	halt_forever();
}

static void do_reset(void)
{
	kprintf("reset: writing 0xfe to port 0x%x\n", PORT_I8042_CMD);
	outb(PORT_I8042_CMD, 0xfe);
	delay_us(2000000);
	kprintf("reset: still running\n");
	guest_exit(GUEST_EXIT_RESET_FAILED);
}

__attribute__((noreturn)) static void do_poweroff(void)
{
	if (!acpi.pm1a_cnt) {
		kprintf("poweroff: no PM1a_CNT block in the FADT\n");
		guest_exit(GUEST_EXIT_POWEROFF_FAILED);
	}
	uint16_t v = (uint16_t)(acpi.slp_typ_s5 << 10 | 1u << 13);	/* SLP_EN */

	kprintf("poweroff: SLP_TYP %u (%s), writing 0x%x to port 0x%x\n", acpi.slp_typ_s5,
		acpi.s5_from_dsdt ? "from \\_S5" : "assumed", v, acpi.pm1a_cnt);
	outw(acpi.pm1a_cnt, v);
	delay_us(2000000);
	kprintf("poweroff: still running\n");
	guest_exit(GUEST_EXIT_POWEROFF_FAILED);
}

static void print_acpi(void)
{
	kprintf("cpus: %u (MADT, local APIC base 0x%lx), apic ids:", acpi.ncpus,
		(unsigned long)acpi.lapic_base);
	for (unsigned int i = 0; i < acpi.ncpus && i < MAX_CPUS; i++)
		kprintf(" %u", acpi.apic_ids[i]);
	kprintf("\n");
	if (acpi.pm1a_cnt)
		kprintf("acpi: PM1a_CNT at port 0x%x, S5 SLP_TYP %u%s\n", acpi.pm1a_cnt,
			acpi.slp_typ_s5, acpi.s5_from_dsdt ? "" : " (assumed)");
}

/* Absent hardware: a port nothing decodes and an address in the PCI hole
 * no BAR covers. Reads must be all-ones, writes ignored, the VM alive. */
#define PROBE_PORT 0x2e8	/* COM4: no device in a minivmm machine */
#define PROBE_MMIO 0xfe000000ULL

static void do_probe(void)
{
	outb(PROBE_PORT, 0x5a);
	uint8_t port = inb(PROBE_PORT);
	mmio_write32(PROBE_MMIO, 0x12345678);
	uint32_t mmio = mmio_read32(PROBE_MMIO);
	kprintf("probe: port 0x%x reads 0x%x, mmio 0x%lx reads 0x%x\n", PROBE_PORT, port,
		(unsigned long)PROBE_MMIO, mmio);
}

/* Polled COM1 receive: each line typed comes back as "echo: LINE". */
#define COM1_RBR 0x3f8
#define COM1_LSR 0x3fd
#define LSR_DR 0x01

struct echo_line {
	char buf[128];
	size_t n;
};

/* Takes one received byte, if any; prints the line when it ends. */
static void echo_poll(struct echo_line *l)
{
	if (!(inb(COM1_LSR) & LSR_DR))
		return;
	char c = (char)inb(COM1_RBR);
	if (c == '\r' || c == '\n' || l->n == sizeof(l->buf) - 1) {
		l->buf[l->n] = '\0';
		kprintf("echo: %s\n", l->buf);
		l->n = 0;
	} else {
		l->buf[l->n++] = c;
	}
}

__attribute__((noreturn)) static void do_echo(void)
{
	struct echo_line l = { .n = 0 };

	kprintf("echo: ready\n");
	for (;;) {
		echo_poll(&l);
		cpu_relax();
	}
}

/* The fixed power button, polled in PM1_STS (the SCI is not needed: the
 * guest runs with interrupts off). Echoes serial input meanwhile and, with
 * TICK, prints "tick: N" every ~100 ms (a sign of progress for pause tests). */
#define PM1_PWRBTN 0x0100
#define TICK_TSC (100000ULL * 4000ULL)	/* 100 ms at <= 4 GHz (see delay_us) */

__attribute__((noreturn)) static void do_pwrbtn(bool tick)
{
	struct echo_line l = { .n = 0 };
	uint16_t evt = acpi.pm1a_evt;
	unsigned int ticks = 0;

	if (!evt) {
		kprintf("pwrbtn: no PM1a_EVT block in the FADT\n");
		guest_exit(GUEST_EXIT_PWRBTN_FAILED);
	}
	outw((uint16_t)(evt + 2), PM1_PWRBTN);	/* PWRBTN_EN */
	kprintf("pwrbtn: armed, PM1a_EVT at port 0x%x, PM1_EN 0x%x\n", evt,
		inw((uint16_t)(evt + 2)));
	uint64_t next = rdtsc() + TICK_TSC;
	for (;;) {
		if (inw(evt) & PM1_PWRBTN) {
			outw(evt, PM1_PWRBTN);	/* write 1 to clear */
			kprintf("pwrbtn: pressed, PM1_STS after clearing 0x%x\n",
				inw(evt) & PM1_PWRBTN);
			do_poweroff();
		}
		echo_poll(&l);
		if (tick && rdtsc() >= next) {
			kprintf("tick: %u\n", ticks++);
			next = rdtsc() + TICK_TSC;
		}
		cpu_relax();
	}
}

void guest_main(int kind, uint64_t info)
{
	struct verbs v = { 0 };

	idt_init();
	console_init();
	kprintf("\nminivmm test guest\n");
	int err = bootinfo_read(kind, info, &boot);
	kprintf("entry: %s, boot info at 0x%lx\n", boot.entry, (unsigned long)info);
	if (err)
		guest_exit(GUEST_EXIT_PANIC);
	kprintf("cmdline: \"%s\"\n", boot.cmdline);
	bool have_acpi = acpi_probe(boot.rsdp_hint, &acpi) == 0;
	if (have_acpi)
		print_acpi();
	if (verbs_parse(boot.cmdline, &v))
		guest_exit(GUEST_EXIT_BAD_CMDLINE);
	if (v.smp) {
		unsigned int n = have_acpi ? smp_boot(&acpi) : 0;
		if (!have_acpi || n != acpi.ncpus)
			guest_exit(GUEST_EXIT_SMP_FAILED);
	}
	if (v.reset)
		do_reset();
	if (v.poweroff)
		do_poweroff();
	if (v.probe)
		do_probe();
	if (v.vblk && vblk_hostile())
		guest_exit(GUEST_EXIT_VBLK_FAILED);
	if ((v.vnet && vnet_hostile(false)) || (v.vnet_mrg && vnet_hostile(true)))
		guest_exit(GUEST_EXIT_VNET_FAILED);
	if (v.pwrbtn)
		do_pwrbtn(v.tick);
	if (v.echo)
		do_echo();
	guest_exit(v.has_exit ? v.exit_code : GUEST_EXIT_OK);
}
