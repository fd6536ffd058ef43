/* The DSDT, emitted as AML bytes so its constants come from vmm/layout.h:
 *
 *   Name (_S5, Package (4) { ACPI_SLP_TYP_S5, ACPI_SLP_TYP_S5, 0, 0 })
 *   Scope (\_SB) {
 *     Device (PCI0) {          // host bridge for the PCI work to come
 *       Name (_HID, EisaId ("PNP0A03"))  Name (_UID, 0)
 *       Name (_SEG, 0)  Name (_BBN, 0)
 *       Name (_CRS, ResourceTemplate () {
 *         WordBusNumber 0..0xff; IO 0xcf8 (8 ports);
 *         WordIO 0..0xcf7; WordIO 0xd00..0xffff;
 *         DWordMemory [MEM_PCI_MMIO_START, MEM_PCI_MMIO_END) })
 *       Name (_PRT, Package () {   // INTx wiring, slots 1..31, INTA (the
 *                                  // only pin minivmm's devices use)
 *         Package () { 0xSSSSFFFF, pin, Zero, pci_intx_gsi(slot, pin) }, ... }) } }
 *
 * tests/boot disassembles the result with `iasl -d`. */
#include "boot/boot_internal.h"

#include <errno.h>
#include <string.h>

#define AML_ZERO      0x00
#define AML_ONE       0x01
#define AML_NAME      0x08
#define AML_BYTE      0x0A
#define AML_WORD      0x0B
#define AML_DWORD     0x0C
#define AML_QWORD     0x0E
#define AML_SCOPE     0x10
#define AML_BUFFER    0x11
#define AML_PACKAGE   0x12
#define AML_EXT       0x5B
#define AML_DEVICE    0x82	/* after AML_EXT */
#define AML_PKG_RESERVE 4	/* longest PkgLength encoding */
#define PCI_PRT_SLOTS 32

struct aml {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b) { aml_bytes(a, &b, 1); }

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_int(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, v, 8);
	}
}

/* Start a PkgLength-prefixed body: reserve the longest encoding now,
 * shrink it in aml_close() once the body's length is known. */
static size_t aml_open(struct aml *a)
{
	size_t at = a->len;
	static const uint8_t zero[AML_PKG_RESERVE];

	aml_bytes(a, zero, sizeof(zero));
	return at;
}

static void aml_close(struct aml *a, size_t at)
{
	if (a->overflow)
		return;
	size_t body = a->len - at - AML_PKG_RESERVE;
	static const size_t limit[AML_PKG_RESERVE + 1] = { 0, 0x40, 0x1000, 0x100000, 0x10000000 };
	unsigned n = 1;
	while (n <= AML_PKG_RESERVE && body + n >= limit[n])
		n++;
	if (n > AML_PKG_RESERVE) {
		a->overflow = true;
		return;
	}
	size_t v = body + n;
	uint8_t *p = a->buf + at;
	memmove(p + n, p + AML_PKG_RESERVE, body);
	if (n == 1) {
		p[0] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
		for (unsigned i = 1; i < n; i++)
			p[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	}
	a->len -= AML_PKG_RESERVE - n;
}

static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME);
	aml_bytes(a, seg, 4);
}

static void aml_name_int(struct aml *a, const char seg[4], uint64_t v)
{
	aml_name(a, seg);
	aml_int(a, v);
}

/* EisaId("PNP0A03"): three compressed letters, then four hex digits. */
static uint32_t aml_eisa_id(const char id[7])
{
	uint32_t v = 0;

	for (int i = 0; i < 3; i++)
		v = (v << 5) | (uint32_t)((id[i] - 0x40) & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		v = (v << 4) | (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);
	}
	/* AML stores it big-endian (as bytes in reading order). */
	return __builtin_bswap32(v);
}

/* WordIO / WordBusNumber address space descriptor (ACPI 6.4.3.5.3). */
static void res_word(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	aml_byte(a, 0x88);
	aml_le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, 0x0C);	/* producer, MinFixed, MaxFixed, PosDecode */
	aml_byte(a, tflags);
	aml_le(a, 0, 2);	/* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2);	/* translation */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

static void res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	aml_byte(a, 0x87);
	aml_le(a, 23, 2);
	aml_byte(a, 0x00);	/* memory range */
	aml_byte(a, 0x0C);	/* producer, MinFixed, MaxFixed, PosDecode */
	aml_byte(a, 0x01);	/* read/write, non-cacheable */
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

static void aml_pci0_crs(struct aml *a)
{
	uint8_t res[128];
	struct aml r = { .buf = res, .cap = sizeof(res) };
	static const uint8_t cfg_io[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };

	res_word(&r, 2, 0x00, 0x00, 0xff);		/* bus numbers */
	aml_bytes(&r, cfg_io, sizeof(cfg_io));		/* 0xcf8..0xcff, consumed */
	res_word(&r, 1, 0x03, 0x0000, 0x0cf7);		/* I/O below the config ports */
	res_word(&r, 1, 0x03, 0x0d00, 0xffff);		/* ... and above */
	res_dword_mem(&r, (uint32_t)MEM_PCI_MMIO_START, (uint32_t)(MEM_PCI_MMIO_END - 1));
	aml_byte(&r, 0x79);				/* end tag */
	aml_byte(&r, 0x00);				/* checksum 0: "ignore" */
	if (r.overflow) {
		a->overflow = true;
		return;
	}
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	size_t pkg = aml_open(a);
	aml_int(a, r.len);				/* BufferSize */
	aml_bytes(a, res, r.len);
	aml_close(a, pkg);
}

/* Interrupt routing without link devices: each entry names a GSI. Only
 * INTA: every minivmm device is single-function and uses INTA (the
 * table stays small). */
static void aml_pci0_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE);
	size_t pkg = aml_open(a);
	aml_byte(a, PCI_PRT_SLOTS - 1);			/* NumElements */
	for (unsigned slot = 1; slot < PCI_PRT_SLOTS; slot++) {
		for (unsigned pin = 0; pin < 1; pin++) {
			aml_byte(a, AML_PACKAGE);
			size_t e = aml_open(a);
			aml_byte(a, 4);
			aml_byte(a, AML_DWORD);		/* address: slot << 16 | 0xffff */
			aml_le(a, slot << 16 | 0xffff, 4);
			aml_int(a, pin);
			aml_int(a, 0);			/* source: none, a GSI follows */
			aml_int(a, pci_intx_gsi(slot, pin));
			aml_close(a, e);
		}
	}
	aml_close(a, pkg);
}

static void aml_pci0(struct aml *a)
{
	aml_byte(a, AML_SCOPE);
	size_t scope = aml_open(a);
	aml_bytes(a, "_SB_", 4);	/* the DSDT's scope is the root */
	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	size_t dev = aml_open(a);
	aml_bytes(a, "PCI0", 4);
	aml_name(a, "_HID");
	aml_byte(a, AML_DWORD);
	aml_le(a, aml_eisa_id("PNP0A03"), 4);
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_pci0_crs(a);
	aml_pci0_prt(a);
	aml_close(a, dev);
	aml_close(a, scope);
}

/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. Linux writes
 * SLP_TYPa << 10 | SLP_EN to PM1a_CNT to power off. */
static void aml_s5(struct aml *a)
{
	aml_name(a, "_S5_");
	aml_byte(a, AML_PACKAGE);
	size_t pkg = aml_open(a);
	aml_byte(a, 4);
	aml_int(a, ACPI_SLP_TYP_S5);
	aml_int(a, ACPI_SLP_TYP_S5);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_close(a, pkg);
}

int acpi_dsdt_build(uint8_t *buf, size_t cap)
{
	struct aml a = { .buf = buf, .cap = cap };
	struct acpi_header h = { 0 };

	aml_bytes(&a, &h, sizeof(h));	/* placeholder */
	aml_s5(&a);
	aml_pci0(&a);
	if (a.overflow)
		return -ENOSPC;
	acpi_header_init(&h, "DSDT", (uint32_t)a.len, 2);
	memcpy(buf, &h, sizeof(h));
	buf[offsetof(struct acpi_header, checksum)] = acpi_checksum(buf, a.len);
	return (int)a.len;
}
