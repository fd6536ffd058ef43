/* mkbzimage ELF SETUP16.BIN OUTPUT: the build-time tool that wraps the test
 * guest into guest.bzimage (see bzimage.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "vmm/log.h"

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = NULL;

	if (!f) {
		log_error("mkbzimage: %s: %s", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		uint8_t *nb = realloc(b, cap);
		if (!nb) {
			free(b);
			fclose(f);
			log_error("mkbzimage: %s: out of memory", path);
			return -ENOMEM;
		}
		b = nb;
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		log_error("mkbzimage: %s: read error", path);
		return -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		log_error("mkbzimage: %s: %s", path, strerror(errno));
		return -errno;
	}
	size_t n = fwrite(buf, 1, len, f);
	if (fclose(f) != 0 || n != len) {
		log_error("mkbzimage: %s: write error", path);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *elf = NULL, *setup = NULL, *img = NULL;
	size_t elf_len, setup_len, img_len;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage GUEST64.ELF SETUP16.BIN OUTPUT\n");
		return 2;
	}
	int err = read_file(argv[1], &elf, &elf_len);
	if (!err)
		err = read_file(argv[2], &setup, &setup_len);
	if (!err)
		err = bzimage_build(elf, elf_len, setup, setup_len, &img, &img_len);
	if (!err)
		err = write_file(argv[3], img, img_len);
	free(elf);
	free(setup);
	free(img);
	return err ? 1 : 0;
}
