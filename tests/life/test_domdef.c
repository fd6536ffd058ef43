/* vmm/life/domdef: the lab's domain XML, every warned and refused element,
 * memory units, the values generated and written back, and define-from-flags. */
#include "vmm/life/domdef.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* node_base.xml as the lab hands it out, with the lab's edits (name, memory,
 * vCPUs, disk, bridge). */
static const char LAB[] = "<domain type='kvm'>\n"
			  "  <name>vmhost</name>\n"
			  "  <memory unit='KB'>1024000</memory>\n"
			  "  <currentMemory unit='KB'>1024000</currentMemory>\n"
			  "  <vcpu placement='static'>2</vcpu>\n"
			  "  <os>\n"
			  "    <type arch='x86_64' machine='pc'>hvm</type>\n"
			  "    <boot dev='hd'/>\n"
			  "    <bootmenu enable='yes'/>\n"
			  "    <bios useserial='yes'/>\n"
			  "  </os>\n"
			  "  <features>\n"
			  "    <acpi/>\n"
			  "    <apic/>\n"
			  "  </features>\n"
			  "  <cpu mode='host-passthrough'>\n"
			  "  </cpu>\n"
			  "  <clock offset='localtime'/>\n"
			  "  <on_poweroff>destroy</on_poweroff>\n"
			  "  <on_reboot>restart</on_reboot>\n"
			  "  <on_crash>restart</on_crash>\n"
			  "  <devices>\n"
			  "    <emulator>/usr/libexec/qemu-kvm</emulator>\n"
			  "    <disk type='file' device='disk'>\n"
			  "      <driver name='qemu' type='qcow2'/>\n"
			  "      <source file='/var/lib/libvirt/images/vmhost.img'/>\n"
			  "      <target dev='vda' bus='virtio'/>\n"
			  "    </disk>\n"
			  "    <interface type='bridge'>\n"
			  "      <source bridge='vbr'/>\n"
			  "      <model type='virtio'/>\n"
			  "    </interface>\n"
			  "    <channel type='unix'>\n"
			  "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
			  "    </channel>\n"
			  "    <serial type='pty'></serial>\n"
			  "    <console type='pty'>\n"
			  "      <target type='serial'/>\n"
			  "    </console>\n"
			  "    <graphics type='vnc' port='-1'/>\n"
			  "    <video><model type='cirrus'/></video>\n"
			  "    <input type='tablet' bus='usb'/>\n"
			  "    <memballoon model='virtio'></memballoon>\n"
			  "  </devices>\n"
			  "</domain>\n";

/* stderr of the code between capture_start and capture_end */
static char captured[8192];
static int saved_fd = -1;
static FILE *cap;

static void capture_start(void)
{
	fflush(stderr);
	cap = tmpfile();
	saved_fd = dup(2);
	dup2(fileno(cap), 2);
	log_set_quiet(false);
	log_clear_last_error();
}

static const char *capture_end(void)
{
	fflush(stderr);
	log_set_quiet(true);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(cap);
	size_t n = fread(captured, 1, sizeof(captured) - 1, cap);
	captured[n] = '\0';
	fclose(cap);
	return captured;
}

static int parse(const char *xml, struct domdef *d)
{
	log_clear_last_error();
	return domdef_from_xml(xml, strlen(xml), "t.xml", d);
}

START_TEST(lab_domain)
{
	struct domdef d;
	capture_start();
	int r = parse(LAB, &d);
	const char *err = capture_end();
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_str_eq(d.name, "vmhost");
	ck_assert_uint_eq(d.memory_kib, 1000000); /* KB is 1000 bytes in libvirt */
	ck_assert_uint_eq(d.current_kib, 1000000);
	ck_assert_uint_eq(d.vcpus, 2);
	ck_assert_int_eq(d.on_poweroff, DOM_ACT_DESTROY);
	ck_assert_int_eq(d.on_reboot, DOM_ACT_RESTART);
	ck_assert_int_eq(d.on_crash, DOM_ACT_RESTART);
	ck_assert_ptr_null(d.kernel);
	ck_assert_uint_eq(d.ndisks, 1);
	ck_assert_str_eq(d.disks[0].target, "vda");
	ck_assert_str_eq(d.disks[0].source, "/var/lib/libvirt/images/vmhost.img");
	ck_assert_int_eq(d.disks[0].format, DOM_FMT_QCOW2);
	ck_assert(!d.disks[0].readonly);
	ck_assert_uint_eq(d.nnics, 1);
	ck_assert_int_eq(d.nics[0].type, DOM_NIC_BRIDGE);
	ck_assert_str_eq(d.nics[0].source, "vbr");
	ck_assert_uint_eq(d.nics[0].mac[0], 0x52);
	ck_assert_uint_eq(d.nics[0].mac[1], 0x54);
	ck_assert_uint_eq(d.nics[0].mac[2], 0x00);
	/* a version-4 uuid was generated */
	ck_assert_uint_eq(strlen(d.uuid), 36);
	ck_assert_int_eq(d.uuid[14], '4');
	ck_assert(strchr("89ab", d.uuid[19]));
	/* one warning per element minivmm does not emulate, with its line */
	static const char *const warned[] = {
	    "t.xml:7: <type machine> ignored", "t.xml:9: <bootmenu> ignored",
	    "t.xml:10: <bios> ignored",	       "t.xml:18: <clock offset='localtime'> ignored",
	    "t.xml:23: <emulator> ignored",    "t.xml:33: <channel> ignored",
	    "t.xml:40: <graphics> ignored",    "t.xml:41: <video> ignored",
	    "t.xml:42: <input> ignored",       "t.xml:43: <memballoon> ignored",
	};
	for (size_t i = 0; i < sizeof(warned) / sizeof(warned[0]); i++)
		ck_assert_msg(strstr(err, warned[i]), "no \"%s\" in:\n%s", warned[i], err);
	ck_assert_ptr_null(strstr(err, "error"));
	domdef_free(&d);
}
END_TEST

START_TEST(written_back_as_libvirt)
{
	struct domdef d, e;
	char *a, *b;
	ck_assert_int_eq(parse(LAB, &d), 0);
	ck_assert_int_eq(domdef_to_xml(&d, &a), 0);
	char want[128], mac[18];
	snprintf(want, sizeof(want), "  <name>vmhost</name>\n  <uuid>%s</uuid>\n", d.uuid);
	ck_assert_msg(strstr(a, want), "%s", a);
	ck_assert(strstr(a, "  <memory unit='KiB'>1000000</memory>\n"
			    "  <currentMemory unit='KiB'>1000000</currentMemory>\n"));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d.nics[0].mac[0],
		 d.nics[0].mac[1], d.nics[0].mac[2], d.nics[0].mac[3], d.nics[0].mac[4],
		 d.nics[0].mac[5]);
	snprintf(want, sizeof(want),
		 "    <interface type='bridge'>\n      <mac address='%s'/>\n      <source "
		 "bridge='vbr'/>",
		 mac);
	ck_assert_msg(strstr(a, want), "%s", a);
	/* what is stored reads back to the same domain and the same text */
	ck_assert_int_eq(domdef_from_xml(a, strlen(a), "stored", &e), 0);
	ck_assert_str_eq(e.uuid, d.uuid);
	ck_assert_mem_eq(e.nics[0].mac, d.nics[0].mac, 6);
	ck_assert_uint_eq(e.memory_kib, d.memory_kib);
	ck_assert_int_eq(domdef_to_xml(&e, &b), 0);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	domdef_free(&d);
	domdef_free(&e);
}
END_TEST

#define DOM(body) "<domain type='kvm'><name>n</name><memory>1024</memory>" body "</domain>"
#define DEV(body) DOM("<devices>" body "</devices>")
#define DISK(body) DEV("<disk type='file' device='disk'>" body "</disk>")
#define NIC(body) DEV("<interface type='bridge'><source bridge='b'/>" body "</interface>")

/* <interface type='user'>: no source, virtio, its MAC generated and written
 * back, the stored text reading back to the same NIC. */
START_TEST(user_interface_round_trip)
{
	struct domdef d, e;
	char *a, *b;
	ck_assert_int_eq(parse(DEV("<interface type='user'><model type='virtio'/></interface>"
				   "<interface type='user'><mac address='52:54:00:aa:bb:cc'/>"
				   "<model type='virtio'/></interface>"),
			       &d),
			 0);
	ck_assert_uint_eq(d.nnics, 2);
	ck_assert_int_eq(d.nics[0].type, DOM_NIC_USER);
	ck_assert_str_eq(d.nics[0].source, "");
	ck_assert(d.nics[0].mac_generated);
	ck_assert_int_eq(d.nics[1].type, DOM_NIC_USER);
	ck_assert(!d.nics[1].mac_generated);
	ck_assert_uint_eq(d.nics[1].mac[5], 0xcc);
	ck_assert_int_eq(domdef_to_xml(&d, &a), 0);
	ck_assert_msg(strstr(a, "<interface type='user'>\n      <mac address='52:54:00:aa:bb:cc'/>\n"
				"      <model type='virtio'/>\n    </interface>"), "%s", a);
	ck_assert_ptr_null(strstr(a, "<source"));
	ck_assert_int_eq(domdef_from_xml(a, strlen(a), "stored", &e), 0);
	ck_assert_uint_eq(e.nnics, 2);
	ck_assert_int_eq(e.nics[0].type, DOM_NIC_USER);
	ck_assert_mem_eq(e.nics[0].mac, d.nics[0].mac, 6);
	ck_assert(!e.nics[0].mac_generated); /* written back: kept from now on */
	ck_assert_int_eq(domdef_to_xml(&e, &b), 0);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	domdef_free(&d);
	domdef_free(&e);
}
END_TEST

START_TEST(minimal_and_defaults)
{
	struct domdef d;
	char *x;
	ck_assert_int_eq(parse(DOM(""), &d), 0);
	ck_assert_uint_eq(d.memory_kib, 1024); /* no unit: KiB */
	ck_assert_uint_eq(d.current_kib, 1024);
	ck_assert_uint_eq(d.vcpus, 1);
	ck_assert_int_eq(d.on_crash, DOM_ACT_DESTROY);
	ck_assert_int_eq(domdef_to_xml(&d, &x), 0);
	ck_assert(strstr(x, "<currentMemory unit='KiB'>1024</currentMemory>\n"
			    "  <vcpu placement='static'>1</vcpu>\n"));
	free(x);
	domdef_free(&d);
	/* a given uuid is kept, in canonical form; a given MAC is kept */
	ck_assert_int_eq(parse(DOM("<uuid>7655B2AFD65E4F6D94EBEAD0AB4BA7E6</uuid>"), &d), 0);
	ck_assert_str_eq(d.uuid, "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6");
	domdef_free(&d);
	ck_assert_int_eq(parse(NIC("<model type='virtio'/><mac address='52:54:00:46:1C:72'/>"), &d),
			 0);
	ck_assert_uint_eq(d.nics[0].mac[5], 0x72);
	ck_assert_int_eq(domdef_to_xml(&d, &x), 0);
	ck_assert_ptr_nonnull(strstr(x, "<mac address='52:54:00:46:1C:72'/>"));
	ck_assert_ptr_null(strstr(strstr(x, "<mac ") + 1, "<mac ")); /* none added */
	free(x);
	domdef_free(&d);
	/* kernel boot, readonly raw disk, network NIC, block device */
	ck_assert_int_eq(parse(DOM("<os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd>"
				   "<cmdline>console=ttyS0 root=/dev/vda</cmdline></os>"
				   "<devices><disk type='block'><source dev='/dev/sdz'/>"
				   "<target dev='vdb' bus='virtio'/><readonly/></disk>"
				   "<interface type='network'><source network='default'/>"
				   "<model type='virtio'/></interface></devices>"),
			       &d),
			 0);
	ck_assert_str_eq(d.kernel, "/k");
	ck_assert_str_eq(d.initrd, "/i");
	ck_assert_str_eq(d.cmdline, "console=ttyS0 root=/dev/vda");
	ck_assert(d.disks[0].block && d.disks[0].readonly);
	ck_assert_int_eq(d.disks[0].format, DOM_FMT_RAW);
	ck_assert_str_eq(d.disks[0].source, "/dev/sdz");
	ck_assert_int_eq(d.nics[0].type, DOM_NIC_NETWORK);
	ck_assert_str_eq(d.nics[0].source, "default");
	domdef_free(&d);
}
END_TEST

/* Accepted, with a warning naming what is ignored. */
static const struct {
	const char *xml, *warning;
} warned[] = {
    {DEV("<sound model='ich6'/>"), "t.xml:1: <sound> ignored: not emulated"},
    {DEV("<controller type='usb'/>"), "<controller> ignored"},
    {DEV("<rng model='virtio'/>"), "<rng> ignored"},
    {DEV("<watchdog model='i6300esb'/>"), "<watchdog> ignored"},
    {DEV("<redirdev bus='usb' type='spicevmc'/>"), "<redirdev> ignored"},
    {DEV("<serial type='file'><source path='/tmp/x'/></serial>"), "<serial/console type> ignored"},
    {DOM("<features><acpi/><vmport state='off'/></features>"), "feature <vmport> ignored"},
    {DOM("<features><hyperv><relaxed state='on'/></hyperv></features>"), "feature <hyperv>"},
    {DOM("<cpu mode='host-model'/>"), "<cpu mode='host-model'> ignored"},
    {DOM("<cpu mode='custom'><model>Skylake</model></cpu>"), "<model> ignored"},
    {DOM("<cpu><topology sockets='1' cores='2' threads='1'/></cpu>"), "<topology> ignored"},
    {DOM("<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>"),
     "<timer name='rtc'> ignored"},
    {DOM("<on_crash>coredump-restart</on_crash>"), "coredump-restart ignored"},
    {DOM("<pm><suspend-to-mem enabled='no'/></pm>"), "<pm> ignored"},
    {DOM("<currentMemory>512</currentMemory>"), "<currentMemory> below <memory> ignored"},
    {DOM("<vcpu cpuset='0-1'>1</vcpu>"), "attribute 'cpuset' of <vcpu> ignored"},
    {DOM("<memoryBacking><hugepages/></memoryBacking>"), "<memoryBacking> ignored"},
    {DOM("<seclabel type='none'/>"), "<seclabel> ignored"},
    {DISK("<driver name='qemu' type='raw' cache='none'/><source file='/f'/>"
	  "<target dev='vda' bus='virtio'/>"),
     "attribute 'cache' of <driver> ignored"},
    {DISK("<source file='/f'/><target dev='vda' bus='virtio'/><boot order='1'/>"),
     "<disk><boot> ignored"},
    {NIC("<model type='virtio'/><driver name='vhost'/>"), "<interface><driver> ignored"},
};

START_TEST(warned_case)
{
	struct domdef d;
	capture_start();
	int r = parse(warned[_i].xml, &d);
	const char *err = capture_end();
	if (r != 0 || !strstr(err, warned[_i].warning))
		ck_abort_msg("case %d: rc %d, stderr \"%s\", wanted \"%s\"", _i, r, err,
			     warned[_i].warning);
	domdef_free(&d);
}
END_TEST

/* Refused: ignoring these would change what the guest sees. */
static const struct {
	const char *xml, *error;
} refused[] = {
    {DISK("<source file='/f'/><target dev='sda' bus='sata'/>"),
     "t.xml:1: <target bus='sata'>: minivmm's disks are virtio only"},
    {DISK("<source file='/f'/><target dev='hda' bus='ide'/>"), "<target bus='ide'>"},
    {DISK("<source file='/f'/><target dev='sda' bus='scsi'/>"), "<target bus='scsi'>"},
    {DISK("<source file='/f'/><target dev='sda'/>"), "<target dev='sda'>: expected vda to vdp"},
    {DEV("<disk type='file' device='cdrom'><source file='/i.iso'/>"
	 "<target dev='hdc' bus='ide'/></disk>"),
     "<disk device='cdrom'>"},
    {DEV("<disk type='network'/>"), "<disk type='network'>"},
    {DISK("<driver name='qemu' type='vmdk'/><source file='/f'/><target dev='vda'/>"),
     "<driver type='vmdk'>: minivmm reads raw and qcow2"},
    {DISK("<target dev='vda' bus='virtio'/>"), "<disk> without <source>"},
    {DISK("<source file='/f'/>"), "<disk> needs <target"},
    {DEV("<disk type='file'><source file='/f'/><target dev='vda'/></disk>"
	 "<disk type='file'><source file='/g'/><target dev='vda'/></disk>"),
     "two disks with that target"},
    {DISK("<source file='/f'/><target dev='vda'/><encryption format='luks'/>"),
     "<encryption> in <disk> is not supported"},
    {DEV("<hostdev mode='subsystem' type='pci'/>"), "<hostdev> is not supported: minivmm passes"},
    {DEV("<filesystem type='mount'/>"), "<filesystem> is not supported"},
    {DEV("<tpm model='tpm-tis'/>"), "<tpm> is not supported"},
    {DEV("<parallel type='pty'/>"), "<parallel> is not supported"},
    {DEV("<serial type='pty'/><serial type='pty'/>"), "a second serial port"},
    {DEV("<serial type='pty'><target port='1'/></serial>"), "a second serial port"},
    {DEV("<console type='pty'><target type='virtio'/></console>"),
     "<console><target type='virtio'>"},
    {DEV("<frobnicator/>"), "element <frobnicator> in <devices> is not supported"},
    {NIC("<model type='e1000'/>"), "<model type='e1000'>: minivmm's NICs are virtio only"},
    {NIC("<model type='rtl8139'/>"), "<model type='rtl8139'>"},
    {NIC(""), "<interface> without <model>: libvirt would give the guest an rtl8139"},
    {NIC("<model type='virtio'/><mac address='01:00:5e:00:00:01'/>"), "<mac address='01:"},
    {NIC("<model type='virtio'/><mac address='nope'/>"), "<mac address='nope'>"},
    {NIC("<model type='virtio'/><virtualport type='openvswitch'/>"), "<virtualport>"},
    {DEV("<interface type='user'><source network='default'/><model type='virtio'/></interface>"),
     "<interface type='user'> takes no <source>"},
    {DEV("<interface type='user'><model type='e1000'/></interface>"), "<model type='e1000'>"},
    {DEV("<interface type='user'><mac address='52:54:00:12:34:56'/></interface>"),
     "<interface> without <model>"},
    {DEV("<interface type='user'><backend type='passt'/><model type='virtio'/></interface>"),
     "<backend> in <interface> is not supported"},
    {DEV("<interface type='direct'><source dev='eth0' mode='vepa'/></interface>"),
     "<interface type='direct'>: minivmm connects NICs to a bridge, a network or user-mode"},
    {DEV("<interface type='bridge'><model type='virtio'/></interface>"),
     "<interface> needs <source bridge='NAME'/>"},
    {DOM("<os><type>hvm</type><boot dev='cdrom'/></os>"), "<boot dev='cdrom'>"},
    {DOM("<os><type>hvm</type><boot dev='network'/></os>"), "<boot dev='network'>"},
    {DOM("<os><type>hvm</type><loader readonly='yes' type='pflash'>/OVMF.fd</loader></os>"),
     "<loader> is not supported: minivmm loads no firmware"},
    {DOM("<os firmware='efi'><type>hvm</type></os>"), "<os firmware='efi'>"},
    {DOM("<os><type>exe</type></os>"), "<type>exe</type>: minivmm runs hvm"},
    {DOM("<os><type arch='aarch64'>hvm</type></os>"), "<type arch='aarch64'>"},
    {DOM("<os><boot dev='hd'/></os>"), "<os> needs <type>hvm</type>"},
    {DOM("<cpu><numa><cell id='0' cpus='0' memory='1024'/></numa></cpu>"), "<numa> is not"},
    {DOM("<cpu mode='weird'/>"), "<cpu mode='weird'>"},
    {DOM("<maxMemory slots='16'>4096</maxMemory>"), "<maxMemory> is not supported"},
    {DOM("<vcpu>0</vcpu>"), "<vcpu>: expected 1 to 64"},
    {DOM("<vcpu>65</vcpu>"), "'65' is not a whole number in range"},
    {DOM("<vcpu current='1'>2</vcpu>"), "<vcpu current='1'>"},
    {DOM("<vcpu current='2junk'>2</vcpu>"), "<vcpu current='2junk'>"},
    {DOM("<vcpu current=''>2</vcpu>"), "<vcpu current=''>"},
    {DOM("<uuid></uuid>"), "<uuid></uuid>: expected 32 hex digits"},
    {DEV("<interface type='bridge'><source bridge='..'/><model type='virtio'/></interface>"),
     "<source>: needs bridge='NAME'"},
    {DEV("<interface type='network'><source network='.'/><model type='virtio'/></interface>"),
     "<source>: needs network='NAME'"},
    {DOM("<on_reboot>explode</on_reboot>"), "<on_reboot>: 'explode' is not destroy"},
    {DOM("<features><gic version='3'/></features>"), "feature <gic> is not supported"},
    {DOM("<uuid>not-a-uuid</uuid>"), "<uuid>not-a-uuid</uuid>: expected 32 hex digits"},
    {DOM("<uuid>7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6ff</uuid>"), "expected 32 hex digits"},
    {DOM("<name>m</name>"), "only one <name> in <domain>"},
    {DOM("<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>"),
     "<qemu:commandline> is not supported: there is no QEMU"},
    {DOM("<bogus/>"), "element <bogus> in <domain> is not supported"},
    {DOM("\"<devices/>"), "text inside <domain> is not expected"},
    {DEV("x<disk/>"), "text inside <devices> is not expected"},
    {"<domain type='xen'><name>n</name><memory>1</memory></domain>", "<domain type='xen'>"},
    {"<domain><name>n</name><memory>1</memory></domain>", "<domain> needs type='kvm'"},
    {"<network><name>n</name></network>", "root element is <network>, expected <domain>"},
    {"<domain type='kvm'><memory>1</memory></domain>", "<name> is missing"},
    {"<domain type='kvm'><name>n</name></domain>", "<memory> is missing"},
    {"<domain type='kvm'><name>../etc</name><memory>1</memory></domain>",
     "domain name '../etc' is invalid"},
    {"<domain type='kvm'><name>-x</name><memory>1</memory></domain>", "domain name '-x'"},
    {"<domain type='kvm'><name>n</name><memory>1<memory>", "t.xml:1: unexpected end"},
};

START_TEST(refused_case)
{
	struct domdef d;
	int r = parse(refused[_i].xml, &d);
	if (r != -EINVAL || !strstr(log_last_error(), refused[_i].error))
		ck_abort_msg("case %d: rc %d, error \"%s\", wanted \"%s\"", _i, r, log_last_error(),
			     refused[_i].error);
	ck_assert_ptr_null(d.xml); /* nothing left allocated */
}
END_TEST

static const struct {
	const char *value, *unit;
	unsigned long long kib; /* 0: refused */
} units[] = {
    {"1024000", "KB", 1000000},
    {"1024000", "KiB", 1024000},
    {"1024000", "k", 1024000},
    {"1024000", "", 1024000},
    {"1", "GiB", 1048576},
    {"1", "G", 1048576},
    {"1", "GB", 976563}, /* 10^9 bytes, rounded up to KiB */
    {"512", "M", 524288},
    {"512", "MB", 500000},
    {"1500", "b", 2},
    {"1", "bytes", 1},
    {"1", "T", 1073741824},
    {"1", "TB", 976562500},
    {"2", "TiB", 0}, /* more than 1 TiB */
    {"1", "PiB", 0},
    {"1", "X", 0}, /* unknown unit */
    {"1", "KiBB", 0},
    {"18446744073709551615", "EiB", 0}, /* overflow */
    {"99999999999999999999999", "KiB", 0},
    {"-1", "KiB", 0},
    {"0", "KiB", 0},
    {"1.5", "GiB", 0},
    {"", "KiB", 0},
};

START_TEST(memory_units)
{
	char xml[256];
	struct domdef d;
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>n</name><memory unit='%s'>%s</memory></domain>",
		 units[_i].unit, units[_i].value);
	int r = parse(xml, &d);
	if (units[_i].kib == 0) {
		ck_assert_msg(r == -EINVAL, "%s %s accepted", units[_i].value, units[_i].unit);
		ck_assert(strstr(log_last_error(), "<memory") != NULL);
		return;
	}
	ck_assert_msg(r == 0, "%s %s: %s", units[_i].value, units[_i].unit, log_last_error());
	ck_assert_uint_eq(d.memory_kib, units[_i].kib);
	domdef_free(&d);
}
END_TEST

static char tmp[64];

static void put(const char *name, const void *data, size_t len)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(from_flags)
{
	struct domdef d;
	char q[128], r[128];
	strcpy(tmp, "/tmp/minivmm-flagsXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	put("q.img", "QFI\xfb\0\0\0\3", 8);
	put("r.img", "hello", 5);
	snprintf(q, sizeof(q), "%s/q.img", tmp);
	snprintf(r, sizeof(r), "%s/r.img,readonly", tmp);
	struct dom_flags fl = {.name = "lab",
			       .disks = {q, r},
			       .ndisks = 2,
			       .nics = {"vbr", "default,mac=52:54:00:00:00:07"},
			       .nic_is_network = {false, true},
			       .nnics = 2,
			       .memory = "1G",
			       .cpus = "2"};
	ck_assert_int_eq(domdef_from_flags(&fl, &d), 0);
	ck_assert_str_eq(d.name, "lab");
	ck_assert_uint_eq(d.memory_kib, 1048576);
	ck_assert_uint_eq(d.vcpus, 2);
	ck_assert_uint_eq(d.ndisks, 2);
	ck_assert_int_eq(d.disks[0].format, DOM_FMT_QCOW2); /* read from the header */
	ck_assert_int_eq(d.disks[1].format, DOM_FMT_RAW);
	ck_assert_str_eq(d.disks[1].target, "vdb");
	ck_assert(d.disks[1].readonly);
	ck_assert_str_eq(d.disks[0].source, q);
	ck_assert_int_eq(d.nics[0].type, DOM_NIC_BRIDGE);
	ck_assert_str_eq(d.nics[1].source, "default");
	ck_assert_int_eq(d.nics[1].type, DOM_NIC_NETWORK);
	ck_assert_uint_eq(d.nics[1].mac[5], 7);
	ck_assert_uint_eq(strlen(d.uuid), 36);
	domdef_free(&d);

	struct dom_flags k = {
	    .name = "k", .kernel = "/boot/vmlinuz", .cmdline = "console=ttyS0 a<b"};
	ck_assert_int_eq(domdef_from_flags(&k, &d), 0);
	ck_assert_str_eq(d.cmdline, "console=ttyS0 a<b");
	ck_assert_uint_eq(d.memory_kib, 512 * 1024);
	ck_assert_uint_eq(d.vcpus, 1);
	domdef_free(&d);

	struct dom_flags bad = {.name = "a/b"};
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert(strstr(log_last_error(), "--name 'a/b'") != NULL);
	bad = (struct dom_flags){.name = "x", .memory = "lots"};
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert(strstr(log_last_error(), "--memory 'lots'") != NULL);
	bad = (struct dom_flags){.name = "x", .cpus = "0"};
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert(strstr(log_last_error(), "--cpus '0'") != NULL);
	bad = (struct dom_flags){.name = "x", .disks = {"/nonexistent/d.img"}, .ndisks = 1};
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -ENOENT);
	ck_assert(strstr(log_last_error(), "--disk /nonexistent/d.img") != NULL);
	bad = (struct dom_flags){.name = "x", .nics = {"vbr,mac=ff:ff:ff:ff:ff:ff"}, .nnics = 1};
	ck_assert_int_eq(domdef_from_flags(&bad, &d), -EINVAL);
	ck_assert(strstr(log_last_error(), "--bridge 'vbr,mac=ff") != NULL);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(mutated_lab_never_crashes)
{
	static const char alphabet[] = "<>/='\"&;# !-?abvdn0.:\n";
	unsigned seed = 11;
	char *buf = malloc(sizeof(LAB));
	for (int i = 0; i < 3000; i++) {
		memcpy(buf, LAB, sizeof(LAB));
		for (int k = 0; k < 1 + i % 4; k++)
			buf[(size_t)rand_r(&seed) % (sizeof(LAB) - 1)] =
			    alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		size_t len = sizeof(LAB) - 1 - (size_t)rand_r(&seed) % 8;
		struct domdef d;
		int r = domdef_from_xml(buf, len, "fuzz", &d);
		ck_assert(r == 0 || r == -EINVAL);
		if (!r)
			domdef_free(&d);
	}
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("domdef");
	TCase *tc = tcase_create("domdef");
	log_set_quiet(true);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lab_domain);
	tcase_add_test(tc, written_back_as_libvirt);
	tcase_add_test(tc, minimal_and_defaults);
	tcase_add_test(tc, user_interface_round_trip);
	tcase_add_loop_test(tc, warned_case, 0, (int)(sizeof(warned) / sizeof(warned[0])));
	tcase_add_loop_test(tc, refused_case, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_loop_test(tc, memory_units, 0, (int)(sizeof(units) / sizeof(units[0])));
	tcase_add_test(tc, from_flags);
	tcase_add_test(tc, mutated_lab_never_crashes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
