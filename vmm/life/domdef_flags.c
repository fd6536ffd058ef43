/* `define --name N --disk ... --bridge ...`: the document a user would
 * write, from flags, then read by domdef_from_xml like any other. */
#include "vmm/life/domdef.h"
#include "vmm/life/domdef_internal.h"

#include "devices/virtio/disk.h"
#include "devices/virtio/net_mac.h"
#include "vmm/cli.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '&'    ? "&amp;"
				: *s == '<'  ? "&lt;"
				: *s == '>'  ? "&gt;"
				: *s == '\'' ? "&apos;"
					     : NULL;
		if (e)
			fputs(e, f);
		else
			fputc(*s, f);
	}
}

static void put_elem(FILE *f, const char *indent, const char *name, const char *text)
{
	fprintf(f, "%s<%s>", indent, name);
	put_esc(f, text);
	fprintf(f, "</%s>\n", name);
}

static int flag_disk(FILE *f, const char *spec, unsigned index)
{
	char *s = strdup(spec), real[PATH_MAX];
	struct disk_opts o = {0};
	int r = s ? disk_opts_parse(s, &o) : -ENOMEM;
	if (!r && !realpath(o.path, real)) {
		r = -errno;
		log_error("--disk %s: %s", o.path, strerror(errno));
	}
	if (!r && o.format == DISK_FORMAT_AUTO) { /* read once here, then stored */
		int fd = open(real, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : disk_probe_format(fd, real);
		if (fd < 0)
			log_error("--disk %s: %s", real, strerror(errno));
		else
			close(fd);
		if (r >= 0)
			o.format = (enum disk_format)r, r = 0;
	}
	if (!r) {
		fprintf(f,
			"    <disk type='file' device='disk'>\n"
			"      <driver name='qemu' type='%s'/>\n      <source file='",
			o.format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw");
		put_esc(f, real);
		fprintf(f, "'/>\n      <target dev='vd%c' bus='virtio'/>\n%s    </disk>\n",
			'a' + index, o.readonly ? "      <readonly/>\n" : "");
	}
	free(s);
	return r;
}

/* "NAME[,mac=MAC]" of --bridge or --network. */
static int flag_nic(FILE *f, const char *spec, bool network)
{
	const char *flag = network ? "--network" : "--bridge";
	const char *comma = strchr(spec, ','), *why = NULL;
	size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
	uint8_t mac[6];
	char name[64], m[NET_MAC_STRLEN];
	if (len == 0 || len >= sizeof(name)) {
		log_error("%s '%s': expected NAME[,mac=MAC]", flag, spec);
		return -EINVAL;
	}
	memcpy(name, spec, len);
	name[len] = '\0';
	if (comma && (strncmp(comma, ",mac=", 5) || net_mac_parse(comma + 5, mac, &why))) {
		log_error("%s '%s': %s", flag, spec, why ? why : "expected NAME[,mac=MAC]");
		return -EINVAL;
	}
	fprintf(f, "    <interface type='%s'>\n", network ? "network" : "bridge");
	if (comma)
		fprintf(f, "      <mac address='%s'/>\n", net_mac_format(mac, m));
	fprintf(f, "      <source %s='", network ? "network" : "bridge");
	put_esc(f, name);
	fprintf(f, "'/>\n      <model type='virtio'/>\n    </interface>\n");
	return 0;
}

static int flags_doc(const struct dom_flags *fl, FILE *f)
{
	uint64_t mem = CLI_DEFAULT_MEMORY;
	unsigned cpus = 1;
	int r = 0;
	if (!fl->name || !domdef_name_ok(fl->name)) {
		log_error("define: --name '%s': 1-64 of A-Z a-z 0-9 . _ + -, not starting with . "
			  "or -",
			  fl->name ? fl->name : "");
		return -EINVAL;
	}
	if ((fl->memory && cli_parse_size("--memory", fl->memory, &mem)) ||
	    (fl->cpus && cli_parse_uint("--cpus", fl->cpus, 1, DOM_VCPUS_MAX, &cpus)))
		return -EINVAL;
	fprintf(f, "<domain type='kvm'>\n");
	put_elem(f, "  ", "name", fl->name);
	if (dom_flags_metadata(f, fl->hostname, fl->ssh_key, fl->user_data))
		return -EINVAL;
	fprintf(f, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", (mem + 1023) / 1024);
	fprintf(f, "  <vcpu placement='static'>%u</vcpu>\n  <os>\n", cpus);
	fprintf(f, "    <type arch='x86_64'>hvm</type>\n");
	if (fl->kernel) {
		put_elem(f, "    ", "kernel", fl->kernel);
		if (fl->initrd)
			put_elem(f, "    ", "initrd", fl->initrd);
		if (fl->cmdline)
			put_elem(f, "    ", "cmdline", fl->cmdline);
	} else {
		fprintf(f, "    <boot dev='hd'/>\n");
	}
	fprintf(f, "  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
		   "  <cpu mode='host-passthrough'/>\n  <clock offset='utc'/>\n"
		   "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
		   "  <on_crash>destroy</on_crash>\n  <devices>\n");
	for (unsigned i = 0; i < fl->ndisks && !r; i++)
		r = flag_disk(f, fl->disks[i], i);
	for (unsigned i = 0; i < fl->nnics && !r; i++)
		r = flag_nic(f, fl->nics[i], fl->nic_is_network[i]);
	fprintf(f, "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
		   "    <console type='pty'>\n      <target type='serial' port='0'/>\n"
		   "    </console>\n  </devices>\n</domain>\n");
	return r;
}

int domdef_from_flags(const struct dom_flags *fl, struct domdef *d)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	memset(d, 0, sizeof(*d));
	if (!f)
		return -ENOMEM;
	int r = flags_doc(fl, f);
	if (fclose(f) && !r)
		r = -ENOMEM;
	if (!r)
		r = domdef_from_xml(buf, size, "(flags)", d);
	free(buf);
	return r;
}
