/* Per-VM metadata records: how a VM's hostname, SSH keys, user-data and
 * instance-id reach the network's helper process.
 *
 * The VM process writes, when its NIC with MAC joins bridge BRIDGE (the
 * one net_resolve_bridge() gave it), the directory
 * STATE/run/mdata/BRIDGE/MAC/ (MAC as "52:54:00:12:34:56", lower case)
 * holding one file per item:
 *
 *   instance-id   the VM's UUID (required; [0-9A-Za-z-], < 64 bytes)
 *   hostname      [0-9A-Za-z.-], < 64 bytes, dot-separated labels, none
 *                 empty or starting or ending with '-' (default
 *                 "minivmm-" and the instance-id's first 8 characters)
 *   ssh-keys      authorized_keys text (optional, <= MDATA_KEYS_BYTES)
 *   user-data     bytes as given (optional, <= MDATA_DATA_MAX)
 *   vendor-data   bytes as given (optional, <= MDATA_DATA_MAX)
 *   owner         empty; flock()ed shared by the VM process while it runs
 *                 (optional: a record without one is always served)
 *
 * It is built in a temporary directory beside it and renamed into place
 * (exchanged with an old one, which is then removed), so the helper sees a
 * whole record or none; the VM removes it when it stops (and one it could
 * not remove, SIGKILLed, is no longer served: its owner lock is gone). The helper reads
 * the record on each request (no cache to go stale when a VM restarts with
 * new data), without following symlinks, refusing anything but regular
 * files within the size limits. */
#ifndef MINIVMM_NET_MDATA_RECORD_H
#define MINIVMM_NET_MDATA_RECORD_H

#include "net/mdata_tree.h"

#include <stdbool.h>
#include <stdint.h>

#define MDATA_DATA_MAX (64 * 1024)

/* What a VM process hands over (NULL/0 for what it does not have). */
struct mdata_input {
	const char *instance_id;
	const char *hostname;		/* NULL: the default */
	const char *ssh_keys;
	size_t ssh_keys_len;
	const char *user_data;
	size_t user_data_len;
	const char *vendor_data;
	size_t vendor_data_len;
	/* Not NULL: an owner file is added, flock()ed shared through the
	 * descriptor put here, which the writer keeps open while the record is
	 * valid. A record whose owner file nobody holds (its VM died without
	 * removing it) reads as absent. NULL: no owner file (always valid).
	 * *owner_fd is -1 before, and again after a failure. */
	int *owner_fd;
};

/* A loaded record: vm's pointers point into the buffers it owns. */
struct mdata_record {
	struct mdata_vm vm;
	char *bufs[3];			/* ssh keys, user-data, vendor-data */
};

/* The directory of the records of the VMs on BRIDGE,
 * STATE/run/mdata/BRIDGE, into buf. 0 or -ENAMETOOLONG. */
int mdata_record_dir(const char *state_dir, const char *bridge, char *buf, size_t size);

/* Writes (or replaces) MAC's record under dir (created if missing).
 * Checks every item against the limits above. 0 or -errno (logged, naming
 * the item or file). */
int mdata_record_write(const char *dir, const uint8_t mac[6], const struct mdata_input *in);

/* What `--hostname`, `--ssh-key FILE`, `--user-data FILE` (and a vendor
 * data file) give a VM; NULL for what was not given. */
struct mdata_files {
	const char *instance_id;	/* the VM's UUID as text */
	const char *hostname;
	const char *ssh_key_path;
	const char *user_data_path;
	const char *vendor_data_path;
	int *owner_fd;			/* as in struct mdata_input */
};

/* Reads the files (regular files within the limits; errors name the flag
 * and the file) and writes MAC's record: what the VM process calls when
 * its NIC is on the bridge. 0 or -errno (logged). */
int mdata_record_publish(const char *dir, const uint8_t mac[6], const struct mdata_files *f);

/* The same files and checks, into memory (no directory): the record of
 * a VM that serves its own metadata (--net user). hostname NULL: the
 * default, "minivmm-" and the instance-id's first 8 characters.
 * local_ipv4 left empty. 0 or -errno (logged); mdata_record_free() after a 0. */
int mdata_record_load(const struct mdata_files *f, struct mdata_record *rec);

/* NAME is a host name the records take (the rules above). */
bool mdata_hostname_ok(const char *name);

/* What mdata_record_publish() would refuse, checked without writing: the
 * hostname, and each file a readable regular file within its limit. For
 * the command line and definitions, before a VM starts. 0 or -errno
 * (logged as "--hostname 'NAME': ..." / "--user-data FILE: ..."). */
int mdata_files_check(const struct mdata_files *f);

/* Removes MAC's record; 0 when it is gone (also when there was none). */
int mdata_record_remove(const char *dir, const uint8_t mac[6]);

/* Removes dir and every record in it (`minivmm net stop`/undefine). 0
 * when it is gone. */
int mdata_record_dir_remove(const char *dir);

/* Reads MAC's record from dir into *rec (local_ipv4 left empty). 0,
 * -ENOENT when there is none or its owner is gone, or -errno for a record that breaks the
 * rules (logged). Free with mdata_record_free() after a 0. */
int mdata_record_read(const char *dir, const uint8_t mac[6], struct mdata_record *rec);
void mdata_record_free(struct mdata_record *rec);

#endif
