/* Shared helpers of the boot unit tests: crafted kernels in temp files and
 * guest RAM as a wrapped host buffer. */
#ifndef MINIVMM_TESTS_BOOT_HELPERS_H
#define MINIVMM_TESTS_BOOT_HELPERS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/boot_internal.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

struct test_ram {
	void *buf;
	uint64_t size;
	struct guest_mem *gm;
};

static inline void ram_init(struct test_ram *r, uint64_t size)
{
	r->size = size;
	r->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(r->buf, MAP_FAILED);
	r->gm = gmem_wrap(r->buf, size);
	ck_assert_ptr_nonnull(r->gm);
}

/* The byte sum every firmware table checksum makes zero. */
static inline uint8_t byte_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

static inline void ram_fini(struct test_ram *r)
{
	gmem_destroy(r->gm);
	munmap(r->buf, r->size);
}

static inline uint8_t *ram_at(struct test_ram *r, uint64_t gpa)
{
	return (uint8_t *)r->buf + gpa;
}

/* Write data to a fresh temp file; the path is in path (free with unlink). */
static inline void tmp_write(char path[64], const void *data, size_t size)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, 64, "%.40s/mvboot-XXXXXX", dir);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
	close(fd);
}

static inline void assert_error_has(const char *needle)
{
	const char *e = log_last_error();
	ck_assert_msg(strstr(e, needle), "error \"%s\" lacks \"%s\"", e, needle);
}

/* A minimal bzImage: setup_sects sectors of setup + boot sector, then a
 * payload whose bytes are (i * 7) & 0xff. */
struct bz_params {
	uint8_t setup_sects;	/* as written in the header (0 means 4) */
	uint16_t version;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;	/* 0: twice the payload */
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t payload_size;
};

static inline struct bz_params bz_default(void)
{
	return (struct bz_params){
		.setup_sects = 4, .version = 0x020f, .xloadflags = XLF_KERNEL_64,
		.relocatable = 1, .kernel_alignment = 0x200000, .pref_address = 0x1000000,
		.cmdline_size = 2047, .initrd_addr_max = 0x7fffffff, .payload_size = 64 * 1024,
	};
}

static inline uint8_t *bz_build(const struct bz_params *p, size_t *size)
{
	unsigned sects = p->setup_sects ? p->setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	*size = setup + p->payload_size;
	uint8_t *img = calloc(1, *size);
	struct setup_header h = { 0 };

	h.setup_sects = p->setup_sects;
	h.syssize = p->payload_size / 16;
	h.boot_flag = SETUP_BOOT_FLAG;
	h.jump = 0x66eb;	/* jmp to 0x268: the header ends there */
	h.header = SETUP_HDR_MAGIC;
	h.version = p->version;
	h.relocatable_kernel = p->relocatable;
	h.kernel_alignment = p->kernel_alignment;
	h.xloadflags = p->xloadflags;
	h.cmdline_size = p->cmdline_size;
	h.initrd_addr_max = p->initrd_addr_max;
	h.pref_address = p->pref_address;
	h.init_size = p->init_size ? p->init_size : 2 * p->payload_size;
	memcpy(img + SETUP_HDR_OFFSET, &h, sizeof(h));
	for (size_t i = 0; i < p->payload_size; i++)
		img[setup + i] = (uint8_t)(i * 7);
	return img;
}

static inline void bz_file(char path[64], const struct bz_params *p)
{
	size_t size;
	uint8_t *img = bz_build(p, &size);
	tmp_write(path, img, size);
	free(img);
}

#endif
