/* ACPI table walk: RSDP (BIOS area scan) -> XSDT/RSDT -> MADT, FADT, DSDT.
 * The tables come from the VMM under test, so every length and checksum is
 * checked before use and problems are printed rather than trusted. */
#include "acpi.h"
#include "console.h"
#include "vmm/layout.h"

#define SDT_HEADER_LEN 36
#define SDT_MAX_LEN    (1u << 20)	/* far beyond any table we build */
#define LOW_4G         0x100000000ULL	/* what our page tables map */

static uint8_t sum_bytes(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static bool rsdp_valid(const uint8_t *p)
{
	if (memcmp(p, "RSD PTR ", 8) != 0 || sum_bytes(p, 20) != 0)
		return false;
	if (p[15] >= 2) {
		uint32_t len = rd32(p + 20);

		if (len < 36 || len > 4096 || sum_bytes(p, len) != 0)
			return false;
	}
	return true;
}

static uint64_t rsdp_find(uint64_t hint)
{
	/* The RSDP is 16-byte aligned somewhere in the BIOS area. */
	for (uint64_t a = MEM_BIOS_START; a + 36 <= MEM_BIOS_END; a += 16)
		if (rsdp_valid((const uint8_t *)(uintptr_t)a))
			return a;
	if (hint && hint < LOW_4G - 36 && rsdp_valid((const uint8_t *)(uintptr_t)hint))
		return hint;
	return 0;
}

/* A table at addr with a sane length and a zero checksum, or NULL. */
static const uint8_t *sdt_at(uint64_t addr, uint32_t *len)
{
	if (!addr || addr >= LOW_4G - SDT_HEADER_LEN) {
		kprintf("acpi: table address 0x%lx not mapped\n", (unsigned long)addr);
		return NULL;
	}
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	uint32_t l = rd32(t + 4);

	if (l < SDT_HEADER_LEN || l > SDT_MAX_LEN || addr + l > LOW_4G) {
		kprintf("acpi: table at 0x%lx: bad length %u\n", (unsigned long)addr, l);
		return NULL;
	}
	if (sum_bytes(t, l) != 0) {
		kprintf("acpi: table at 0x%lx (%c%c%c%c): bad checksum\n",
			(unsigned long)addr, t[0], t[1], t[2], t[3]);
		return NULL;
	}
	*len = l;
	return t;
}

void acpi_madt_parse(const uint8_t *t, uint32_t len, struct acpi_info *info)
{
	info->lapic_base = rd32(t + 36);
	for (uint32_t off = 44; off + 2 <= len;) {
		uint8_t type = t[off], elen = t[off + 1];

		if (elen < 2 || off + elen > len) {
			kprintf("acpi: MADT entry at +%u: bad length %u\n", off, elen);
			return;
		}
		/* Type 0: processor local APIC; flags bit 0 = enabled. */
		if (type == 0 && elen >= 8 && (rd32(t + off + 4) & 1)) {
			if (info->ncpus < MAX_CPUS)
				info->apic_ids[info->ncpus] = t[off + 3];
			info->ncpus++;
		}
		off += elen;
	}
}

/* The classic scan for Name(_S5_, Package(){ typ, ... }), not an AML
 * interpreter. */
int acpi_dsdt_s5(const uint8_t *t, uint32_t len)
{
	for (uint32_t i = SDT_HEADER_LEN + 1; i + 8 <= len; i++) {
		if (memcmp(t + i, "_S5_", 4) != 0)
			continue;
		if (t[i - 1] != 0x08 && !(t[i - 1] == '\\' && t[i - 2] == 0x08))
			continue;		/* not a NameOp */
		uint32_t p = i + 4;
		if (t[p] != 0x12)		/* PackageOp */
			continue;
		p += 1 + 1 + (t[p + 1] >> 6);	/* PkgLength bytes */
		p += 1;				/* NumElements */
		if (p + 2 > len)
			return -1;
		if (t[p] == 0x0a)		/* BytePrefix */
			return t[p + 1];
		if (t[p] == 0x00 || t[p] == 0x01)	/* ZeroOp, OneOp */
			return t[p];
		return -1;
	}
	return -1;
}

static void fadt_parse(const uint8_t *t, uint32_t len, struct acpi_info *info)
{
	if (len >= 68)
		info->pm1a_cnt = (uint16_t)rd32(t + 64);
	/* X_PM1a_CNT_BLK (a GAS, system I/O space) when the 32-bit one is 0. */
	if (!info->pm1a_cnt && len >= 184 && t[172] == 1)
		info->pm1a_cnt = (uint16_t)rd64(t + 176);

	if (len >= 60)
		info->pm1a_evt = (uint16_t)rd32(t + 56);
	/* X_PM1a_EVT_BLK (a GAS at 148, system I/O space) likewise. */
	if (!info->pm1a_evt && len >= 160 && t[148] == 1)
		info->pm1a_evt = (uint16_t)rd64(t + 152);

	uint64_t dsdt = len >= 148 ? rd64(t + 140) : 0;
	if (!dsdt && len >= 44)
		dsdt = rd32(t + 40);
	uint32_t dlen;
	const uint8_t *d = dsdt ? sdt_at(dsdt, &dlen) : NULL;
	int typ = d && memcmp(d, "DSDT", 4) == 0 ? acpi_dsdt_s5(d, dlen) : -1;

	info->s5_from_dsdt = typ >= 0;
	info->slp_typ_s5 = typ >= 0 ? (uint8_t)(typ & 7) : ACPI_SLP_TYP_S5;
}

static int sdt_walk(const uint8_t *root, uint32_t len, unsigned int esize,
		    struct acpi_info *info)
{
	bool madt = false;

	for (uint32_t off = SDT_HEADER_LEN; off + esize <= len; off += esize) {
		uint64_t a = esize == 8 ? rd64(root + off) : rd32(root + off);
		uint32_t tlen;
		const uint8_t *t = sdt_at(a, &tlen);

		if (!t)
			continue;
		if (memcmp(t, "APIC", 4) == 0) {
			acpi_madt_parse(t, tlen, info);
			madt = true;
		} else if (memcmp(t, "FACP", 4) == 0) {
			fadt_parse(t, tlen, info);
		}
	}
	if (!madt) {
		kprintf("acpi: no valid MADT (APIC) table\n");
		return -1;
	}
	return 0;
}

int acpi_probe(uint64_t rsdp_hint, struct acpi_info *info)
{
	memset(info, 0, sizeof(*info));
	info->rsdp = rsdp_find(rsdp_hint);
	if (!info->rsdp) {
		kprintf("acpi: no valid RSDP in 0x%lx-0x%lx\n",
			(unsigned long)MEM_BIOS_START, (unsigned long)MEM_BIOS_END - 1);
		return -1;
	}
	const uint8_t *r = (const uint8_t *)(uintptr_t)info->rsdp;
	uint64_t xsdt = r[15] >= 2 ? rd64(r + 24) : 0;
	uint32_t len;
	const uint8_t *root = sdt_at(xsdt ? xsdt : rd32(r + 16), &len);

	if (!root)
		return -1;
	if (memcmp(root, xsdt ? "XSDT" : "RSDT", 4) != 0) {
		kprintf("acpi: root table has signature %c%c%c%c\n", root[0], root[1], root[2], root[3]);
		return -1;
	}
	kprintf("acpi: rsdp at 0x%lx, %s at 0x%lx\n", (unsigned long)info->rsdp,
		xsdt ? "xsdt" : "rsdt", (unsigned long)(xsdt ? xsdt : rd32(r + 16)));
	return sdt_walk(root, len, xsdt ? 8 : 4, info);
}
