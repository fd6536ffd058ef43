/* Reading the loader's boot information: the command line and the RSDP
 * address. The structures come from the VMM under test, so pointers are
 * checked against what our page tables map before they are followed. */
#include "bootinfo.h"
#include "console.h"
#include "guest.h"

#define MAPPED_END 0x100000000ULL

static uint32_t rd32(uint64_t a)
{
	return *(const volatile uint32_t *)(uintptr_t)a;
}

static uint64_t rd64(uint64_t a)
{
	return *(const volatile uint64_t *)(uintptr_t)a;
}

static int copy_cmdline(uint64_t paddr, struct boot_info *out)
{
	out->cmdline_paddr = paddr;
	out->cmdline[0] = '\0';
	if (!paddr)
		return 0;			/* no command line is allowed */
	if (paddr >= MAPPED_END - CMDLINE_MAX) {
		kprintf("boot: command line at 0x%lx is not mapped\n", (unsigned long)paddr);
		return -1;
	}
	const volatile char *s = (const volatile char *)(uintptr_t)paddr;
	for (unsigned int i = 0; i < CMDLINE_MAX; i++) {
		out->cmdline[i] = s[i];
		if (!s[i])
			return 0;
	}
	out->cmdline[CMDLINE_MAX - 1] = '\0';
	kprintf("boot: command line longer than %d bytes, truncated\n", CMDLINE_MAX - 1);
	return 0;
}

static int read_pvh(uint64_t info, struct boot_info *out)
{
	if (!info || info >= MAPPED_END - sizeof(struct hvm_start_info)) {
		kprintf("boot: hvm_start_info at 0x%lx is not mapped\n", (unsigned long)info);
		return -1;
	}
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)info;
	if (si->magic != HVM_START_MAGIC) {
		kprintf("boot: hvm_start_info magic 0x%x, want 0x%x\n", si->magic, HVM_START_MAGIC);
		return -1;
	}
	out->rsdp_hint = si->version >= 1 ? si->rsdp_paddr : 0;
	return copy_cmdline(si->cmdline_paddr, out);
}

static int read_linux(uint64_t info, struct boot_info *out)
{
	if (!info || info >= MAPPED_END - 4096) {
		kprintf("boot: boot_params at 0x%lx is not mapped\n", (unsigned long)info);
		return -1;
	}
	if (rd32(info + BP_HDR_MAGIC) != 0x53726448) {
		kprintf("boot: boot_params at 0x%lx has no HdrS header\n", (unsigned long)info);
		return -1;
	}
	out->rsdp_hint = rd64(info + BP_ACPI_RSDP_ADDR);
	uint64_t cmd = rd32(info + BP_CMD_LINE_PTR) |
		       (uint64_t)rd32(info + BP_EXT_CMD_LINE_PTR) << 32;
	return copy_cmdline(cmd, out);
}

int bootinfo_read(int kind, uint64_t info, struct boot_info *out)
{
	out->info_paddr = info;
	out->rsdp_hint = 0;
	switch (kind) {
	case BOOT_PVH:
		out->entry = "pvh";
		return read_pvh(info, out);
	case BOOT_LINUX32:
		out->entry = "linux32";
		return read_linux(info, out);
	case BOOT_LINUX64:
		out->entry = "linux64";
		return read_linux(info, out);
	}
	out->entry = "unknown";
	kprintf("boot: unknown entry kind %d\n", kind);
	return -1;
}
