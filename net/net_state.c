/* The state directory: definitions, autostart marks, run records. */
#include "net/net_state.h"

#include "vmm/log.h"
#include "xml/xml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SUBDIRS[] = {"networks", "autostart", "leases", "run"};

int net_state_path(const struct net_state *st, char *buf, size_t size, const char *sub,
		   const char *name, const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s%s%s", st->dir, sub, name ? "/" : "", name ? name : "",
			 suffix ? suffix : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int net_state_open(struct net_state *st, const char *dir, bool write)
{
	char p[PATH_MAX];

	if (!dir || !*dir)
		dir = getenv("MINIVMM_STATE_DIR");
	if (!dir || !*dir)
		dir = NET_STATE_DEFAULT;
	st->lock_fd = -1;
	if (strlen(dir) >= sizeof(st->dir) - 64) {
		log_error("net: state directory path too long");
		return -ENAMETOOLONG;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if (!write)
		return 0;
	for (size_t i = 0; i < sizeof(SUBDIRS) / sizeof(SUBDIRS[0]); i++) {
		net_state_path(st, p, sizeof(p), SUBDIRS[i], NULL, NULL);
		int r = mkdir_p(p);
		if (r < 0) {
			log_error("net: state directory %s: %s%s", p, strerror(-r),
				  r == -EACCES ? " (run as root or use --state-dir)" : "");
			return r;
		}
	}
	net_state_path(st, p, sizeof(p), "lock", NULL, NULL);
	st->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX) < 0) {
		int err = -errno;
		log_error("net: locking %s: %s", p, strerror(errno));
		net_state_close(st);
		return err;
	}
	return 0;
}

void net_state_close(struct net_state *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
}

int net_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0) {
		r = -errno;
	} else {
		if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
			r = errno ? -errno : -EIO;
		close(fd);
		if (!r && rename(tmp, path) < 0)
			r = -errno;
		if (r)
			unlink(tmp);
	}
	if (r)
		log_error("net: writing %s: %s", path, strerror(-r));
	return r;
}

int net_state_load(const struct net_state *st, const char *name, struct netdef *d)
{
	char p[PATH_MAX], *buf = NULL;
	size_t len = 0;

	if (!netdef_name_ok(name)) {
		log_error("net: '%s' is not a valid network name", name);
		return -EINVAL;
	}
	net_state_path(st, p, sizeof(p), "networks", name, ".xml");
	if (access(p, F_OK) < 0 && errno == ENOENT) {
		log_error("net: network '%s' is not defined", name);
		return -ENOENT;
	}
	int r = xml_read_file("net", p, &buf, &len);
	if (r < 0)
		return r;
	r = netdef_from_xml(buf, len, p, d);
	free(buf);
	return r;
}

bool net_state_exists(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	return netdef_name_ok(name) &&
	       net_state_path(st, p, sizeof(p), "networks", name, ".xml") == 0 &&
	       access(p, F_OK) == 0;
}

int net_state_save(const struct net_state *st, const struct netdef *d)
{
	char p[PATH_MAX], *xml;
	int r = netdef_to_xml(d, &xml);

	if (r < 0)
		return r;
	net_state_path(st, p, sizeof(p), "networks", d->name, ".xml");
	r = net_write_atomic(p, xml, strlen(xml));
	free(xml);
	return r;
}

/* Undefining must leave either the whole network or none of it: the
 * autostart mark and the lease file are first moved aside (NAME...undefining),
 * then the definition is removed (the commit point), and only then is what
 * was moved aside deleted. A failure before the commit moves everything
 * back, so the network stays defined as it was. */
int net_state_remove(const struct net_state *st, const char *name)
{
	static const char *const parts[][2] = {{"autostart", NULL}, {"leases", ".leases"}};
	enum { NPARTS = sizeof(parts) / sizeof(parts[0]) };
	char p[NPARTS + 1][PATH_MAX], aside[NPARTS][PATH_MAX + 16];
	bool moved[NPARTS] = {false};
	int r = 0;

	for (size_t i = 0; i < NPARTS && !r; i++) {
		net_state_path(st, p[i], sizeof(p[i]), parts[i][0], name, parts[i][1]);
		int n = snprintf(aside[i], sizeof(aside[i]), "%s.undefining", p[i]);
		if (n < 0 || (size_t)n >= sizeof(aside[i]))
			r = -ENAMETOOLONG;
		else if (rename(p[i], aside[i]) == 0)
			moved[i] = true;
		else if (errno != ENOENT)
			r = -errno;
		if (r)
			log_error("net: removing %s: %s", p[i], strerror(-r));
	}
	net_state_path(st, p[NPARTS], sizeof(p[NPARTS]), "networks", name, ".xml");
	if (!r && unlink(p[NPARTS]) < 0) {
		r = -errno;
		log_error("net: removing %s: %s", p[NPARTS], strerror(-r));
	}
	for (size_t i = 0; i < NPARTS; i++) {
		if (!moved[i])
			continue;
		if (r && rename(aside[i], p[i]) < 0)
			log_warn("net: restoring %s: %s", p[i], strerror(errno));
		else if (!r)
			unlink(aside[i]); /* left over, it is never read */
	}
	if (!r) { /* the helper's log of the last run goes with the network */
		net_state_path(st, p[0], sizeof(p[0]), "run", name, ".log");
		unlink(p[0]);
	}
	return r;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

int net_state_list(const struct net_state *st, char (*names)[NETDEF_NAME_MAX + 1], size_t max)
{
	char p[PATH_MAX];
	size_t n = 0;

	net_state_path(st, p, sizeof(p), "networks", NULL, NULL);
	DIR *dir = opendir(p);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *e; (e = readdir(dir)) && n < max;) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".xml") || len - 4 > NETDEF_NAME_MAX)
			continue;
		memcpy(names[n], e->d_name, len - 4);
		names[n][len - 4] = '\0';
		if (netdef_name_ok(names[n]))
			n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_names);
	return (int)n;
}

bool net_state_autostart(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	net_state_path(st, p, sizeof(p), "autostart", name, NULL);
	return access(p, F_OK) == 0;
}

int net_state_set_autostart(const struct net_state *st, const char *name, bool on)
{
	char p[PATH_MAX];
	net_state_path(st, p, sizeof(p), "autostart", name, NULL);
	if (on)
		return net_write_atomic(p, "", 0);
	return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
}

int net_state_run_read(const struct net_state *st, const char *name, struct net_run *r)
{
	char p[PATH_MAX];
	long pid;
	unsigned idx;
	int prev;

	net_state_path(st, p, sizeof(p), "run", name, ".run");
	FILE *f = fopen(p, "r");
	if (!f)
		return -errno;
	int n = fscanf(f, "pid=%ld ifindex=%u forward_prev=%d", &pid, &idx, &prev);
	fclose(f);
	if (n != 3 || pid < 0 || prev < -1 || prev > 1)
		return -EINVAL;
	r->pid = (pid_t)pid;
	r->ifindex = idx;
	r->forward_prev = prev;
	return 0;
}

int net_state_run_write(const struct net_state *st, const char *name, const struct net_run *r)
{
	char p[PATH_MAX], buf[128];
	net_state_path(st, p, sizeof(p), "run", name, ".run");
	int n = snprintf(buf, sizeof(buf), "pid=%ld ifindex=%u forward_prev=%d\n", (long)r->pid,
			 r->ifindex, r->forward_prev);
	return net_write_atomic(p, buf, (size_t)n);
}

void net_state_run_remove(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	net_state_path(st, p, sizeof(p), "run", name, ".run");
	unlink(p);
}
