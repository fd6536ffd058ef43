/* <os> and <devices> of the domain XML: disks, NICs, the serial console,
 * and the usual devices minivmm does not emulate. */
#include "vmm/life/domdef_internal.h"

#include "devices/virtio/net_mac.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dup_text(struct dom_ctx *c, struct xml_node *n, char **out)
{
	char *t = malloc(strlen(n->text) + 1);
	if (!t)
		return -ENOMEM;
	if (n->nkids || xml_text_trim(n, t, strlen(n->text) + 1)) {
		free(t);
		return dom_fail(c, n, "<%s> wants text only", n->name);
	}
	free(*out);
	*out = t;
	return 0;
}

static int do_type(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"arch", "machine", NULL};
	const char *arch = xml_attr(n, "arch"), *machine = xml_attr(n, "machine");
	char t[16];
	dom_attrs(c, n, attrs);
	if (dom_text(c, n, t, sizeof(t)) || strcmp(t, "hvm"))
		return dom_fail(c, n, "<type>%s</type>: minivmm runs hvm guests", n->text);
	if (arch && strcmp(arch, "x86_64") && strcmp(arch, "i686"))
		return dom_fail(c, n, "<type arch='%s'>: minivmm runs x86_64 guests", arch);
	if (machine)
		dom_warn(c, n, "<type machine>", "minivmm has one PCI machine of its own");
	return 0;
}

static int do_boot(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"dev", NULL};
	const char *dev = xml_attr(n, "dev");
	dom_attrs(c, n, attrs);
	if (!dev || strcmp(dev, "hd"))
		return dom_fail(c, n,
				"<boot dev='%s'>: minivmm boots from the first disk (dev='hd')",
				DOM_S(dev));
	return 0;
}

static int do_kernel(struct dom_ctx *c, struct xml_node *n)
{
	struct domdef *d = c->d;
	char **dst = !strcmp(n->name, "kernel")	  ? &d->kernel
		     : !strcmp(n->name, "initrd") ? &d->initrd
						  : &d->cmdline;
	return dup_text(c, n, dst);
}

int dom_read_os(struct dom_ctx *c, struct xml_node *n)
{
	static const struct dom_rule rules[] = {
	    {"type", READ, do_type, NULL},
	    {"boot", READ, do_boot, NULL},
	    {"kernel", READ, do_kernel, NULL},
	    {"initrd", READ, do_kernel, NULL},
	    {"cmdline", READ, do_kernel, NULL},
	    {"bootmenu", WARN, NULL, "minivmm has no boot menu"},
	    {"bios", WARN, NULL, "minivmm has no BIOS"},
	    {"smbios", WARN, NULL, "no SMBIOS tables"},
	    {"loader", FAIL, NULL, "minivmm loads no firmware (UEFI/BIOS)"},
	    {"nvram", FAIL, NULL, "minivmm loads no firmware (UEFI/BIOS)"},
	    {"acpi", FAIL, NULL, "minivmm writes its own ACPI tables"},
	    {"dtb", FAIL, NULL, "not an x86 feature"},
	    {"init", FAIL, NULL, "not a container"},
	    {"initarg", FAIL, NULL, "not a container"},
	    {"firmware", FAIL, NULL, "minivmm loads no firmware"},
	    {NULL, READ, NULL, NULL},
	};
	static const char *const attrs[] = {NULL};
	if (xml_attr(n, "firmware"))
		return dom_fail(c, n, "<os firmware='%s'>: minivmm loads no firmware",
				xml_attr(n, "firmware"));
	dom_attrs(c, n, attrs);
	if (!xml_child(n, "type"))
		return dom_fail(c, n, "<os> needs <type>hvm</type>");
	return dom_walk(c, n, rules);
}

/* ---- disks ---- */

static int disk_driver(struct dom_ctx *c, struct xml_node *n, struct dom_disk *k)
{
	static const char *const attrs[] = {"name", "type", NULL};
	const char *name = xml_attr(n, "name"), *type = xml_attr(n, "type");
	dom_attrs(c, n, attrs);
	if (name && strcmp(name, "qemu"))
		return dom_fail(c, n, "<driver name='%s'>: expected name='qemu'", name);
	if (!type || !strcmp(type, "raw"))
		k->format = DOM_FMT_RAW; /* libvirt's default: it never guesses */
	else if (!strcmp(type, "qcow2"))
		k->format = DOM_FMT_QCOW2;
	else
		return dom_fail(c, n, "<driver type='%s'>: minivmm reads raw and qcow2 images",
				type);
	return 0;
}

static int disk_target(struct dom_ctx *c, struct xml_node *n, struct dom_disk *k)
{
	static const char *const attrs[] = {"dev", "bus", NULL};
	const char *dev = xml_attr(n, "dev"), *bus = xml_attr(n, "bus");
	dom_attrs(c, n, attrs);
	if (bus && strcmp(bus, "virtio"))
		return dom_fail(
		    c, n,
		    "<target bus='%s'>: minivmm's disks are virtio only: use bus='virtio' "
		    "and dev='vdX' (the guest sees /dev/vdX)",
		    bus);
	if (!dev || strlen(dev) != 3 || strncmp(dev, "vd", 2) || dev[2] < 'a' ||
	    dev[2] >= 'a' + DOM_DISKS_MAX)
		return dom_fail(c, n, "<target dev='%s'>: expected vda to vdp", DOM_S(dev));
	for (unsigned i = 0; i < c->d->ndisks; i++)
		if (!strcmp(c->d->disks[i].target, dev))
			return dom_fail(c, n, "<target dev='%s'>: two disks with that target", dev);
	strcpy(k->target, dev);
	return 0;
}

static int disk_child(struct dom_ctx *c, struct xml_node *n, struct dom_disk *k)
{
	if (!strcmp(n->name, "driver"))
		return disk_driver(c, n, k);
	if (!strcmp(n->name, "target"))
		return disk_target(c, n, k);
	if (!strcmp(n->name, "source")) {
		const char *f = xml_attr(n, k->block ? "dev" : "file");
		static const char *const fattrs[] = {"file", NULL}, *const dattrs[] = {"dev", NULL};
		dom_attrs(c, n, k->block ? dattrs : fattrs);
		if (!f || !*f)
			return dom_fail(c, n, "<source>: needs %s='...'",
					k->block ? "dev" : "file");
		free(k->source);
		return (k->source = strdup(f)) ? 0 : -ENOMEM;
	}
	if (!strcmp(n->name, "readonly")) {
		k->readonly = true;
		return 0;
	}
	static const struct {
		const char *name, *why;
		bool fail;
	} other[] = {
	    {"address", NULL, false},
	    {"alias", NULL, false},
	    {"backingStore", NULL, false},
	    {"boot", "minivmm boots from vda", false},
	    {"shareable", "the image is locked while the VM runs", false},
	    {"serial", "virtio-blk serial numbers are not set", false},
	    {"iotune", "no I/O limits", false},
	    {"blockio", "the guest sees 512-byte sectors", true},
	    {"geometry", "no disk geometry", true},
	    {"encryption", "no encrypted images", true},
	    {"wwn", "not a SCSI disk", true},
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char what[64];
		if (strcmp(n->name, other[i].name))
			continue;
		snprintf(what, sizeof(what), "<disk><%s>", n->name);
		if (other[i].fail)
			return dom_fail(c, n, "<%s> in <disk> is not supported: %s", n->name,
					other[i].why);
		if (other[i].why)
			dom_warn(c, n, what, other[i].why);
		return 0;
	}
	return dom_fail(c, n, "element <%s> in <disk> is not supported", n->name);
}

static int do_disk(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"type", "device", "snapshot", NULL};
	const char *type = xml_attr(n, "type"), *device = xml_attr(n, "device");
	struct domdef *d = c->d;
	dom_attrs(c, n, attrs);
	if (device && strcmp(device, "disk"))
		return dom_fail(c, n,
				"<disk device='%s'>: minivmm has disks only (no cdrom, "
				"floppy or lun)",
				device);
	if (!type || (strcmp(type, "file") && strcmp(type, "block")))
		return dom_fail(c, n, "<disk type='%s'>: expected type='file' or 'block'",
				DOM_S(type));
	if (d->ndisks >= DOM_DISKS_MAX)
		return dom_fail(c, n, "more than %d disks", DOM_DISKS_MAX);
	struct dom_disk *k = &d->disks[d->ndisks++];
	k->block = !strcmp(type, "block");
	for (size_t i = 0; i < n->nkids; i++)
		if (disk_child(c, n->kids[i], k))
			return -EINVAL;
	if (!k->source)
		return dom_fail(c, n, "<disk> without <source>: minivmm has no empty drives");
	if (!k->target[0])
		return dom_fail(c, n, "<disk> needs <target dev='vdX' bus='virtio'/>");
	return 0;
}

/* ---- NICs ---- */

static int nic_child(struct dom_ctx *c, struct xml_node *n, struct dom_nic *k, bool *has_mac,
		     bool *has_model)
{
	if (!strcmp(n->name, "source")) {
		if (k->type == DOM_NIC_USER)
			return dom_fail(c, n, "<interface type='user'> takes no <source>: "
					      "libslirp's network is the VM's own");
		const char *key = k->type == DOM_NIC_BRIDGE ? "bridge" : "network";
		const char *v = xml_attr(n, key);
		/* The name becomes a path under the state dir: no '/', '.' or '..'. */
		if (!v || !*v || strlen(v) >= sizeof(k->source) || strchr(v, '/') ||
		    !strcmp(v, ".") || !strcmp(v, ".."))
			return dom_fail(c, n, "<source>: needs %s='NAME' (at most 63 characters)",
					key);
		strcpy(k->source, v);
		return 0;
	}
	if (!strcmp(n->name, "model")) {
		const char *t = xml_attr(n, "type");
		if (!t || strcmp(t, "virtio"))
			return dom_fail(c, n,
					"<model type='%s'>: minivmm's NICs are virtio only "
					"(use <model type='virtio'/>)",
					DOM_S(t));
		*has_model = true;
		return 0;
	}
	if (!strcmp(n->name, "mac")) {
		const char *a = xml_attr(n, "address"), *why = NULL;
		if (!a || net_mac_parse(a, k->mac, &why))
			return dom_fail(c, n, "<mac address='%s'>: %s", DOM_S(a),
					why ? why : "missing");
		*has_mac = true;
		return 0;
	}
	static const char *const quiet[] = {"address", "alias", "target", NULL};
	for (const char *const *q = quiet; *q; q++)
		if (!strcmp(n->name, *q))
			return 0; /* minivmm names TAPs vnetN itself, as libvirt */
	static const char *const fail[] = {"virtualport", "vlan", "backend", "rom", NULL};
	for (const char *const *q = fail; *q; q++)
		if (!strcmp(n->name, *q))
			return dom_fail(c, n, "<%s> in <interface> is not supported", n->name);
	char what[64];
	snprintf(what, sizeof(what), "<interface><%s>", n->name);
	dom_warn(c, n, what, "not implemented for minivmm's virtio-net");
	return 0;
}

static int do_interface(struct dom_ctx *c, struct xml_node *n)
{
	static const char *const attrs[] = {"type", NULL};
	const char *type = xml_attr(n, "type");
	struct domdef *d = c->d;
	bool has_mac = false, has_model = false;
	dom_attrs(c, n, attrs);
	if (!type || (strcmp(type, "bridge") && strcmp(type, "network") && strcmp(type, "user")))
		return dom_fail(c, n,
				"<interface type='%s'>: minivmm connects NICs to a bridge, "
				"a network or user-mode networking (type='bridge', 'network' "
				"or 'user')",
				DOM_S(type));
	if (d->nnics >= DOM_NICS_MAX)
		return dom_fail(c, n, "more than %d interfaces", DOM_NICS_MAX);
	struct dom_nic *k = &d->nics[d->nnics++];
	k->type = !strcmp(type, "bridge")    ? DOM_NIC_BRIDGE
		  : !strcmp(type, "network") ? DOM_NIC_NETWORK
					     : DOM_NIC_USER; /* --net user (libslirp) */
	for (size_t i = 0; i < n->nkids; i++)
		if (nic_child(c, n->kids[i], k, &has_mac, &has_model))
			return -EINVAL;
	if (!k->source[0] && k->type != DOM_NIC_USER)
		return dom_fail(c, n, "<interface> needs <source %s='NAME'/>",
				k->type == DOM_NIC_BRIDGE ? "bridge" : "network");
	if (!has_model)
		return dom_fail(c, n,
				"<interface> without <model>: libvirt would give the guest "
				"an rtl8139, minivmm has virtio only (add <model type='virtio'/>)");
	if (!has_mac) { /* generated and written back, as libvirt does */
		char m[NET_MAC_STRLEN];
		struct xml_node *mac = xml_new("mac", NULL);
		dom_random_mac(k->mac);
		k->mac_generated = true;
		if (!mac || xml_set_attr(mac, "address", net_mac_format(k->mac, m)) ||
		    xml_insert(n, 0, mac)) {
			xml_free(mac);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- serial console ---- */

static int do_serial(struct dom_ctx *c, struct xml_node *n)
{
	const char *type = xml_attr(n, "type");
	bool console = !strcmp(n->name, "console");
	struct xml_node *t = xml_child(n, "target");
	const char *ttype = t ? xml_attr(t, "type") : NULL, *port = t ? xml_attr(t, "port") : NULL;

	if (console && ttype && strcmp(ttype, "serial"))
		return dom_fail(c, n,
				"<console><target type='%s'>: minivmm's console is the "
				"serial port (type='serial')",
				ttype);
	if ((port && strcmp(port, "0")) || (!console && ++c->serials > 1))
		return dom_fail(c, n, "a second serial port: minivmm has one (COM1, ttyS0)");
	if (console && ++c->consoles > 1)
		return dom_fail(c, n, "a second <console>: minivmm has one");
	if (type && strcmp(type, "pty"))
		dom_warn(c, n, "<serial/console type>",
			 "the serial port goes to minivmm's console (as type='pty')");
	return 0;
}

int dom_read_devices(struct dom_ctx *c, struct xml_node *n)
{
	static const char noemu[] = "not emulated by minivmm (the serial console is the way in)";
	static const struct dom_rule rules[] = {
	    {"emulator", WARN, NULL, "minivmm is the emulator"},
	    {"disk", READ, do_disk, NULL},
	    {"interface", READ, do_interface, NULL},
	    {"serial", READ, do_serial, NULL},
	    {"console", READ, do_serial, NULL},
	    {"graphics", WARN, NULL, noemu},
	    {"video", WARN, NULL, noemu},
	    {"input", WARN, NULL, noemu},
	    {"sound", WARN, NULL, "not emulated by minivmm"},
	    {"audio", WARN, NULL, "not emulated by minivmm"},
	    {"channel", WARN, NULL, "not emulated by minivmm (no guest agent channel)"},
	    {"memballoon", WARN, NULL, "not emulated by minivmm (no balloon)"},
	    {"controller", WARN, NULL, "minivmm's PCI and USB layout is its own"},
	    {"rng", WARN, NULL, "not emulated by minivmm"},
	    {"watchdog", WARN, NULL, "not emulated by minivmm"},
	    {"panic", WARN, NULL, "not emulated by minivmm"},
	    {"redirdev", WARN, NULL, "not emulated by minivmm (no USB)"},
	    {"hub", WARN, NULL, "not emulated by minivmm (no USB)"},
	    {"smartcard", WARN, NULL, "not emulated by minivmm"},
	    {"tpm", FAIL, NULL, "minivmm has no TPM"},
	    {"hostdev", FAIL, NULL, "minivmm passes no host devices through"},
	    {"filesystem", FAIL, NULL, "minivmm has no shared folders (virtiofs/9p)"},
	    {"parallel", FAIL, NULL, "minivmm has no parallel port"},
	    {"shmem", FAIL, NULL, "minivmm has no shared memory device"},
	    {"memory", FAIL, NULL, "minivmm has no memory hotplug"},
	    {"iommu", FAIL, NULL, "minivmm has no IOMMU"},
	    {"vsock", FAIL, NULL, "minivmm has no vsock"},
	    {"lease", FAIL, NULL, "no lock manager"},
	    {"crypto", FAIL, NULL, "minivmm has no virtio-crypto"},
	    {NULL, READ, NULL, NULL},
	};
	return dom_walk(c, n, rules);
}
