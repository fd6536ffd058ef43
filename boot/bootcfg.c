/* Helpers shared by the boot configuration parsers. */
#include "boot/bootcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bootcfg_append(char *buf, size_t cap, const char *s, bool space)
{
	size_t have = strlen(buf), add = strlen(s);
	bool sep = space && have && add;
	if (have + sep + add + 1 > cap)
		return -E2BIG;
	if (sep)
		buf[have++] = ' ';
	memcpy(buf + have, s, add + 1);
	return 0;
}

int bootcfg_file_set(struct bootcfg_file *f, const char *default_dev, const char *text)
{
	const char *path = text;
	const char *dev = default_dev ? default_dev : "";
	size_t dev_len = strlen(dev);
	if (text[0] == '(') {
		const char *close = strchr(text, ')');
		if (!close)
			return -EINVAL;
		dev = text + 1;
		dev_len = (size_t)(close - dev);
		path = close + 1;
	}
	/* A relative path gets a '/' in front: it must fit too. */
	if (dev_len >= sizeof(f->dev) || strlen(path) + (path[0] != '/') >= sizeof(f->path))
		return -EINVAL;
	memcpy(f->dev, dev, dev_len);
	f->dev[dev_len] = '\0';
	snprintf(f->path, sizeof(f->path), "%s%s", path[0] == '/' ? "" : "/", path);
	return 0;
}

static int parse_num(const char *s, const char **end, unsigned long *out)
{
	char *e;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &e, 10);
	if (errno || *out > 4096)
		return -EINVAL;
	*end = e;
	return 0;
}

int bootcfg_dev_partition(const char *dev, enum bootcfg_devsyntax syntax)
{
	const char *p;
	unsigned long disk, part;

	if (strncmp(dev, "hd", 2) != 0 || parse_num(dev + 2, &p, &disk))
		return -EINVAL;
	if (*p == '\0')
		return disk == 0 ? 0 : -ENODEV;
	if (*p++ != ',')
		return -EINVAL;
	if (syntax == BOOTCFG_DEV_GRUB2) {
		if (!strncmp(p, "gpt", 3))
			p += 3;
		else if (!strncmp(p, "msdos", 5))
			p += 5;
	}
	if (parse_num(p, &p, &part) || *p != '\0')
		return -EINVAL;
	if (disk != 0)
		return -ENODEV;
	if (syntax == BOOTCFG_DEV_GRUB1)
		part++;
	return part == 0 ? -EINVAL : (int)part;
}

bool bootcfg_next_line(const char *text, size_t len, size_t *pos, char *line, size_t cap)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl ? 1 : 0);
	size_t copy = n < cap - 1 ? n : cap - 1;
	memcpy(line, start, copy);
	line[copy] = '\0';
	/* A NUL inside the line ends it: the rest is not text. */
	return true;
}

char *bootcfg_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* grubenv values escape '\\' and newline with a backslash. A NUL ends
 * the value (the rest of the line is not text). */
static void grubenv_unescape(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len && s[i] && n + 1 < cap; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1])
			i++;
		out[n++] = s[i];
	}
	out[n] = '\0';
}

bool bootcfg_grubenv_next(const char *env, size_t len, size_t *pos, char *name, size_t ncap,
			  char *value, size_t vcap)
{
	while (env && *pos < len) {
		const char *line = env + *pos;
		const char *nl = memchr(line, '\n', len - *pos);
		size_t n = nl ? (size_t)(nl - line) : len - *pos;
		*pos += n + (nl ? 1 : 0);
		const char *eq = memchr(line, '=', n);
		size_t nlen = eq ? (size_t)(eq - line) : 0;
		if (line[0] == '#' || !nlen || nlen >= ncap || memchr(line, '\0', nlen))
			continue;
		memcpy(name, line, nlen);
		name[nlen] = '\0';
		grubenv_unescape(eq + 1, n - nlen - 1, value, vcap);
		return true;
	}
	return false;
}

int bootcfg_grubenv_get(const char *env, size_t len, const char *name, char *value, size_t cap)
{
	if (!cap)
		return -EINVAL;
	char got[128], *v = malloc(cap);
	size_t pos = 0;
	int r = -ENOENT;
	if (!v)
		return -ENOMEM;
	/* As GRUB's load_env sets them in order: the last of a name wins. */
	while (bootcfg_grubenv_next(env, len, &pos, got, sizeof(got), v, cap))
		if (strcmp(got, name) == 0) {
			memcpy(value, v, strlen(v) + 1);
			r = 0;
		}
	free(v);
	return r;
}
