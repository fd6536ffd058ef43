/* The --disk option's syntax, apart from disk.c so that the command line
 * parser (and its tests) need no backend. */
#include "devices/virtio/disk.h"

#include "vmm/log.h"

#include <errno.h>
#include <string.h>

static int parse_option(char *opt, struct disk_opts *o)
{
	if (!strcmp(opt, "readonly") || !strcmp(opt, "ro"))
		o->readonly = true;
	else if (!strcmp(opt, "direct"))
		o->direct = true;
	else if (!strcmp(opt, "format=raw"))
		o->format = DISK_FORMAT_RAW;
	else if (!strcmp(opt, "format=qcow2"))
		o->format = DISK_FORMAT_QCOW2;
	else {
		log_error("--disk: unknown option '%s' (expected readonly, direct, format=raw|qcow2)", opt);
		return -EINVAL;
	}
	return 0;
}

int disk_opts_parse(char *spec, struct disk_opts *o)
{
	char *save = NULL, *tok;

	memset(o, 0, sizeof(*o));
	o->path = spec[0] == ',' ? NULL : strtok_r(spec, ",", &save);
	if (!o->path || !*o->path) {
		log_error("--disk: needs a file name: FILE[,readonly][,format=raw|qcow2]");
		return -EINVAL;
	}
	while ((tok = strtok_r(NULL, ",", &save)))
		if (parse_option(tok, o))
			return -EINVAL;
	return 0;
}
