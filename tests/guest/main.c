/* The minivmm test guest: prints what it was given, then does what its
 * command line asks.
 *   exit=N    end the VM through the debug-exit port with status N (0..255)
 *   smp       start every AP of the MADT; exit 0 if all came up, else 251
 *   reset     i8042 reset (0xFE to port 0x64); 252 if still running
 *   poweroff  ACPI S5 through the FADT's PM1a_CNT; 253 if still running
 * With none of these it exits 0. Other words (console=ttyS0 ...) are
 * ignored. Order: smp, then reset, poweroff, exit=N. */
#include "acpi.h"
#include "bootinfo.h"
#include "console.h"
#include "guest.h"
#include "io.h"
#include "smp.h"
#include "vmm/layout.h"

struct verbs {
	bool smp, reset, poweroff, has_exit;
	unsigned int exit_code;
};

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

/* "exit=N" with N a decimal 0..255; -1 if malformed. */
static int parse_exit(const char *s, size_t len)
{
	unsigned int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v <= 255 ? (int)v : -1;
}

static bool word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(w, name, len) == 0;
}

static int parse_verbs(const char *cmdline, struct verbs *v)
{
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t len = (size_t)(p - w);

		if (word_is(w, len, "smp")) {
			v->smp = true;
		} else if (word_is(w, len, "reset")) {
			v->reset = true;
		} else if (word_is(w, len, "poweroff")) {
			v->poweroff = true;
		} else if (len >= 5 && memcmp(w, "exit=", 5) == 0) {
			int code = parse_exit(w + 5, len - 5);
			if (code < 0) {
				kprintf("guest: bad verb \"exit=...\": want exit=0..255\n");
				return -1;
			}
			v->has_exit = true;
			v->exit_code = (unsigned int)code;
		}
	}
	return 0;
}

static void do_reset(void)
{
	kprintf("reset: writing 0xfe to port 0x%x\n", PORT_I8042_CMD);
	outb(PORT_I8042_CMD, 0xfe);
	delay_us(2000000);
	kprintf("reset: still running\n");
	guest_exit(GUEST_EXIT_RESET_FAILED);
}

static void do_poweroff(void)
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
	if (parse_verbs(boot.cmdline, &v))
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
	guest_exit(v.has_exit ? v.exit_code : GUEST_EXIT_OK);
}
