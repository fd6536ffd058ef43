/* Per-VM metadata records on disk (format and rules in mdata_record.h). */
#include "net/mdata_record.h"
#include "net/dhcp_lease.h"
#include "vmm/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ITEM_KEYS, ITEM_USER, ITEM_VENDOR };
static const char *const item_names[] = { "ssh-keys", "user-data", "vendor-data" };
static const size_t item_max[] = { MDATA_KEYS_BYTES, MDATA_DATA_MAX, MDATA_DATA_MAX };

int mdata_record_dir(const char *state_dir, const char *bridge, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/run/mdata/%s", state_dir, bridge);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* instance-id and hostname: short, from a small alphabet, so they go into
 * YAML, HTTP bodies and logs as they are. */
static bool name_ok(const char *s, size_t n, bool dots)
{
	if (n == 0 || n >= MDATA_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '-' || (dots && c == '.');
		if (!ok)
			return false;
	}
	return true;
}

/* A host name as RFC 1123 has it: dot-separated labels of letters,
 * digits and '-', none empty, none starting or ending with '-'. */
static bool hostname_ok(const char *s, size_t n)
{
	if (!name_ok(s, n, true))
		return false;
	for (size_t i = 0; i < n; i++) {
		bool start = i == 0 || s[i - 1] == '.', end = i + 1 == n || s[i + 1] == '.';
		if ((s[i] == '.' && (start || end)) || (s[i] == '-' && (start || end)))
			return false;
	}
	return true;
}

bool mdata_hostname_ok(const char *name)
{
	return hostname_ok(name, strlen(name));
}

/* NULL (the default) or a good host name; else logged, -EINVAL. */
static int check_hostname(const char *h)
{
	if (!h || hostname_ok(h, strlen(h)))
		return 0;
	log_error("--hostname '%s': want 1..63 characters of [0-9A-Za-z.-], labels "
		  "between dots not empty and not starting or ending with '-'", h);
	return -EINVAL;
}

static int write_all(int dfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? -errno : -EIO;
			close(fd);
			return e;
		}
		data += w;
		len -= (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Removes the directory path: its files, and with depth 1 its
 * directories' files too (a record holds files only; a network's
 * directory, records). Never follows a symlink. */
static int remove_tree(const char *path, int depth)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	char sub[4096];
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (depth > 0 && e->d_type == DT_DIR &&
		    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub))
			remove_tree(sub, depth - 1);
		else
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int remove_record(const char *path)
{
	return remove_tree(path, 0);
}

static int check_input(const struct mdata_input *in)
{
	const size_t lens[] = { in->ssh_keys_len, in->user_data_len, in->vendor_data_len };

	if (!in->instance_id || !name_ok(in->instance_id, strlen(in->instance_id), false)) {
		log_error("metadata: instance-id '%s': want 1..63 of [0-9A-Za-z-]",
			  in->instance_id ? in->instance_id : "");
		return -EINVAL;
	}
	if (check_hostname(in->hostname) < 0)
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (lens[i] > item_max[i]) {
			log_error("metadata: %s: %zu bytes, at most %zu", item_names[i], lens[i],
				  item_max[i]);
			return -EFBIG;
		}
	return 0;
}

/* The owner file, flock()ed shared by the writer for as long as it keeps
 * *fd open: taken before the record is renamed into place. */
static int take_owner(int dfd, int *fd)
{
	int o = openat(dfd, "owner", O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o < 0)
		return -errno;
	if (flock(o, LOCK_SH | LOCK_NB) < 0) {
		int e = -errno;
		close(o);
		return e;
	}
	*fd = o;
	return 0;
}

/* A record with an owner file nobody holds any more (a VM that was
 * SIGKILLed or crashed): stale, not served. */
static bool owner_gone(int dfd)
{
	int o = openat(dfd, "owner", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (o < 0)
		return false;	/* none: a record without an owner (tools, tests) */
	bool gone = flock(o, LOCK_EX | LOCK_NB) == 0;
	close(o);		/* drops the lock again */
	return gone;
}

/* The record at PATH has an owner that still runs (its lock is held). */
static bool owner_running(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return false;
	int o = openat(dfd, "owner", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (o < 0)
		return false;
	bool held = flock(o, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(o);
	return held;
}

static int fill_tmp(const char *tmp, const struct mdata_input *in)
{
	const char *data[] = { in->ssh_keys, in->user_data, in->vendor_data };
	const size_t lens[] = { in->ssh_keys_len, in->user_data_len, in->vendor_data_len };
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int r = write_all(dfd, "instance-id", in->instance_id, strlen(in->instance_id));
	if (!r && in->hostname)
		r = write_all(dfd, "hostname", in->hostname, strlen(in->hostname));
	for (int i = 0; i < 3 && !r; i++)
		if (data[i])
			r = write_all(dfd, item_names[i], data[i], lens[i]);
	if (!r && in->owner_fd)
		r = take_owner(dfd, in->owner_fd);
	close(dfd);
	return r;
}

/* dir and the missing ones above it (run/ and run/mdata/ may not exist
 * yet), up to the state directory, which must. */
static int make_dir(const char *dir, int depth)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (errno != ENOENT || !slash || slash == parent || depth == 0)
		return -errno;
	*slash = 0;
	int r = make_dir(parent, depth - 1);
	if (r)
		return r;
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

int mdata_record_write(const char *dir, const uint8_t mac[6], const struct mdata_input *in)
{
	char m[18], path[4096], tmp[4096];
	bool busy = false;
	int r = check_input(in);
	if (r)
		return r;
	dhcp_mac_format(mac, m);
	if (snprintf(path, sizeof(path), "%s/%s", dir, m) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%ld", dir, m, (long)getpid()) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((r = make_dir(dir, 2)) == 0 && (r = remove_record(tmp)) == 0)
		r = mkdir(tmp, 0700) < 0 ? -errno : 0;
	if (!r)
		r = fill_tmp(tmp, in);
	if (!r && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		r = -errno;
		/* A record of an earlier run: swap it out whole. One whose owner
		 * still runs is another VM's with this MAC: not taken over. */
		if (r == -EEXIST && owner_running(path)) {
			log_error("metadata: MAC %s on this network is already used by a running VM "
				  "(its record %s): give this one another mac=", m, path);
			busy = true;
			r = -EBUSY;
		} else if (r == -EEXIST) {
			r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) < 0 ? -errno : 0;
		}
	}
	remove_record(tmp);
	if (r && in->owner_fd && *in->owner_fd >= 0) {	/* nothing to own */
		close(*in->owner_fd);
		*in->owner_fd = -1;
	}
	if (r && !busy)
		log_error("metadata: writing %s: %s", path, strerror(-r));
	return r;
}

int mdata_record_dir_remove(const char *dir)
{
	return remove_tree(dir, 1);
}

int mdata_record_remove(const char *dir, const uint8_t mac[6])
{
	char m[18], path[4096];
	char gone[4096];
	dhcp_mac_format(mac, m);
	if (snprintf(path, sizeof(path), "%s/%s", dir, m) >= (int)sizeof(path) ||
	    snprintf(gone, sizeof(gone), "%s/.gone-%s-%ld", dir, m, (long)getpid()) >=
		    (int)sizeof(gone))
		return -ENAMETOOLONG;
	/* Out of the server's sight in one step, then emptied: never served
	 * half removed. */
	if (rename(path, gone) < 0)
		return errno == ENOENT ? 0 : -errno;
	return remove_record(gone);
}

/* A file into a malloc'd buffer (NUL-terminated): regular files only, at
 * most max bytes (-EFBIG beyond). -ENOENT when absent. */
static int read_bounded(int dfd, const char *name, int flags, size_t max, char **out,
			size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
	struct stat st;
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		int e = S_ISREG(st.st_mode) ? -EFBIG : -EPERM;
		close(fd);
		return e;
	}
	char *buf = malloc(max + 2);
	size_t n = 0;
	ssize_t got = 1;
	/* read to max + 1: a file grown since fstat is refused too */
	while (buf && n <= max && (got = read(fd, buf + n, max + 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	if (!buf || got < 0 || n > max) {
		free(buf);
		return !buf ? -ENOMEM : got < 0 ? -EIO : -EFBIG;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* A record's item: never through a symlink. */
static int read_item(int dfd, const char *name, size_t max, char **out, size_t *len)
{
	int r = read_bounded(dfd, name, O_NOFOLLOW, max, out, len);
	return r == -EFBIG ? -EPERM : r;
}

/* instance-id or hostname: one line, checked. */
static int read_name(int dfd, const char *name, bool dots, char out[MDATA_ID_MAX])
{
	char *buf;
	size_t n;
	int r = read_item(dfd, name, MDATA_ID_MAX, &buf, &n);
	if (r)
		return r;
	if (n && buf[n - 1] == '\n')
		n--;
	r = (dots ? hostname_ok(buf, n) : name_ok(buf, n, false)) ? 0 : -EINVAL;
	if (!r) {
		memcpy(out, buf, n);
		out[n] = 0;
	}
	free(buf);
	return r;
}

/* No host name given: "minivmm-" and the instance-id's first 8 characters. */
static void default_hostname(struct mdata_vm *vm)
{
	snprintf(vm->hostname, sizeof(vm->hostname), "minivmm-%.8s", vm->instance_id);
}

static int read_record(int dfd, struct mdata_record *rec)
{
	struct mdata_vm *vm = &rec->vm;
	const char **data[] = { &vm->ssh_keys, &vm->user_data, &vm->vendor_data };
	size_t *lens[] = { &vm->ssh_keys_len, &vm->user_data_len, &vm->vendor_data_len };
	int r = read_name(dfd, "instance-id", false, vm->instance_id);
	if (r)
		return r == -ENOENT ? -EINVAL : r;	/* a record needs one */
	r = read_name(dfd, "hostname", true, vm->hostname);
	if (r == -ENOENT)
		default_hostname(vm);
	else if (r)
		return r;
	for (int i = 0; i < 3; i++) {
		r = read_item(dfd, item_names[i], item_max[i], &rec->bufs[i], lens[i]);
		if (r && r != -ENOENT)
			return r;
		*data[i] = rec->bufs[i];
	}
	return 0;
}

int mdata_record_read(const char *dir, const uint8_t mac[6], struct mdata_record *rec)
{
	char m[18], path[4096];
	memset(rec, 0, sizeof(*rec));
	dhcp_mac_format(mac, m);
	if (snprintf(path, sizeof(path), "%s/%s", dir, m) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -ENOENT : -EPERM;
	if (owner_gone(dfd)) {
		close(dfd);
		log_debug("metadata: record %s: its VM is gone (owner unlocked): not served", path);
		return -ENOENT;
	}
	int r = read_record(dfd, rec);
	close(dfd);
	if (r) {
		log_warn("metadata: record %s is unusable (%s): not served", path, strerror(-r));
		mdata_record_free(rec);
	}
	return r;
}

void mdata_record_free(struct mdata_record *rec)
{
	for (int i = 0; i < 3; i++) {
		free(rec->bufs[i]);
		rec->bufs[i] = NULL;
	}
}

/* One --flag FILE into *buf (NULL path: nothing). */
static int publish_file(const char *flag, const char *path, size_t max, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!path)
		return 0;
	int r = read_bounded(AT_FDCWD, path, 0, max, buf, len);
	if (r == -EFBIG)
		log_error("%s %s: larger than %zu bytes", flag, path, max);
	else if (r == -EPERM)
		log_error("%s %s: not a regular file", flag, path);
	else if (r)
		log_error("%s %s: %s", flag, path, strerror(-r));
	return r;
}

/* The files into bufs (NULL for those not given). */
static int read_files(const struct mdata_files *f, char *bufs[3], size_t lens[3])
{
	const char *flags[] = { "--ssh-key", "--user-data", "--vendor-data" };
	const char *paths[] = { f->ssh_key_path, f->user_data_path, f->vendor_data_path };
	int r = 0;

	for (int i = 0; i < 3; i++)
		bufs[i] = NULL;
	for (int i = 0; i < 3 && !r; i++)
		r = publish_file(flags[i], paths[i], item_max[i], &bufs[i], &lens[i]);
	return r;
}

int mdata_files_check(const struct mdata_files *f)
{
	char *bufs[3];
	size_t lens[3];
	int r = read_files(f, bufs, lens);

	for (int i = 0; i < 3; i++)
		free(bufs[i]);
	return r ? r : check_hostname(f->hostname);
}

int mdata_record_publish(const char *dir, const uint8_t mac[6], const struct mdata_files *f)
{
	char *bufs[3];
	size_t lens[3];
	int r = read_files(f, bufs, lens);

	if (!r) {
		struct mdata_input in = {
			.instance_id = f->instance_id, .hostname = f->hostname,
			.ssh_keys = bufs[0], .ssh_keys_len = lens[0],
			.user_data = bufs[1], .user_data_len = lens[1],
			.vendor_data = bufs[2], .vendor_data_len = lens[2],
			.owner_fd = f->owner_fd,
		};
		r = mdata_record_write(dir, mac, &in);
	}
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
	return r;
}

int mdata_record_load(const struct mdata_files *f, struct mdata_record *rec)
{
	size_t lens[3];
	struct mdata_input in = { .instance_id = f->instance_id, .hostname = f->hostname };

	memset(rec, 0, sizeof(*rec));
	int r = read_files(f, rec->bufs, lens);
	if (!r)
		r = check_input(&in);
	if (r) {
		mdata_record_free(rec);
		return r;
	}
	struct mdata_vm *vm = &rec->vm;
	snprintf(vm->instance_id, sizeof(vm->instance_id), "%s", f->instance_id);
	if (f->hostname)
		snprintf(vm->hostname, sizeof(vm->hostname), "%s", f->hostname);
	else
		default_hostname(vm);
	vm->ssh_keys = rec->bufs[0];
	vm->ssh_keys_len = lens[0];
	vm->user_data = rec->bufs[1];
	vm->user_data_len = lens[1];
	vm->vendor_data = rec->bufs[2];
	vm->vendor_data_len = lens[2];
	return 0;
}
