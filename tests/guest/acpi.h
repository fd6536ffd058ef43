/* What the test guest needs from the ACPI tables: the CPUs of the MADT and
 * the PM1a control port plus \_S5 sleep type for power-off. */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdint.h>
#include <stdbool.h>

#include "guest.h"

struct acpi_info {
	uint64_t rsdp;			/* 0 if none was found */
	unsigned int ncpus;		/* enabled processor entries in the MADT */
	uint8_t apic_ids[MAX_CPUS];
	uint64_t lapic_base;		/* from the MADT header */
	uint16_t pm1a_cnt;		/* 0 if the FADT gives none */
	uint16_t pm1a_evt;		/* PM1a_EVT_BLK (PM1_STS, PM1_EN); 0 if none */
	uint8_t slp_typ_s5;
	bool s5_from_dsdt;		/* false: ACPI_SLP_TYP_S5 assumed */
};

/* Finds the RSDP in the BIOS area (falling back to rsdp_hint, the address
 * a loader passed, if non-zero), validates every checksum on the way and
 * fills info. Returns 0, or -1 after printing why. */
int acpi_probe(uint64_t rsdp_hint, struct acpi_info *info);

/* The pure parsers acpi_probe() uses (unit-tested on the host). */
/* Adds the MADT's enabled processors (t: the whole table, len checked). */
void acpi_madt_parse(const uint8_t *t, uint32_t len, struct acpi_info *info);
/* The SLP_TYP value of \_S5 in a DSDT (whole table), or -1 if not found. */
int acpi_dsdt_s5(const uint8_t *t, uint32_t len);

#endif
