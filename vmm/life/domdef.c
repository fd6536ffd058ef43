/* struct domdef around the XML reader: defaults and generated values written
 * back into the document, the document from command-line flags, names. */
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
#include <sys/random.h>
#include <unistd.h>

static void random_bytes(uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR) /* no getrandom: still unique enough per process */
			for (; got < len; got++)
				buf[got] = (uint8_t)(rand() ^ getpid());
	}
}

void dom_random_mac(uint8_t mac[6])
{
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	random_bytes(mac + 3, 3);
}

int dom_uuid_parse(const char *text, char out[37])
{
	int n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '-')
			continue;
		if (n == 32 || !strchr("0123456789abcdefABCDEF", *p))
			return -EINVAL;
		if (n == 8 || n == 12 || n == 16 || n == 20)
			*out++ = '-';
		*out++ = (char)(*p | 32);
		n++;
	}
	*out = '\0';
	return n == 32 ? 0 : -EINVAL;
}

static void random_uuid(char out[37])
{
	uint8_t b[16];
	char hex[33];
	random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	dom_uuid_parse(hex, out);
}

int dom_set_kib(struct xml_node *n, uint64_t kib)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, kib);
	return xml_set_attr(n, "unit", "KiB") ?: xml_set_text(n, v);
}

static size_t index_of(const struct xml_node *root, const char *name)
{
	for (size_t i = 0; i < root->nkids; i++)
		if (!strcmp(root->kids[i]->name, name))
			return i;
	return root->nkids;
}

/* Insert <NAME>TEXT</NAME> after the child AFTER (or at the end). */
static struct xml_node *insert_after(struct xml_node *root, const char *after, const char *name,
				     const char *text)
{
	struct xml_node *n = xml_new(name, text);
	size_t at = index_of(root, after);
	if (!n || xml_insert(root, at < root->nkids ? at + 1 : at, n)) {
		xml_free(n);
		return NULL;
	}
	return n;
}

int dom_complete(struct dom_ctx *c)
{
	struct domdef *d = c->d;
	struct xml_node *root = d->xml, *cur = xml_child(root, "currentMemory");
	if (!d->uuid[0]) {
		d->uuid_generated = true;
		random_uuid(d->uuid);
		if (!insert_after(root, "name", "uuid", d->uuid))
			return -ENOMEM;
	}
	if (!cur || d->current_kib > d->memory_kib) {
		d->current_kib = d->memory_kib; /* libvirt's rule */
		if (!cur && !(cur = insert_after(root, "memory", "currentMemory", NULL)))
			return -ENOMEM;
		if (dom_set_kib(cur, d->current_kib))
			return -ENOMEM;
	} else if (d->current_kib < d->memory_kib) {
		dom_warn(c, cur, "<currentMemory> below <memory>",
			 "minivmm has no balloon: the guest gets all of <memory>");
	}
	if (!xml_child(root, "vcpu")) {
		struct xml_node *v = insert_after(root, "currentMemory", "vcpu", "1");
		if (!v || xml_set_attr(v, "placement", "static"))
			return -ENOMEM;
	}
	return 0;
}

bool domdef_name_ok(const char *name)
{
	size_t len = strlen(name);
	return len >= 1 && len <= DOM_NAME_MAX && name[0] != '.' && name[0] != '-' &&
	       name[strspn(name,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")] ==
		   '\0';
}

const char *domdef_action_name(enum dom_action a)
{
	static const char *const names[] = {"destroy", "restart", "preserve", "other"};
	return names[a];
}

const char *domdef_format_name(enum dom_disk_format f)
{
	return f == DOM_FMT_QCOW2 ? "qcow2" : "raw";
}

int domdef_to_xml(const struct domdef *d, char **out) { return xml_format(d->xml, out); }

int domdef_set_uuid(struct domdef *d, const char *uuid)
{
	struct xml_node *n = xml_child(d->xml, "uuid");
	char canon[37];
	if (!n || dom_uuid_parse(uuid, canon))
		return -EINVAL;
	int r = xml_set_text(n, canon);
	if (!r)
		strcpy(d->uuid, canon);
	return r;
}

int domdef_set_mac(struct domdef *d, unsigned i, const uint8_t mac[6])
{
	struct xml_node *devs = xml_child(d->xml, "devices");
	unsigned seen = 0;
	char m[NET_MAC_STRLEN];
	for (size_t k = 0; devs && i < d->nnics && k < devs->nkids; k++) {
		if (strcmp(devs->kids[k]->name, "interface") || seen++ != i)
			continue;
		struct xml_node *n = xml_child(devs->kids[k], "mac");
		int r = n ? xml_set_attr(n, "address", net_mac_format(mac, m)) : -EINVAL;
		if (!r)
			memcpy(d->nics[i].mac, mac, 6);
		return r;
	}
	return -EINVAL;
}

void domdef_free(struct domdef *d)
{
	for (unsigned i = 0; i < d->ndisks; i++)
		free(d->disks[i].source);
	free(d->kernel);
	free(d->initrd);
	free(d->cmdline);
	xml_free(d->xml);
	memset(d, 0, sizeof(*d));
}

/* ---- the document from flags ---- */

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
