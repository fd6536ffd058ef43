/* struct domdef -> struct vm_config; see dom_config.h. */
#include "vmm/life/dom_config.h"

#include "devices/virtio/net_mac.h"
#include "net/mdata_record.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int disk_spec(const struct domdef *d, const struct dom_disk *k, char *buf, size_t size)
{
	/* --disk's spec is comma-separated: a comma in the file name would
	 * read as an option. */
	if (strchr(k->source, ',')) {
		log_error("domain '%s': disk %s: the file name '%s' has a comma, which minivmm's "
			  "disk layer cannot take; rename the file", d->name, k->target, k->source);
		return -EINVAL;
	}
	int n = snprintf(buf, size, "%s%s,format=%s", k->source, k->readonly ? ",readonly" : "",
			 domdef_format_name(k->format));
	if (n < 0 || (size_t)n >= size) {
		log_error("domain '%s': disk %s: file name too long", d->name, k->target);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Disks in target order: target vdX is --disk number X - 'a'. */
static int map_disks(const struct domdef *d, struct dom_config *out)
{
	const struct dom_disk *by_slot[DOM_DISKS_MAX] = {NULL};
	for (unsigned i = 0; i < d->ndisks; i++) {
		unsigned slot = (unsigned)(d->disks[i].target[2] - 'a');
		if (slot >= DOM_DISKS_MAX || by_slot[slot]) {
			log_error("domain '%s': disk target '%s' repeated or out of vda..vdp", d->name,
				  d->disks[i].target);
			return -EINVAL;
		}
		by_slot[slot] = &d->disks[i];
	}
	for (unsigned slot = 0; slot < d->ndisks; slot++) {
		if (!by_slot[slot]) {
			log_error("domain '%s': no disk with target vd%c, but %u disks: minivmm "
				  "gives targets in order (vda, vdb, ...); renumber the targets",
				  d->name, 'a' + slot, d->ndisks);
			return -EINVAL;
		}
		int r = disk_spec(d, by_slot[slot], out->disk_specs[slot], sizeof(out->disk_specs[0]));
		if (r)
			return r;
		out->cfg.disks[slot] = out->disk_specs[slot];
	}
	out->cfg.ndisks = d->ndisks;
	return 0;
}

static void map_nics(const struct domdef *d, struct dom_config *out)
{
	for (unsigned i = 0; i < d->nnics && i < CLI_MAX_NICS; i++) {
		const struct dom_nic *k = &d->nics[i];
		char mac[NET_MAC_STRLEN];
		bool user = k->type == DOM_NIC_USER;
		net_mac_format(k->mac, mac);
		/* --bridge takes a bridge or a network's name (vm_nics.c resolves
		 * it through the state directory). */
		snprintf(out->nic_specs[i], sizeof(out->nic_specs[i]), "%s,mac=%s",
			 user ? "user" : k->source, mac);
		out->cfg.nics[i] = (struct cli_nic){user ? CLI_NIC_USER : CLI_NIC_BRIDGE,
						    out->nic_specs[i]};
	}
	out->cfg.nnics = d->nnics < CLI_MAX_NICS ? d->nnics : CLI_MAX_NICS;
}

int dom_config_from_def(const struct domdef *d, struct dom_config *out)
{
	memset(out, 0, sizeof(*out));
	out->cfg = (struct vm_config){
	    .kvm_path = "/dev/kvm",
	    .mem_size = d->memory_kib * 1024,
	    .ncpus = d->vcpus,
	    .log_level = LOG_INFO,
	    .kernel = d->kernel,
	    .initrd = d->initrd,
	    .cmdline = d->cmdline,
	    /* No <minivmm:hostname>: the domain's name, as a cloud names a guest
	     * after its instance (when the name is a valid host name). */
	    .hostname = d->hostname ? d->hostname : mdata_hostname_ok(d->name) ? d->name : NULL,
	    .ssh_key_file = d->ssh_key_file,
	    .user_data_file = d->user_data_file,
	};
	snprintf(out->uuid, sizeof(out->uuid), "%s", d->uuid);
	out->cfg.uuid = out->uuid[0] ? out->uuid : NULL;
	if (!d->kernel && !d->ndisks) {
		log_error("domain '%s': no <kernel> and no disk: nothing to boot", d->name);
		return -EINVAL;
	}
	int r = map_disks(d, out);
	if (r)
		return r;
	map_nics(d, out);
	return 0;
}
