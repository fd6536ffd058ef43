/* SMBIOS 3.0 entry point and structure table (see smbios.h). Field offsets
 * in the comments are those of DSP0134 3.0's tables. Handles are
 * type << 8 | instance, so dmidecode's "Handle 0x0401" is the second CPU. */
#include "boot/smbios.h"
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define SMBIOS_VENDOR     "minivmm"
#define SMBIOS_PRODUCT    "minivmm"
/* A fixed date: the tables of one minivmm release are the same on every
 * run (MM/DD/YYYY as the spec asks). */
#define SMBIOS_BIOS_DATE  "01/01/2026"
#define SM3_ENTRY_LEN     0x18
#define KIB               1024ULL

/* Formatted-area lengths of the 3.0 layouts. */
enum {
	T0_LEN = 0x18, T1_LEN = 0x1B, T3_LEN = 0x16, T4_LEN = 0x30, T16_LEN = 0x17,
	T17_LEN = 0x28, T19_LEN = 0x1F, T32_LEN = 0x0B, T127_LEN = 0x04,
};
#define SM_FORMATTED_MAX 0x30

struct sm_writer {
	uint8_t *buf;
	size_t cap, len;
	uint8_t nstrings;	/* strings of the structure being written */
	bool overflow;
	uint8_t scratch[SM_FORMATTED_MAX];	/* absorbs writes after an overflow */
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Starts a structure; returns its formatted area (zeroed) to fill in. */
static uint8_t *sm_begin(struct sm_writer *w, uint8_t type, uint8_t len, uint8_t instance)
{
	uint8_t *s = w->scratch;

	w->nstrings = 0;
	if (!w->overflow && len <= w->cap - w->len)
		s = w->buf + w->len;
	else
		w->overflow = true;
	memset(s, 0, len);
	s[0] = type;
	s[1] = len;
	put16(s + 2, (uint16_t)(type << 8 | instance));
	if (!w->overflow)
		w->len += len;
	return s;
}

/* Appends a string to the structure being written; returns its number
 * (0, "no string", for an empty one, as the spec wants). */
static uint8_t sm_str(struct sm_writer *w, const char *text)
{
	size_t n = strlen(text) + 1;

	if (n == 1)
		return 0;
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return 0;
	}
	memcpy(w->buf + w->len, text, n);
	w->len += n;
	return ++w->nstrings;
}

/* Ends the string set: one more NUL, two when there are no strings. */
static void sm_end(struct sm_writer *w)
{
	size_t n = w->nstrings ? 1 : 2;

	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memset(w->buf + w->len, 0, n);
	w->len += n;
}

static void sm_bios(struct sm_writer *w)
{
	uint8_t *s = sm_begin(w, 0, T0_LEN, 0);
	s[4] = sm_str(w, SMBIOS_VENDOR);
	s[5] = sm_str(w, MINIVMM_VERSION);
	put16(s + 6, 0xE800);		/* starting segment: the 96 KiB below 1 MiB */
	s[8] = sm_str(w, SMBIOS_BIOS_DATE);
	s[9] = 0;			/* ROM size: 64 KiB */
	put64(s + 0x0A, 1u << 3);	/* characteristics not supported */
	s[0x13] = 1u << 4;		/* extension byte 2: a virtual machine */
	s[0x14] = 1;			/* BIOS release 1.0 */
	s[0x16] = s[0x17] = 0xFF;	/* no embedded controller */
	sm_end(w);
}

/* The UUID as SMBIOS 2.6+ stores it: time_low, time_mid and
 * time_hi_and_version little-endian, the last eight bytes as they are. */
static void sm_uuid(uint8_t *out, const uint8_t uuid[SMBIOS_UUID_LEN])
{
	static const uint8_t order[SMBIOS_UUID_LEN] = { 3, 2, 1, 0, 5, 4, 7, 6,
							8, 9, 10, 11, 12, 13, 14, 15 };
	for (unsigned i = 0; i < SMBIOS_UUID_LEN; i++)
		out[i] = uuid[order[i]];
}

static void sm_system(struct sm_writer *w, const struct smbios_spec *spec)
{
	uint8_t *s = sm_begin(w, 1, T1_LEN, 0);
	s[4] = sm_str(w, SMBIOS_VENDOR);
	s[5] = sm_str(w, SMBIOS_PRODUCT);
	s[6] = sm_str(w, MINIVMM_VERSION);
	s[7] = sm_str(w, SMBIOS_NOCLOUD_SERIAL);
	sm_uuid(s + 8, spec->uuid);
	s[0x18] = 0x06;			/* wake-up type: power switch */
	s[0x1A] = sm_str(w, "Virtual Machine");	/* family */
	sm_end(w);
}

static void sm_chassis(struct sm_writer *w)
{
	uint8_t *s = sm_begin(w, 3, T3_LEN, 0);
	s[4] = sm_str(w, SMBIOS_VENDOR);
	s[5] = 0x01;			/* type: other */
	s[9] = s[0x0A] = s[0x0B] = 0x03;	/* boot-up, power, thermal: safe */
	s[0x0C] = 0x02;			/* security status: unknown */
	sm_end(w);
}

static void sm_cpu(struct sm_writer *w, unsigned index)
{
	char socket[16] = "CPU ";
	unsigned n = 4;

	/* "CPU 0".."CPU 63" without snprintf's truncation warnings */
	if (index >= 10)
		socket[n++] = (char)('0' + index / 10 % 10);
	socket[n++] = (char)('0' + index % 10);
	socket[n] = 0;

	uint8_t *s = sm_begin(w, 4, T4_LEN, (uint8_t)index);
	s[4] = sm_str(w, socket);
	s[5] = 0x03;			/* central processor */
	s[6] = 0x01;			/* family: other */
	s[7] = sm_str(w, SMBIOS_VENDOR);
	s[0x18] = 0x41;			/* socket populated, CPU enabled */
	s[0x19] = 0x01;			/* upgrade: other */
	put16(s + 0x1A, 0xFFFF);	/* no L1/L2/L3 cache structures */
	put16(s + 0x1C, 0xFFFF);
	put16(s + 0x1E, 0xFFFF);
	s[0x23] = s[0x24] = s[0x25] = 1;	/* one core, enabled, one thread */
	put16(s + 0x26, 1u << 2);	/* 64-bit capable */
	put16(s + 0x28, 0x01);		/* family 2: other */
	put16(s + 0x2A, 1);
	put16(s + 0x2C, 1);
	put16(s + 0x2E, 1);
	sm_end(w);
}

static uint64_t sm_total_ram(const struct smbios_spec *spec)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < spec->nmem; i++)
		total += spec->mem[i].size;
	return total;
}

static void sm_mem_array(struct sm_writer *w, uint64_t total)
{
	uint8_t *s = sm_begin(w, 16, T16_LEN, 0);
	s[4] = 0x01;			/* location: other */
	s[5] = 0x03;			/* use: system memory */
	s[6] = 0x03;			/* error correction: none */
	if (total / KIB < 0x80000000ULL) {
		put32(s + 7, (uint32_t)(total / KIB));
	} else {
		put32(s + 7, 0x80000000u);	/* see the extended capacity */
		put64(s + 0x0F, total);
	}
	put16(s + 0x0B, 0xFFFE);	/* no memory error information */
	put16(s + 0x0D, 1);		/* one memory device */
	sm_end(w);
}

static void sm_mem_device(struct sm_writer *w, uint64_t total)
{
	uint64_t mib = total / MIB;
	uint8_t *s = sm_begin(w, 17, T17_LEN, 0);

	put16(s + 4, 16 << 8);		/* the type 16 array */
	put16(s + 6, 0xFFFE);
	put16(s + 8, 64);		/* total and data width in bits */
	put16(s + 0x0A, 64);
	if (mib < 0x7FFF) {
		put16(s + 0x0C, (uint16_t)mib);
	} else {
		put16(s + 0x0C, 0x7FFF);	/* see the extended size */
		put32(s + 0x1C, (uint32_t)mib);
	}
	s[0x0E] = 0x09;			/* form factor: DIMM */
	s[0x10] = sm_str(w, "DIMM 0");
	s[0x12] = 0x07;			/* type: RAM */
	put16(s + 0x13, 1u << 1);	/* type detail: other */
	s[0x17] = sm_str(w, SMBIOS_VENDOR);
	sm_end(w);
}

static void sm_mem_mapped(struct sm_writer *w, const struct smbios_mem_range *r, unsigned index)
{
	uint64_t end = r->start + r->size - 1;	/* inclusive */
	uint8_t *s = sm_begin(w, 19, T19_LEN, (uint8_t)index);

	if (end / KIB < 0xFFFFFFFFULL) {
		put32(s + 4, (uint32_t)(r->start / KIB));
		put32(s + 8, (uint32_t)(end / KIB));
	} else {
		put32(s + 4, 0xFFFFFFFFu);	/* see the extended addresses */
		put32(s + 8, 0xFFFFFFFFu);
		put64(s + 0x0F, r->start);
		put64(s + 0x17, end);
	}
	put16(s + 0x0C, 16 << 8);
	s[0x0E] = 1;			/* partition width: one device */
	sm_end(w);
}

static void sm_table(struct sm_writer *w, const struct smbios_spec *spec)
{
	uint64_t total = sm_total_ram(spec);

	sm_bios(w);
	sm_system(w, spec);
	sm_chassis(w);
	for (unsigned i = 0; i < spec->ncpus; i++)
		sm_cpu(w, i);
	sm_mem_array(w, total);
	sm_mem_device(w, total);
	for (unsigned i = 0; i < spec->nmem; i++)
		sm_mem_mapped(w, &spec->mem[i], i);
	sm_begin(w, 32, T32_LEN, 0);	/* boot status 0: no errors */
	sm_end(w);
	sm_begin(w, 127, T127_LEN, 0);
	sm_end(w);
}

static int sm_spec_check(const struct smbios_spec *spec)
{
	if (spec->ncpus < 1 || spec->ncpus > MAX_VCPUS || spec->nmem < 1 ||
	    spec->nmem > SMBIOS_MAX_MEM_RANGES)
		return -EINVAL;
	for (unsigned i = 0; i < spec->nmem; i++) {
		const struct smbios_mem_range *r = &spec->mem[i];
		if (r->size == 0 || r->size > MEM_MAX_SIZE || r->start > UINT64_MAX - r->size)
			return -EINVAL;
	}
	return 0;
}

int smbios_build(uint8_t *buf, size_t cap, uint64_t base, const struct smbios_spec *spec)
{
	int r = sm_spec_check(spec);
	if (r)
		return r;
	if (cap < SMBIOS_TABLE_OFFSET)
		return -ENOSPC;
	struct sm_writer w = { .buf = buf + SMBIOS_TABLE_OFFSET,
			       .cap = cap - SMBIOS_TABLE_OFFSET };
	sm_table(&w, spec);
	if (w.overflow || w.len > INT_MAX - SMBIOS_TABLE_OFFSET)
		return -ENOSPC;

	memset(buf, 0, SMBIOS_TABLE_OFFSET);
	memcpy(buf, "_SM3_", 5);
	buf[6] = SM3_ENTRY_LEN;
	buf[7] = 3;			/* SMBIOS 3.0.0 */
	buf[8] = 0;
	buf[9] = 0;
	buf[0x0A] = 1;			/* entry point revision: 3.0 */
	put32(buf + 0x0C, (uint32_t)w.len);	/* maximum table size */
	put64(buf + 0x10, base + SMBIOS_TABLE_OFFSET);
	buf[5] = acpi_checksum(buf, SM3_ENTRY_LEN);	/* the same byte sum */
	return (int)(SMBIOS_TABLE_OFFSET + w.len);
}

int smbios_load(struct guest_mem *gm, unsigned ncpus, const uint8_t *uuid)
{
	struct smbios_spec spec = { .ncpus = ncpus };
	uint8_t *dst = gmem_ptr(gm, BOOT_SMBIOS_ADDR, BOOT_SMBIOS_MAX);

	if (uuid)
		memcpy(spec.uuid, uuid, SMBIOS_UUID_LEN);
	for (unsigned i = 0; i < gmem_region_count(gm) && spec.nmem < SMBIOS_MAX_MEM_RANGES; i++) {
		const struct gmem_region *r = gmem_region(gm, i);
		spec.mem[spec.nmem++] = (struct smbios_mem_range){ r->gpa, r->size };
	}
	int n = dst ? smbios_build(dst, BOOT_SMBIOS_MAX, BOOT_SMBIOS_ADDR, &spec) : -ENOSPC;
	if (n < 0)
		log_error("boot: no room for the SMBIOS tables at %#llx (%u vCPUs): %s",
			  (unsigned long long)BOOT_SMBIOS_ADDR, ncpus, strerror(-n));
	return n < 0 ? n : 0;
}
