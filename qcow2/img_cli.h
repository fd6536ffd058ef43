/* `minivmm img`: create / info / check, laid out like qemu-img.
 *
 *   img create [-f qcow2|raw] [-b BACKING -F FMT] [-o k=v,...] FILE [SIZE]
 *   img info [-U] [--json | --output=json] FILE
 *   img check [-U] [-r leaks|all] [--output=json] FILE
 *
 * -U (--force-share) skips QEMU-compatible image locking, as in qemu-img.
 * argv[0] is "img". Returns the process exit status (check: 0 clean,
 * 2 corruptions, 3 leaks only, 1 internal error, 63 unsupported format). */
#ifndef MINIVMM_QCOW2_IMG_CLI_H
#define MINIVMM_QCOW2_IMG_CLI_H

#include <stdint.h>
#include <stdio.h>

int img_main(int argc, char **argv);

/* "20G", "512K", "1048576" (1024-based suffixes K M G T P E); -EINVAL if bad. */
int img_parse_size(const char *s, uint64_t *out);
/* qemu-img's human size: "196 KiB", "1 GiB", "1.5 GiB". */
void img_format_size(uint64_t bytes, char *buf, unsigned len);
/* Write S as a quoted JSON string the way qemu-img does (ASCII only:
 * \" \\ \b \f \n \r \t, \uXXXX for other control and non-ASCII
 * characters, U+FFFD for bytes that are not UTF-8). */
void img_json_string(FILE *out, const char *s);

#endif
