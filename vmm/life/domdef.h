/* A domain (VM) definition: the subset of libvirt's domain XML that minivmm
 * runs, read from the XML a lab course hands out (node_base.xml) or built
 * from command-line flags.
 *
 * What minivmm does not emulate is a warning naming the element (graphics,
 * video, channel, memballoon, input, ...); what would change what the guest
 * sees is an error (a disk bus other than virtio, a NIC model other than
 * virtio, <hostdev>, firmware, a second serial port, ...). As libvirt does,
 * a missing uuid or MAC is generated and written back into the document,
 * and memory sizes are written back in KiB. */
#ifndef MINIVMM_VMM_LIFE_DOMDEF_H
#define MINIVMM_VMM_LIFE_DOMDEF_H

#include "xml/xml.h"

#include <stdbool.h>
#include <stdint.h>

#define DOM_NAME_MAX 64
#define DOM_DISKS_MAX 16 /* vda..vdp, as `minivmm --disk` */
#define DOM_NICS_MAX 8
#define DOM_VCPUS_MAX 64

enum dom_disk_format { DOM_FMT_RAW, DOM_FMT_QCOW2 };
enum dom_nic_type { DOM_NIC_BRIDGE, DOM_NIC_NETWORK, DOM_NIC_USER /* <interface type='user'> */ };
/* on_poweroff / on_reboot / on_crash */
enum dom_action { DOM_ACT_DESTROY, DOM_ACT_RESTART, DOM_ACT_PRESERVE, DOM_ACT_OTHER };

struct dom_disk {
	char target[8]; /* "vda" */
	char *source;	/* file or block device */
	bool block;	/* <disk type='block'> */
	enum dom_disk_format format;
	bool readonly;
};

struct dom_nic {
	enum dom_nic_type type;
	char source[64]; /* bridge or network name */
	uint8_t mac[6];
	bool mac_generated; /* the document had no <mac> */
};

struct domdef {
	char name[DOM_NAME_MAX + 1];
	char uuid[37];	      /* canonical lower-case 8-4-4-4-12 */
	uint64_t memory_kib;  /* <memory> */
	uint64_t current_kib; /* <currentMemory>, <= memory_kib */
	unsigned vcpus;
	char *kernel, *initrd, *cmdline; /* NULL unless <os> boots a kernel */
	enum dom_action on_poweroff, on_reboot, on_crash;
	struct dom_disk disks[DOM_DISKS_MAX];
	unsigned ndisks;
	struct dom_nic nics[DOM_NICS_MAX];
	unsigned nnics;
	/* minivmm's own <metadata> element (issue 12): NULL when absent.
	 * Paths, read when the VM starts, as disk sources are. */
	char *hostname, *ssh_key_file, *user_data_file;
	bool uuid_generated;  /* the document had no <uuid> */
	struct xml_node *xml; /* the document as stored, generated values included */
};

/* Parse a libvirt domain document. SRC names it in messages
 * ("vmhost.xml:25: ..."). Warnings are logged; errors return -EINVAL.
 * Generated values are already in D->xml. Free with domdef_free(). */
int domdef_from_xml(const char *buf, size_t len, const char *src, struct domdef *d);
/* The stored document (malloc'd). */
int domdef_to_xml(const struct domdef *d, char **out);
/* Replace the uuid (canonical form) / NIC I's MAC, in the document too. */
int domdef_set_uuid(struct domdef *d, const char *uuid);
int domdef_set_mac(struct domdef *d, unsigned i, const uint8_t mac[6]);

struct dom_flags {
	const char *name;
	const char *disks[DOM_DISKS_MAX]; /* "FILE[,readonly][,format=raw|qcow2]" */
	unsigned ndisks;
	const char *nics[DOM_NICS_MAX]; /* "BR" (or network name), optional ",mac=MAC" */
	bool nic_is_network[DOM_NICS_MAX];
	unsigned nnics;
	const char *memory; /* as `minivmm --memory`; NULL: 512M */
	const char *cpus;   /* NULL: 1 */
	const char *kernel, *initrd, *cmdline;
	/* --hostname, --ssh-key FILE, --user-data FILE: minivmm's <metadata> */
	const char *hostname, *ssh_key, *user_data;
};
/* `define --name N --disk ... --bridge ... --memory ... --cpus ...`: the same
 * document a user would write, then parsed as above (formats not given are
 * read from the image header). */
int domdef_from_flags(const struct dom_flags *f, struct domdef *d);

bool domdef_name_ok(const char *name);
const char *domdef_action_name(enum dom_action a);
const char *domdef_format_name(enum dom_disk_format f);
void domdef_free(struct domdef *d);

#endif
