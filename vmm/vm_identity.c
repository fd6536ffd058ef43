/* The identity key and the VM's UUID (rules in vm_identity.h). */
#include "vmm/vm_identity.h"
#include "devices/virtio/disk.h"
#include "vmm/cli.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vm_identity_key(const struct vm_config *cfg, char **key)
{
	const char *flag = "--kernel", *path = cfg->kernel;
	char *spec = NULL;
	struct disk_opts o;

	if (cfg->ndisks > 0) {
		spec = strdup(cfg->disks[0]);
		if (!spec)
			return -ENOMEM;
		if (disk_opts_parse(spec, &o) == 0 && o.path) {
			flag = "--disk";
			path = o.path;
		}
	}
	*key = path ? realpath(path, NULL) : NULL;
	int r = *key ? 0 : path ? -errno : -EINVAL;
	if (r)
		log_error("%s %s: cannot resolve its real path (the VM's identity): %s", flag,
			  path ? path : "(none)", strerror(-r));
	free(spec);
	return r;
}

int vm_identity_uuid(const struct vm_config *cfg, uint8_t uuid[UUID_LEN])
{
	if (cfg->uuid) {
		if (uuid_parse(cfg->uuid, uuid) == 0)
			return 0;
		log_error("--uuid '%s': not a UUID like 00112233-4455-6677-8899-aabbccddeeff",
			  cfg->uuid);
		return -EINVAL;
	}
	char *key;
	int r = vm_identity_key(cfg, &key);
	if (r)
		return r;
	uuid_derive(key, uuid);
	free(key);
	return 0;
}
