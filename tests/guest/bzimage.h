/* Wrapping a 64-bit ELF guest (linked at 1 MiB, 64-bit entry at 1 MiB +
 * 0x200) into a bzImage-style file: setup sectors carrying a real boot
 * protocol 2.15 setup header (and optional real-mode code), then the flat
 * payload that a loader copies to 1 MiB, zero-padded to syssize * 16 bytes.
 * Host-side build tool code. */
#ifndef GUEST_BZIMAGE_H
#define GUEST_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define BZ_LOAD_ADDR       0x100000u	/* pref_address = code32_start */
#define BZ_ENTRY64_OFFSET  0x200u	/* 64-bit entry: payload + 0x200 */
#define BZ_PROTOCOL        0x020f
#define BZ_SETUP_CODE_OFF  0x280u	/* where the real-mode code goes */
#define BZ_CMDLINE_SIZE    2047u	/* the guest copies 2048 bytes with NUL */
#define BZ_MAX_PAYLOAD     (16u << 20)

/* Builds the wrapper from elf (an ELF64 x86-64 executable whose PT_LOAD
 * segments start at BZ_LOAD_ADDR and whose e_entry is BZ_LOAD_ADDR +
 * BZ_ENTRY64_OFFSET) and setup_code (real-mode code placed at file offset
 * BZ_SETUP_CODE_OFF, reached by the jump at 0x200; may be empty). On
 * success *out is a malloc'd image of *out_len bytes. Returns 0 or -errno
 * (-EINVAL for a malformed ELF, -EFBIG for one too large) after log_error(). */
int bzimage_build(const uint8_t *elf, size_t elf_len, const uint8_t *setup_code,
		  size_t setup_code_len, uint8_t **out, size_t *out_len);

#endif
