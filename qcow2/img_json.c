/* JSON strings as qemu-img writes them (so `--output=json` of info/check
 * can be compared byte for byte): the output is pure ASCII; quotes,
 * backslashes and control characters are escaped, every other non-ASCII
 * code point is written as \uXXXX (surrogate pairs beyond the BMP), and
 * bytes that are not valid UTF-8 become U+FFFD. File names are bytes, not
 * text: a name with a quote, a backslash or a newline must still give
 * valid JSON. */
#include "qcow2/img_cli.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static bool is_noncharacter_or_surrogate(uint32_t cp)
{
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe ||
	       (cp >= 0xd800 && cp <= 0xdfff);
}

/* Decode one (modified) UTF-8 sequence at S; returns the code point or -1
 * if it is invalid, and sets *LEN to the bytes consumed (at least 1): an
 * invalid sequence consumes its lead byte and the continuation bytes that
 * follow it, up to the length the lead byte announced. "\xC0\x80" is
 * accepted as U+0000, as in QEMU's modified UTF-8. */
static int32_t decode_utf8(const unsigned char *s, unsigned *len)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000};
	unsigned char b = s[0];
	unsigned n = 0;

	*len = 1;
	if (b < 0x80)
		return b;
	if (b >= 0xfe || (b & 0x40) == 0) /* impossible byte / stray continuation */
		return -1;
	while (b & (0x80u >> n))
		n++; /* 2..6 bytes announced */
	uint32_t cp = b & (0x7fu >> n);
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
		*len = i + 1;
	}
	if (n == 2 && cp == 0)
		return 0; /* modified UTF-8's NUL */
	if (cp < min_cp[n] || cp > 0x10ffff || is_noncharacter_or_surrogate(cp))
		return -1;
	return (int32_t)cp;
}

void img_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		unsigned len;
		int32_t cp = decode_utf8(p, &len);
		p += len;
		switch (cp) {
		case '"':
			fputs("\\\"", out);
			continue;
		case '\\':
			fputs("\\\\", out);
			continue;
		case '\b':
			fputs("\\b", out);
			continue;
		case '\f':
			fputs("\\f", out);
			continue;
		case '\n':
			fputs("\\n", out);
			continue;
		case '\r':
			fputs("\\r", out);
			continue;
		case '\t':
			fputs("\\t", out);
			continue;
		}
		if (cp < 0)
			cp = 0xfffd;
		if (cp > 0xffff) {
			uint32_t v = (uint32_t)cp - 0x10000;
			fprintf(out, "\\u%04X\\u%04X", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
		} else if (cp < 0x20 || cp >= 0x7f) {
			fprintf(out, "\\u%04X", (unsigned)cp);
		} else {
			fputc(cp, out);
		}
	}
	fputc('"', out);
}
