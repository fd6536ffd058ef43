/* UUID text and the derived default (rule in uuid.h). */
#include "vmm/uuid.h"
#include "vmm/fnv.h"
#include "vmm/hex.h"

#include <errno.h>
#include <stdio.h>

int uuid_parse(const char *text, uint8_t out[UUID_LEN])
{
	const char *p = text;

	for (unsigned i = 0; i < UUID_LEN; i++) {
		/* dashes after bytes 4, 6, 8 and 10 */
		if ((i == 4 || i == 6 || i == 8 || i == 10) && *p++ != '-')
			return -EINVAL;
		int hi = hex_digit_value(p[0]), lo = hi < 0 ? -1 : hex_digit_value(p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	return *p ? -EINVAL : 0;
}

char *uuid_format(const uint8_t u[UUID_LEN], char buf[UUID_STRLEN])
{
	snprintf(buf, UUID_STRLEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
	return buf;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

void uuid_derive(const char *key, uint8_t out[UUID_LEN])
{
	uint64_t h = fnv1a64(FNV1A64_INIT, key);

	put_be64(out, fnv1a64(h, "\nuuid-hi"));
	put_be64(out + 8, fnv1a64(h, "\nuuid-lo"));
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x80);	/* version 8 */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);	/* variant 10 */
}
