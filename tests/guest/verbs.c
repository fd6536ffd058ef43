/* Parsing the guest's command line into verbs (see verbs.h). */
#include "console.h"
#include "guest.h"
#include "verbs.h"

/* "exit=N" with N a decimal 0..255; -1 if malformed. */
static int parse_exit(const char *s, size_t len)
{
	unsigned int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v <= 255 ? (int)v : -1;
}

static bool word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(w, name, len) == 0;
}

int verbs_parse(const char *cmdline, struct verbs *v)
{
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t len = (size_t)(p - w);

		if (word_is(w, len, "smp")) {
			v->smp = true;
		} else if (word_is(w, len, "reset")) {
			v->reset = true;
		} else if (word_is(w, len, "poweroff")) {
			v->poweroff = true;
		} else if (word_is(w, len, "probe")) {
			v->probe = true;
		} else if (word_is(w, len, "vblk")) {
			v->vblk = true;
		} else if (word_is(w, len, "vnet")) {
			v->vnet = true;
		} else if (word_is(w, len, "vnet-mrg")) {
			v->vnet_mrg = true;
		} else if (word_is(w, len, "pwrbtn")) {
			v->pwrbtn = true;
		} else if (word_is(w, len, "tick")) {
			v->tick = true;
		} else if (word_is(w, len, "echo")) {
			v->echo = true;
		} else if (len >= 5 && memcmp(w, "exit=", 5) == 0) {
			int code = parse_exit(w + 5, len - 5);
			if (code < 0) {
				kprintf("guest: bad verb \"exit=...\": want exit=0..255\n");
				return -1;
			}
			v->has_exit = true;
			v->exit_code = (unsigned int)code;
		}
	}
	return 0;
}
