/* Backing files: qcow2 or raw, relative names resolved against the image's
 * directory, chains of any depth up to QCOW2_MAX_CHAIN, loops refused. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *qcow2_resolve_backing(const char *image, const char *name)
{
	const char *slash = strrchr(image, '/');
	char *out;

	if (name[0] == '/' || !slash)
		return strdup(name);
	int dirlen = (int)(slash - image);
	if (asprintf(&out, "%.*s/%s", dirlen, image, name) < 0)
		return NULL;
	return out;
}

static int probe_is_qcow2(int fd, bool *is_qcow2)
{
	uint8_t magic[4];
	ssize_t n = pread(fd, magic, 4, 0);

	if (n < 0)
		return -errno;
	*is_qcow2 =
	    n == 4 && magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && magic[3] == 0xfb;
	return 0;
}

static int open_raw(struct qcow2 *q, int fd, const struct stat *st)
{
	q->backing.raw_fd = fd;
	q->backing.size = (uint64_t)st->st_size;
	return 0;
}

/* Names and formats we can open: plain file names, qcow2 or raw. */
static int check_name(struct qcow2 *q)
{
	if (strncmp(q->backing_file, "json:", 5) == 0 || strstr(q->backing_file, "://")) {
		log_error("qcow2: %s: backing file '%s' is not a plain file name", q->name,
			  q->backing_file);
		return -ENOTSUP;
	}
	if (q->backing_fmt[0] && strcmp(q->backing_fmt, "qcow2") && strcmp(q->backing_fmt, "raw")) {
		log_error("qcow2: %s: backing format '%s' is not supported", q->name,
			  q->backing_fmt);
		return -ENOTSUP;
	}
	return 0;
}

/* Open the resolved backing path read-only; refuse loops and odd files. */
static int open_checked(struct qcow2 *q, const dev_t *chain_dev, const ino_t *chain_ino, int n,
			struct stat *st)
{
	int fd = open(q->backing_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int ret;

	if (fd < 0 || fstat(fd, st) < 0) {
		ret = -errno;
		log_error("qcow2: %s: cannot open backing file %s: %s", q->name, q->backing_path,
			  strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	for (int i = 0; i < n; i++) {
		if (chain_dev[i] == st->st_dev && chain_ino[i] == st->st_ino) {
			log_error("qcow2: %s: backing file %s forms a loop in the backing chain",
				  q->name, q->backing_path);
			close(fd);
			return -ELOOP;
		}
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		log_error("qcow2: %s: backing file %s is not a regular file", q->name,
			  q->backing_path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int qcow2_backing_open(struct qcow2 *q, int depth, const dev_t *devs, const ino_t *inos)
{
	/* The images above this backing file, this one included (loop detection). */
	dev_t chain_dev[QCOW2_MAX_CHAIN + 1];
	ino_t chain_ino[QCOW2_MAX_CHAIN + 1];
	struct stat st;
	bool is_qcow2 = false;
	int fd, ret;

	if (depth >= QCOW2_MAX_CHAIN) {
		log_error("qcow2: %s: backing chain deeper than %d", q->name, QCOW2_MAX_CHAIN);
		return -ELOOP;
	}
	if ((ret = check_name(q)))
		return ret;
	q->backing_path = qcow2_resolve_backing(q->path, q->backing_file);
	if (!q->backing_path)
		return -ENOMEM;
	for (int i = 0; i < depth; i++)
		chain_dev[i] = devs[i], chain_ino[i] = inos[i];
	chain_dev[depth] = q->dev;
	chain_ino[depth] = q->ino;
	fd = open_checked(q, chain_dev, chain_ino, depth + 1, &st);
	if (fd < 0)
		return fd;
	if (q->backing_fmt[0])
		is_qcow2 = strcmp(q->backing_fmt, "qcow2") == 0;
	else if ((ret = probe_is_qcow2(fd, &is_qcow2))) {
		close(fd);
		return ret;
	}
	if (!is_qcow2)
		return open_raw(q, fd, &st);
	close(fd);
	struct qcow2_open_opts o = {.flags = 0};
	ret = qcow2_open_internal(q->backing_path, &o, depth + 1, chain_dev, chain_ino,
				  &q->backing.qcow2);
	if (ret)
		return ret;
	q->backing.size = q->backing.qcow2->size;
	return 0;
}

void qcow2_backing_close(struct qcow2 *q)
{
	if (q->backing.qcow2)
		qcow2_close(q->backing.qcow2);
	if (q->backing.raw_fd >= 0)
		close(q->backing.raw_fd);
	q->backing.qcow2 = NULL;
	q->backing.raw_fd = -1;
}

static int raw_read(struct qcow2 *q, int fd, uint64_t off, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			log_error("qcow2: %s: reading backing file %s at 0x%llx: %s", q->name,
				  q->backing_path, (unsigned long long)(off + done), strerror(err));
			return -err;
		}
		if (n == 0) { /* file shrank: the rest reads as zeros */
			memset(buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

int qcow2_backing_read(struct qcow2 *q, uint64_t off, void *buf, size_t len)
{
	struct qcow2_backing *b = &q->backing;
	size_t inside = 0;

	if (b->qcow2 || b->raw_fd >= 0)
		inside = off >= b->size ? 0 : b->size - off < len ? (size_t)(b->size - off) : len;
	memset((uint8_t *)buf + inside, 0, len - inside);
	if (inside == 0)
		return 0;
	if (b->qcow2)
		return qcow2_read(b->qcow2, off, buf, inside);
	return raw_read(q, b->raw_fd, off, buf, inside);
}
