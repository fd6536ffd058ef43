/* The test guest's own constants, shared by its C and assembly files. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

/* GDT selectors (head.S builds the GDT). */
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA   0x18

/* Where the AP real-mode trampoline is copied: below 1 MiB, 4 KiB aligned
 * (the SIPI vector is its page number), in the e820 RAM below the EBDA. */
#define AP_TRAMP_ADDR  0x8000
#define AP_STACK_SIZE  4096
#define MAX_CPUS       64

/* How the guest was entered (passed to guest_main). */
#define BOOT_PVH      1	/* PVH 32-bit entry, info = hvm_start_info */
#define BOOT_LINUX32  2	/* 32-bit Linux boot protocol, info = boot_params */
#define BOOT_LINUX64  3	/* 64-bit Linux boot protocol, info = boot_params */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* Exit codes the guest chooses itself (exit=N uses N). */
enum guest_exit {
	GUEST_EXIT_OK = 0,
	GUEST_EXIT_PWRBTN_FAILED = 246,	/* no PM1a event block to arm the power button */
	GUEST_EXIT_VNET_FAILED = 247,	/* a hostile virtio-net chain or a frame went wrong */
	GUEST_EXIT_VBLK_FAILED = 248,	/* a hostile virtio-blk request got a wrong answer */
	GUEST_EXIT_EXCEPTION = 249,	/* a CPU exception reached the guest */
	GUEST_EXIT_PANIC = 250,		/* boot information unusable */
	GUEST_EXIT_SMP_FAILED = 251,	/* not every AP came online */
	GUEST_EXIT_RESET_FAILED = 252,	/* still running after the i8042 reset */
	GUEST_EXIT_POWEROFF_FAILED = 253, /* still running after ACPI S5 */
	GUEST_EXIT_BAD_CMDLINE = 254,	/* a malformed verb (exit=300, exit=x) */
};

/* Write the code to the debug-exit port; halts for good if nothing stops us. */
__attribute__((noreturn)) void guest_exit(unsigned int code);

/* Busy-wait at least us microseconds (TSC based, assumes <= 4 GHz). */
void delay_us(uint64_t us);
/* TSC ticks to spin for about this many seconds (>= s at <= 4 GHz). */
uint64_t tsc_ticks_for_seconds(unsigned int s);

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif

#endif
