/* ACPI tables: RSDP (in the BIOS area, where Linux scans), XSDT, FADT with
 * the PM1a block, PM timer and reset register of vmm/layout.h, FACS, MADT (one LAPIC
 * per vCPU, the IOAPIC, ISA overrides) and the DSDT from aml.c. */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>

#define ACPI_OEM_ID       "MINVMM"
#define ACPI_OEM_TABLE_ID "MINIVMM "
#define ACPI_CREATOR_ID   "MVMM"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;	/* first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "rsdp size");

struct acpi_gas {
	uint8_t space_id;	/* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;	/* 1 byte, 2 word, 3 dword */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "gas size");

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "fadt size");
_Static_assert(offsetof(struct acpi_fadt, century) == 108, "fadt century offset");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "fadt flags offset");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "fadt x_dsdt offset");

#define FADT_WBINVD        (1u << 0)
#define FADT_PROC_C1       (1u << 2)
/* FADT flag bit 4 (PWR_BUTTON, "no fixed power button") stays clear: the
 * fixed button in PM1 (devices/acpi_pm.h) is how a controller asks the
 * guest to shut down. */
#define FADT_SLP_BUTTON    (1u << 5)	/* no fixed sleep button */
#define FADT_TMR_VAL_EXT   (1u << 8)	/* the PM timer has 32 bits */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_LEGACY   (1u << 0)
#define BOOT_ARCH_8042     (1u << 1)	/* keeps Linux probing the i8042 */
#define BOOT_ARCH_NO_VGA   (1u << 2)
/* The RTC's century byte in CMOS RAM: devices/cmos.c's CMOS_REG_CENTURY
 * (tests/boot checks the two agree). Without it Linux guesses the century. */
#define FADT_CMOS_CENTURY  0x32

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "facs size");

struct madt_lapic { uint8_t type, length, uid, apic_id; uint32_t flags; } __attribute__((packed));
struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));
struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
struct madt_lapic_nmi { uint8_t type, length, uid; uint16_t flags; uint8_t lint; } __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "madt lapic");
_Static_assert(sizeof(struct madt_ioapic) == 12, "madt ioapic");
_Static_assert(sizeof(struct madt_iso) == 10, "madt iso");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "madt nmi");

#define MADT_PCAT_COMPAT  1
#define MADT_ENABLED      1
#define MPS_ACTIVE_HIGH   0x1
#define MPS_LEVEL         0xC	/* trigger mode bits 2-3 = 11 */

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

void acpi_header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* The area at BOOT_ACPI_ADDR, handed out front to back. */
struct acpi_area {
	uint8_t *base;
	uint64_t used;
};

static uint8_t *acpi_alloc(struct acpi_area *a, uint64_t size, uint64_t align, uint64_t *gpa)
{
	uint64_t at = (a->used + align - 1) & ~(align - 1);

	if (at > BOOT_ACPI_MAX || size > BOOT_ACPI_MAX - at)
		return NULL;
	a->used = at + size;
	*gpa = BOOT_ACPI_ADDR + at;
	return a->base + at;
}

static void acpi_seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){ .space_id = 1, .bit_width = (uint8_t)(bytes * 8),
				  .access_size = bytes == 4 ? 3 : bytes, .address = port };
}

static void fadt_fill(struct acpi_fadt *f, uint64_t dsdt, uint64_t facs)
{
	memset(f, 0, sizeof(*f));
	acpi_header_init(&f->h, "FACP", sizeof(*f), 6);
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = 0;		/* only one of the two may be set */
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	f->smi_cmd = 0;			/* no SMI: ACPI is always enabled */
	f->pm1a_evt_blk = PORT_ACPI_PM1A_EVT;
	f->pm1a_cnt_blk = PORT_ACPI_PM1A_CNT;
	f->pm_tmr_blk = PORT_ACPI_PM_TMR;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->x_pm1a_evt_blk = gas_io(PORT_ACPI_PM1A_EVT, 4);
	f->x_pm1a_cnt_blk = gas_io(PORT_ACPI_PM1A_CNT, 2);
	f->x_pm_tmr_blk = gas_io(PORT_ACPI_PM_TMR, 4);
	f->p_lvl2_lat = 101;		/* > 100: C2 not supported */
	f->p_lvl3_lat = 1001;		/* > 1000: C3 not supported */
	f->century = FADT_CMOS_CENTURY;
	f->iapc_boot_arch = BOOT_ARCH_LEGACY | BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
		   FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(PORT_ACPI_RESET, 1);
	f->reset_value = ACPI_RESET_VALUE;
	acpi_seal(&f->h);
}

#define MADT_ISOS (BOOT_PIT_GSI != 0 ? 2 : 1)

static uint64_t madt_size(unsigned ncpus)
{
	return sizeof(struct acpi_header) + 8 + ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + MADT_ISOS * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static void madt_fill(uint8_t *p, unsigned ncpus)
{
	struct acpi_header *h = (struct acpi_header *)p;
	uint8_t *e = p + sizeof(*h);
	uint32_t lapic = (uint32_t)MEM_LAPIC_BASE, flags = MADT_PCAT_COMPAT;

	acpi_header_init(h, "APIC", (uint32_t)madt_size(ncpus), 5);
	memcpy(e, &lapic, 4);
	memcpy(e + 4, &flags, 4);
	e += 8;
	for (unsigned i = 0; i < ncpus; i++) {
		struct madt_lapic l = { 0, sizeof(l), (uint8_t)i, (uint8_t)i, MADT_ENABLED };
		memcpy(e, &l, sizeof(l));
		e += sizeof(l);
	}
	struct madt_ioapic io = { 1, sizeof(io), (uint8_t)ncpus, 0, (uint32_t)MEM_IOAPIC_BASE, 0 };
	memcpy(e, &io, sizeof(io));
	e += sizeof(io);
	/* The SCI is level/active-high; IRQ 0 moves only if BOOT_PIT_GSI says so. */
	struct madt_iso iso[2] = {
		{ 2, sizeof(struct madt_iso), 0, ACPI_SCI_IRQ, ACPI_SCI_IRQ,
		  MPS_ACTIVE_HIGH | MPS_LEVEL },
		{ 2, sizeof(struct madt_iso), 0, 0, BOOT_PIT_GSI, 0 },
	};
	memcpy(e, iso, MADT_ISOS * sizeof(iso[0]));
	e += MADT_ISOS * sizeof(iso[0]);
	struct madt_lapic_nmi nmi = { 4, sizeof(nmi), 0xff, 0, 1 };	/* LINT1 of all CPUs */
	memcpy(e, &nmi, sizeof(nmi));
	acpi_seal(h);
}

static void rsdp_fill(struct acpi_rsdp *r, uint64_t xsdt)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = acpi_checksum(r, 20);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

static int acpi_fail(void)
{
	log_error("boot: ACPI tables do not fit in %#llx bytes at %#llx",
		  (unsigned long long)BOOT_ACPI_MAX, (unsigned long long)BOOT_ACPI_ADDR);
	return -ENOSPC;
}

int acpi_build(struct guest_mem *gm, unsigned ncpus, uint64_t *rsdp_gpa)
{
	struct acpi_area a = { .base = gmem_ptr(gm, BOOT_ACPI_ADDR, BOOT_ACPI_MAX) };
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt;
	enum { XSDT_ENTRIES = 2 };

	if (!a.base || ncpus == 0 || ncpus > MAX_VCPUS)
		return acpi_fail();
	memset(a.base, 0, BOOT_ACPI_MAX);
	struct acpi_rsdp *r = (void *)acpi_alloc(&a, sizeof(*r), 16, &rsdp);
	uint8_t *x = acpi_alloc(&a, sizeof(struct acpi_header) + 8 * XSDT_ENTRIES, 8, &xsdt);
	struct acpi_fadt *f = (void *)acpi_alloc(&a, sizeof(*f), 8, &fadt);
	struct acpi_facs *fc = (void *)acpi_alloc(&a, sizeof(*fc), 64, &facs);
	uint8_t *m = acpi_alloc(&a, madt_size(ncpus), 8, &madt);
	uint8_t *d = acpi_alloc(&a, 0, 8, &dsdt);
	if (!r || !x || !f || !fc || !m || !d)
		return acpi_fail();
	int dlen = acpi_dsdt_build(d, BOOT_ACPI_MAX - (dsdt - BOOT_ACPI_ADDR));
	if (dlen < 0)
		return acpi_fail();

	memcpy(fc->signature, "FACS", 4);
	fc->length = sizeof(*fc);
	fc->version = 2;
	madt_fill(m, ncpus);
	fadt_fill(f, dsdt, facs);
	struct acpi_header *xh = (struct acpi_header *)x;
	acpi_header_init(xh, "XSDT", sizeof(*xh) + 8 * XSDT_ENTRIES, 1);
	uint64_t entries[XSDT_ENTRIES] = { fadt, madt };
	memcpy(x + sizeof(*xh), entries, sizeof(entries));
	acpi_seal(xh);
	rsdp_fill(r, xsdt);
	*rsdp_gpa = rsdp;
	return 0;
}
