/* struct domdef around the XML reader: defaults and generated values written
 * back into the document, uuid and MAC helpers, names. */
#include "vmm/life/domdef.h"
#include "vmm/life/domdef_internal.h"

#include "devices/virtio/net_mac.h"
#include "vmm/log.h"

#include <errno.h>
#include <inttypes.h>
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
	free(d->hostname);
	free(d->ssh_key_file);
	free(d->user_data_file);
	xml_free(d->xml);
	memset(d, 0, sizeof(*d));
}
