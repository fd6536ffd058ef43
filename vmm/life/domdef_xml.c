/* libvirt domain XML -> struct domdef. Each element is accepted (a handler
 * reads it), ignored with a warning naming it and why, or refused with an
 * error when ignoring it would change what the guest sees. */
#include "vmm/life/domdef.h"
#include "vmm/life/domdef_internal.h"

#include "devices/virtio/net_mac.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dom_fail(const struct dom_ctx *c, const struct xml_node *n, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_error("domain: %s:%u: %s", c->src, n->line, what);
	return -EINVAL;
}

void dom_warn(const struct dom_ctx *c, const struct xml_node *n, const char *what, const char *why)
{
	log_warn("domain: %s:%u: %s ignored: %s", c->src, n->line, what, why);
}

/* Attributes outside KNOWN are warned about, not refused: none of those
 * libvirt defines for the elements read here changes the guest. */
void dom_attrs(const struct dom_ctx *c, const struct xml_node *n, const char *const *known)
{
	for (size_t i = 0; i < n->nattrs; i++) {
		const char *a = n->attrs[i].name;
		const char *const *k = known;
		while (k && *k && strcmp(*k, a))
			k++;
		if (k && *k)
			continue;
		char what[96];
		snprintf(what, sizeof(what), "attribute '%s' of <%s>", a, n->name);
		dom_warn(c, n, what, "minivmm does not implement it");
	}
}

int dom_walk(struct dom_ctx *c, struct xml_node *n, const struct dom_rule *rules)
{
	if (n->text[strspn(n->text, " \t\r\n")])
		return dom_fail(c, n, "text inside <%s> is not expected", n->name);
	for (size_t i = 0; i < n->nkids; i++) {
		struct xml_node *k = n->kids[i];
		const struct dom_rule *r = rules;
		char what[96];
		while (r->name && strcmp(r->name, k->name))
			r++;
		snprintf(what, sizeof(what), "<%s>", k->name);
		if (!r->name)
			return dom_fail(c, k, "element <%s> in <%s> is not supported", k->name,
					n->name);
		if (r->kind == READ && r->fn(c, k))
			return -EINVAL;
		if (r->kind == WARN)
			dom_warn(c, k, what, r->why);
		if (r->kind == FAIL)
			return dom_fail(c, k, "<%s> is not supported: %s", k->name, r->why);
	}
	return 0;
}

int dom_text(const struct dom_ctx *c, const struct xml_node *n, char *buf, size_t size)
{
	if (n->nkids || xml_text_trim(n, buf, size) || !buf[0])
		return dom_fail(c, n, "<%s> wants a short text value", n->name);
	return 0;
}

static int read_uint(const struct dom_ctx *c, const struct xml_node *n, uint64_t max, uint64_t *out)
{
	char t[32], *end;
	if (dom_text(c, n, t, sizeof(t)))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(t, &end, 10);
	if (t[0] < '0' || t[0] > '9' || *end || errno || v > max)
		return dom_fail(c, n, "<%s>: '%s' is not a whole number in range", n->name, t);
	*out = v;
	return 0;
}

/* ---- top level ---- */

static int do_name(struct dom_ctx *c, struct xml_node *n)
{
	char t[DOM_NAME_MAX + 2];
	if (n->nkids || xml_text_trim(n, t, sizeof(t)) || !domdef_name_ok(t))
		return dom_fail(c, n,
				"domain name '%s' is invalid (1-64 of A-Z a-z 0-9 . _ + -, not "
				"starting with . or -)",
				n->text);
	strcpy(c->d->name, t);
	return 0;
}

static int do_uuid(struct dom_ctx *c, struct xml_node *n)
{
	char t[64] = "";
	if (dom_text(c, n, t, sizeof(t)) || dom_uuid_parse(t, c->d->uuid))
		return dom_fail(c, n, "<uuid>%s</uuid>: expected 32 hex digits as 8-4-4-4-12", t);
	return xml_set_text(n, c->d->uuid); /* canonical, as libvirt writes it */
}

/* libvirt's units: none/KiB/k = 1024, b/bytes = 1, KB = 1000, MB = 1000^2,
 * M/MiB = 1024^2, ... up to E. */
int dom_scale_unit(const char *unit, uint64_t *scale)
{
	static const char pfx[] = "kmgtpe";
	if (!unit || !*unit) {
		*scale = 1024;
		return 0;
	}
	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes")) {
		*scale = 1;
		return 0;
	}
	const char *p = strchr(pfx, unit[0] | 32);
	uint64_t base;
	if (!p || !unit[0])
		return -EINVAL;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if ((unit[1] | 32) == 'b' && !unit[2])
		base = 1000;
	else
		return -EINVAL;
	*scale = 1;
	for (const char *q = pfx; q <= p; q++)
		*scale *= base;
	return 0;
}

static int read_memory(struct dom_ctx *c, struct xml_node *n, uint64_t *kib)
{
	static const char *const attrs[] = {"unit", NULL};
	const char *unit = xml_attr(n, "unit");
	uint64_t v, scale;
	dom_attrs(c, n, attrs);
	if (dom_scale_unit(unit, &scale))
		return dom_fail(c, n, "<%s unit='%s'>: unknown unit (KiB, MiB, GiB, KB, MB, ...)",
				n->name, unit);
	if (read_uint(c, n, UINT64_MAX, &v))
		return -EINVAL;
	if (v > (UINT64_MAX - 1023) / scale || v == 0)
		return dom_fail(c, n, "<%s>: size %s is out of range", n->name, n->text);
	*kib = (v * scale + 1023) / 1024; /* rounded up to KiB, as libvirt does */
	if (*kib > DOM_MEMORY_MAX_KIB)
		return dom_fail(c, n, "<%s>: %s is more than minivmm gives a guest (1 TiB)",
				n->name, n->text);
	return dom_set_kib(n, *kib);
}

static int do_memory(struct dom_ctx *c, struct xml_node *n)
{
	return read_memory(c, n, &c->d->memory_kib);
}

static int do_current(struct dom_ctx *c, struct xml_node *n)
{
	return read_memory(c, n, &c->d->current_kib);
}

static int do_vcpu(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"placement", "current", NULL};
	uint64_t v = 0;
	dom_attrs(c, n, attrs);
	if (read_uint(c, n, DOM_VCPUS_MAX, &v))
		return -EINVAL;
	if (v == 0)
		return dom_fail(c, n, "<vcpu>: expected 1 to %d vCPUs", DOM_VCPUS_MAX);
	const char *cur = xml_attr(n, "current");
	char *end = NULL;
	/* current= other than the count is hotplug; "1junk" is not a count. */
	if (cur && (strtoull(cur, &end, 10) != v || end == cur || *end))
		return dom_fail(c, n, "<vcpu current='%s'>: minivmm starts every vCPU", cur);
	c->d->vcpus = (unsigned)v;
	return 0;
}

static int do_action(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const names[] = {
	    "destroy",		"restart",	    "preserve", "rename-restart",
	    "coredump-destroy", "coredump-restart", NULL};
	char t[32];
	size_t i = 0;
	if (dom_text(c, n, t, sizeof(t)))
		return -EINVAL;
	while (names[i] && strcmp(names[i], t))
		i++;
	if (!names[i])
		return dom_fail(c, n, "<%s>: '%s' is not destroy, restart, preserve, ...", n->name,
				t);
	enum dom_action a = i < 3 ? (enum dom_action)i : DOM_ACT_OTHER;
	if (a == DOM_ACT_OTHER || a == DOM_ACT_PRESERVE)
		dom_warn(c, n, t, "minivmm destroys the VM instead");
	*(!strcmp(n->name, "on_poweroff") ? &c->d->on_poweroff
	  : !strcmp(n->name, "on_reboot") ? &c->d->on_reboot
					  : &c->d->on_crash) = a;
	return 0;
}

static int do_features(struct dom_ctx *c, struct xml_node *n)
{
	static const struct dom_rule rules[] = {
	    {"acpi", SILENT, NULL, NULL},
	    {"apic", SILENT, NULL, NULL},
	    {"pae", SILENT, NULL, NULL},
	    {"vmport", WARN, NULL, "minivmm has no VMware port"},
	    {"hyperv", WARN, NULL, "no Hyper-V enlightenments"},
	    {"kvm", WARN, NULL, "KVM feature flags are not set"},
	    {"pvspinlock", WARN, NULL, "not configurable"},
	    {"smm", WARN, NULL, "minivmm has no SMM"},
	    {"ioapic", WARN, NULL, "minivmm's IOAPIC is always in KVM"},
	    {"vmcoreinfo", WARN, NULL, "not emulated"},
	    {"pmu", WARN, NULL, "not configurable"},
	    {"hap", SILENT, NULL, NULL},
	    {"gic", FAIL, NULL, "an ARM feature"},
	    {"htm", FAIL, NULL, "a POWER feature"},
	    {"hpt", FAIL, NULL, "a POWER feature"},
	    {"msrs", WARN, NULL, "not configurable"},
	    {"privnet", SILENT, NULL, NULL},
	    {"viridian", WARN, NULL, "no Hyper-V enlightenments"},
	    {NULL, WARN, NULL, NULL},
	};
	const struct dom_rule *r = rules;
	/* An unknown feature only tunes the machine: a warning, not an error. */
	for (size_t i = 0; i < n->nkids; i++) {
		for (r = rules; r->name && strcmp(r->name, n->kids[i]->name); r++)
			;
		char what[96];
		snprintf(what, sizeof(what), "feature <%s>", n->kids[i]->name);
		if (!r->name || r->kind == WARN)
			dom_warn(c, n->kids[i], what, r->why ? r->why : "not implemented");
		else if (r->kind == FAIL)
			return dom_fail(c, n->kids[i], "feature <%s> is not supported: %s", r->name,
					r->why);
	}
	return 0;
}

static int do_cpu(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"mode", "match", "check", "migratable", NULL};
	static const struct dom_rule rules[] = {
	    {"model", WARN, NULL, "the guest sees the host CPU (as host-passthrough)"},
	    {"vendor", WARN, NULL, "the guest sees the host CPU's vendor"},
	    {"topology", WARN, NULL, "every vCPU is a socket of its own"},
	    {"feature", WARN, NULL, "the guest sees the host CPU's features"},
	    {"cache", WARN, NULL, "not configurable"},
	    {"numa", FAIL, NULL, "minivmm has no guest NUMA nodes"},
	    {NULL, READ, NULL, NULL},
	};
	const char *mode = xml_attr(n, "mode");
	dom_attrs(c, n, attrs);
	if (mode && strcmp(mode, "host-passthrough") && strcmp(mode, "host-model") &&
	    strcmp(mode, "custom") && strcmp(mode, "maximum"))
		return dom_fail(c, n, "<cpu mode='%s'>: unknown mode", mode);
	if (mode && strcmp(mode, "host-passthrough")) {
		char what[96];
		snprintf(what, sizeof(what), "<cpu mode='%s'>", mode);
		dom_warn(c, n, what, "the guest sees the host CPU (as host-passthrough)");
	}
	return dom_walk(c, n, rules);
}

static int do_clock(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"offset", NULL};
	const char *off = xml_attr(n, "offset");
	dom_attrs(c, n, attrs);
	if (off && strcmp(off, "utc")) {
		char what[96];
		snprintf(what, sizeof(what), "<clock offset='%.60s'>", off);
		dom_warn(c, n, what, "the guest's RTC runs in UTC");
	}
	for (size_t i = 0; i < n->nkids; i++) {
		char what[96];
		const char *tn = xml_attr(n->kids[i], "name");
		if (strcmp(n->kids[i]->name, "timer"))
			return dom_fail(c, n->kids[i], "element <%s> in <clock> is not supported",
					n->kids[i]->name);
		snprintf(what, sizeof(what), "<timer name='%s'>", tn ? tn : "");
		dom_warn(c, n->kids[i], what, "minivmm's timers are fixed");
	}
	return 0;
}

static const struct dom_rule TOP[] = {
    {"name", READ, do_name, NULL},
    {"uuid", READ, do_uuid, NULL},
    {"title", SILENT, NULL, NULL},
    {"description", SILENT, NULL, NULL},
    {"metadata", READ, dom_read_metadata, NULL},
    {"memory", READ, do_memory, NULL},
    {"currentMemory", READ, do_current, NULL},
    {"maxMemory", FAIL, NULL, "minivmm has no memory hotplug"},
    {"memoryBacking", WARN, NULL, "guest RAM is ordinary anonymous memory"},
    {"memtune", WARN, NULL, "no host memory limits"},
    {"vcpu", READ, do_vcpu, NULL},
    {"vcpus", FAIL, NULL, "minivmm has no vCPU hotplug"},
    {"cputune", WARN, NULL, "no vCPU pinning or quotas"},
    {"numatune", WARN, NULL, "no host NUMA placement"},
    {"blkiotune", WARN, NULL, "no disk I/O weights"},
    {"iothreads", WARN, NULL, "minivmm's I/O threads are its own"},
    {"resource", WARN, NULL, "no cgroup partition"},
    {"os", READ, dom_read_os, NULL},
    {"features", READ, do_features, NULL},
    {"cpu", READ, do_cpu, NULL},
    {"clock", READ, do_clock, NULL},
    {"on_poweroff", READ, do_action, NULL},
    {"on_reboot", READ, do_action, NULL},
    {"on_crash", READ, do_action, NULL},
    {"on_lockfailure", WARN, NULL, "no lock manager"},
    {"pm", WARN, NULL, "no S3/S4 suspend"},
    {"devices", READ, dom_read_devices, NULL},
    {"seclabel", WARN, NULL, "no security driver"},
    {"sysinfo", WARN, NULL, "no SMBIOS tables"},
    {"perf", WARN, NULL, "no perf events"},
    {"idmap", WARN, NULL, "not a container"},
    {"genid", WARN, NULL, "no VM generation ID device"},
    {"keywrap", FAIL, NULL, "an s390 feature"},
    {"launchSecurity", FAIL, NULL, "no SEV/TDX"},
    {"qemu:commandline", FAIL, NULL, "there is no QEMU to pass arguments to"},
    {NULL, READ, NULL, NULL},
};

static int once(const struct dom_ctx *c, const struct xml_node *root)
{
	static const char *const single[] = {
	    "name", "uuid",  "memory",	    "currentMemory", "vcpu",	 "os",	    "features",
	    "cpu",  "clock", "on_poweroff", "on_reboot",     "on_crash", "devices", NULL};
	for (const char *const *s = single; *s; s++) {
		const struct xml_node *first = NULL;
		for (size_t i = 0; i < root->nkids; i++) {
			if (strcmp(root->kids[i]->name, *s))
				continue;
			if (first)
				return dom_fail(c, root->kids[i], "only one <%s> in <domain>", *s);
			first = root->kids[i];
		}
	}
	return 0;
}

static int do_domain(struct dom_ctx *c, struct xml_node *root)
{
	const char *type = xml_attr(root, "type");
	if (strcmp(root->name, "domain"))
		return dom_fail(c, root, "root element is <%s>, expected <domain>", root->name);
	for (size_t i = 0; i < root->nattrs; i++) {
		const char *a = root->attrs[i].name;
		if (strcmp(a, "type") && strcmp(a, "id") && strncmp(a, "xmlns", 5))
			dom_warn(c, root, a, "unknown attribute of <domain>");
	}
	if (!type)
		return dom_fail(c, root, "<domain> needs type='kvm'");
	if (strcmp(type, "kvm") && strcmp(type, "qemu"))
		return dom_fail(c, root, "<domain type='%s'>: minivmm runs type='kvm' domains",
				type);
	if (once(c, root) || dom_walk(c, root, TOP))
		return -EINVAL;
	if (!c->d->name[0])
		return dom_fail(c, root, "<name> is missing");
	if (!c->d->memory_kib)
		return dom_fail(c, root, "<memory> is missing");
	return dom_complete(c);
}

int domdef_from_xml(const char *buf, size_t len, const char *src, struct domdef *d)
{
	struct dom_ctx c = {.src = src, .d = d};
	memset(d, 0, sizeof(*d));
	d->vcpus = 1;
	d->on_poweroff = DOM_ACT_DESTROY;
	d->on_reboot = DOM_ACT_RESTART;
	d->on_crash = DOM_ACT_DESTROY;
	if (xml_parse(buf, len, src, &d->xml))
		return -EINVAL;
	int r = do_domain(&c, d->xml);
	if (r)
		domdef_free(d);
	return r;
}
