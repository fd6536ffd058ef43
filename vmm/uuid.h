/* UUIDs as text (RFC 9562 8-4-4-4-12 hex) and the stable default a VM
 * gets without --uuid. Bytes are kept in text order. */
#ifndef MINIVMM_UUID_H
#define MINIVMM_UUID_H

#include <stdint.h>

#define UUID_LEN 16
#define UUID_STRLEN 37	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL */

/* "00112233-4455-6677-8899-aabbccddeeff" (hex digits either case) into
 * out. 0 or -EINVAL. */
int uuid_parse(const char *text, uint8_t out[UUID_LEN]);

/* Lower-case text into buf; returns buf. */
char *uuid_format(const uint8_t uuid[UUID_LEN], char buf[UUID_STRLEN]);

/* A UUID that depends only on key: version 8 (RFC 9562's custom layout),
 * variant 10, the other 122 bits from two 64-bit FNV-1a hashes, of
 * "KEY\nuuid-hi" and "KEY\nuuid-lo" (big-endian, in that order). */
void uuid_derive(const char *key, uint8_t out[UUID_LEN]);

#endif
