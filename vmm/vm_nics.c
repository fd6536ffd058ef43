#include "vmm/vm_nics.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/net_opts.h"
#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_user.h"
#include "devices/virtio/net_user_opts.h"
#include "devices/virtio/virtio_pci.h"
#include "net/mdata_record.h"
#include "net/net_run.h"
#include "net/tap.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/uuid.h"
#include "vmm/vm_identity.h"
#include "vmm/vm_pci.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vm_nic {
	struct vm_pci_port port;
	char ifname[IFNAMSIZ];	/* the TAP: "vnet0"; --net user: "eth0" */
	bool is_user;		/* --net user */
	char bridge[16];	/* --bridge: the bridge it is on */
	uint8_t mac[NET_MAC_LEN];
	unsigned pairs;
	int fds[TAP_MAX_QUEUES];
	unsigned offload;	/* TUN_F_* the TAP takes */
	uint16_t mtu;		/* 0: the device's default (1500) */
	struct vnet_user *user;	/* --net user, until the device takes it */
	struct vpci *dev;
	/* The network's metadata records (net/mdata_record.h): "" when the
	 * bridge is not a started minivmm network; published: ours is there. */
	char mdata_dir[PATH_MAX];
	bool published;
	int owner_fd;		/* the record's owner lock, held while we run */
};

struct vm_nics {
	unsigned n;
	struct vm_nic nic[CLI_MAX_NICS];
};

/* The default MAC's key (net_mac.h): the first disk's real path, else
 * the kernel's; as given when it cannot be resolved. */
static void mac_key(const struct vm_config *cfg, char key[PATH_MAX])
{
	const char *path = cfg->kernel ? cfg->kernel : "";
	char spec[PATH_MAX];
	struct disk_opts o;

	if (cfg->ndisks && snprintf(spec, sizeof(spec), "%s", cfg->disks[0]) < (int)sizeof(spec) &&
	    disk_opts_parse(spec, &o) == 0)
		path = o.path;
	if (!realpath(path, key))
		snprintf(key, PATH_MAX, "%s", path);
}

static int open_tap(struct vm_nic *v, const struct cli_nic *c, const struct net_opts *o)
{
	int r;

	if (c->kind == CLI_NIC_BRIDGE) {
		if ((r = net_resolve_network(NULL, o->name, v->bridge, v->mdata_dir,
					     sizeof(v->mdata_dir))) < 0)
			return r;	/* "not active: run `minivmm net start`" etc. */
		r = tap_open_next("vnet", v->bridge, TAP_VNET_HDR, v->pairs, v->fds, v->ifname);
	} else {
		r = tap_attach(o->name, TAP_VNET_HDR, &v->pairs, v->fds);	/* checks the length */
		if (r == 0)
			memcpy(v->ifname, o->name, strlen(o->name) + 1);
	}
	if (r < 0)
		return r;
	/* virtio 1.x's header, num_buffers included: the TAP reads and writes
	 * exactly what the guest's buffers hold. */
	if ((r = tap_set_vnet_hdr_size(v->fds[0], NET_HDR_LEN)) < 0) {
		log_error("%s %s: TUNSETVNETHDRSZ on %s: %s", c->kind == CLI_NIC_BRIDGE ? "--bridge"
			  : "--tap", c->spec, v->ifname, strerror(-r));
		return r;
	}
	/* The guest's MTU (VIRTIO_NET_F_MTU) is the network's: the bridge's
	 * (a network's <mtu size=...>), or the TAP's own for --tap. */
	int mtu = tap_if_mtu(v->bridge[0] ? v->bridge : v->ifname);
	v->mtu = mtu >= 68 && mtu <= 65535 ? (uint16_t)mtu : 0;
	int probe = tap_probe_offload(v->fds[0]);
	v->offload = probe < 0 ? 0 : (unsigned)probe;
	return 0;
}

static int open_tap_nic(struct vm_nic *v, const struct cli_nic *c,
			const struct vm_config *cfg, unsigned index, const char *key)
{
	struct net_opts o;
	int r;

	if ((r = net_opts_parse(c->kind == CLI_NIC_BRIDGE ? "--bridge" : "--tap", c->spec,
				&o)) < 0)
		return r;
	/* One queue pair per vCPU, as the disks have a queue per vCPU. */
	v->pairs = cfg->ncpus < VNET_MAX_PAIRS ? cfg->ncpus : VNET_MAX_PAIRS;
	if (o.has_mac)
		memcpy(v->mac, o.mac, NET_MAC_LEN);
	else
		net_mac_default(key, index, v->mac);
	return open_tap(v, c, &o);
}

/* libslirp is single-threaded: one queue pair. Its forwards listen from
 * here on, so a port in use stops the VM before it starts. The NIC serves
 * the VM's metadata on 169.254.169.254 itself (net_user_mdata.h). */
static int open_user(struct vm_nic *v, const struct cli_nic *c, const struct vm_config *cfg,
		     const uint8_t uuid[UUID_LEN], unsigned index, const char *key)
{
	struct net_user_opts o;
	char id[UUID_STRLEN];
	int r;

	if ((r = net_user_opts_parse(c->spec, &o)) < 0)
		return r;
	struct vnet_user_identity ident = {
		.instance_id = uuid_format(uuid, id), .hostname = cfg->hostname,
		.ssh_key_file = cfg->ssh_key_file, .user_data_file = cfg->user_data_file,
	};
	v->pairs = 1;
	v->is_user = true;
	if (o.has_mac)
		memcpy(v->mac, o.mac, NET_MAC_LEN);
	else
		net_mac_default(key, index, v->mac);
	snprintf(v->ifname, sizeof(v->ifname), "eth%u", index);
	return vnet_user_create(v->ifname, c->spec, &o, &ident, &v->user);
}

static bool has_mdata(const struct vm_config *cfg)
{
	return cfg->hostname || cfg->ssh_key_file || cfg->user_data_file;
}

/* The VM's record for the network's metadata service, once the TAP is on
 * the bridge; removed by vm_nics_destroy(), on every way the VM stops. A
 * record a SIGKILLed VM left is not served (its owner lock died with the
 * process: net/mdata_record.h), is replaced by the next VM with that MAC,
 * and goes with the rest of the network's at `minivmm net stop`. */
static int publish(struct vm_nic *v, unsigned index, const struct vm_config *cfg,
		   const uint8_t uuid[UUID_LEN])
{
	char id[UUID_STRLEN], mac[NET_MAC_STRLEN];
	enum log_level level = has_mdata(cfg) ? LOG_INFO : LOG_DEBUG;

	if (v->is_user)
		return 0;	/* --net user serves the VM's data itself (net_user_mdata.h) */
	if (!v->mdata_dir[0]) {
		log_msg(level, "eth%u (%s%s): not on a started minivmm network: no metadata "
			"service, nothing published%s", index, v->bridge[0] ? "bridge " : "--tap ",
			v->bridge[0] ? v->bridge : v->ifname,
			has_mdata(cfg) ? " (--hostname/--ssh-key/--user-data unused)" : "");
		return 0;
	}
	const struct mdata_files f = {
		.instance_id = uuid_format(uuid, id), .hostname = cfg->hostname,
		.ssh_key_path = cfg->ssh_key_file, .user_data_path = cfg->user_data_file,
		.owner_fd = &v->owner_fd,
	};
	int r = mdata_record_publish(v->mdata_dir, v->mac, &f);
	if (r < 0)
		return r;	/* logged, naming the flag and file */
	v->published = true;
	log_debug("eth%u: metadata for MAC %s (instance-id %s) in %s", index,
		  net_mac_format(v->mac, mac), id, v->mdata_dir);
	return 0;
}

int vm_nics_open(const struct vm_config *cfg, const uint8_t uuid[UUID_LEN],
		 struct vm_nics **out)
{
	struct vm_nics *n = calloc(1, sizeof(*n));
	char key[PATH_MAX];

	if (!n) {
		log_error("--bridge/--tap: out of memory");
		return -ENOMEM;
	}
	*out = n;
	if (cfg->nnics)
		mac_key(cfg, key);
	for (unsigned i = 0; i < cfg->nnics && i < CLI_MAX_NICS; i++) {
		const struct cli_nic *c = &cfg->nics[i];
		struct vm_nic *v = &n->nic[n->n];
		int r;

		for (unsigned q = 0; q < TAP_MAX_QUEUES; q++)
			v->fds[q] = -1;
		v->owner_fd = -1;
		n->n++;
		r = c->kind == CLI_NIC_USER ? open_user(v, c, cfg, uuid, i, key) : open_tap_nic(v, c, cfg, i, key);
		if (r == 0)
			r = publish(v, i, cfg, uuid);
		if (r < 0)
			return r;
	}
	return 0;
}

int vm_nics_attach(struct vm_nics *n, struct vm_pci *vp)
{
	for (unsigned i = 0; i < n->n; i++) {
		struct vm_nic *v = &n->nic[i];
		char mac[NET_MAC_STRLEN];
		const struct vpci_machine m = vm_pci_machine(vp, &v->port);
		struct vnet_opts o = {
			.name = v->ifname, .pairs = v->pairs, .tap_fds = v->fds,
			.tap_offload = v->offload, .set_offload = v->user ? NULL : tap_set_offload,
			.set_queue = v->user ? NULL : tap_set_queue, .user = v->user, .mtu = v->mtu,
		};
		bool user = v->user != NULL;

		memcpy(o.mac, v->mac, NET_MAC_LEN);
		v->dev = vpci_net_create(&m, &o);
		for (unsigned q = 0; q < TAP_MAX_QUEUES; q++)
			v->fds[q] = -1;	/* the device's now, even on failure */
		v->user = NULL;
		if (!v->dev)
			return -EIO;	/* logged */
		log_debug("eth%u: %s %s%s%s, MAC %s, %u queue pair%s, at PCI 00:%02x.0", i,
			  user ? "user-mode network" : "TAP", user ? "(libslirp)" : v->ifname,
			  v->bridge[0] ? " on bridge " : "", v->bridge,
			  net_mac_format(v->mac, mac), v->pairs, v->pairs > 1 ? "s" : "",
			  vpci_slot(v->dev));
	}
	return 0;
}

void vm_nics_print_stats(const struct vm_nics *n)
{
	for (unsigned i = 0; n && i < n->n; i++)
		if (n->nic[i].dev)
			vnet_print_stats(vpci_device(n->nic[i].dev), stderr);
}

unsigned vm_nics_count(const struct vm_nics *n)
{
	return n ? n->n : 0;
}

bool vm_nics_stats(const struct vm_nics *n, unsigned i, const char **ifname,
		   const uint8_t **mac, struct vnet_stats *out)
{
	if (!n || i >= n->n || !n->nic[i].dev)
		return false;
	*ifname = n->nic[i].is_user ? "user" : n->nic[i].ifname;
	*mac = n->nic[i].mac;
	vnet_get_stats(vpci_device(n->nic[i].dev), out);
	return true;
}

void vm_nics_destroy(struct vm_nics *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < n->n; i++) {
		struct vm_nic *v = &n->nic[i];
		int r;
		if (v->published && (r = mdata_record_remove(v->mdata_dir, v->mac)) < 0)
			log_warn("eth%u: removing its metadata record from %s: %s", i, v->mdata_dir,
				 strerror(-r));
		if (v->owner_fd >= 0)
			close(v->owner_fd);	/* after the removal: never a stale window */
		vpci_net_destroy(v->dev);
		vnet_user_destroy(v->user);
		for (unsigned q = 0; q < TAP_MAX_QUEUES; q++)
			if (v->fds[q] >= 0)
				close(v->fds[q]);
	}
	free(n);
}
