/* Disk opening: file, lock, format detection, backend dispatch. */
#include "devices/virtio/disk.h"

#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char qcow2_magic[4] = { 'Q', 'F', 'I', (char)0xfb };

/* QEMU's permission bits, locked at 100+bit (we hold it) and 200+bit (we
 * do not share it). */
enum { PERM_CONSISTENT_READ = 0, PERM_WRITE = 1, PERM_RESIZE = 3 };
#define LOCK_HELD(bit) (100 + (bit))
#define LOCK_UNSHARED(bit) (200 + (bit))

static int ofd_lock(int fd, short type, int cmd, off_t byte, struct flock *out)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (out)
		*out = fl;
	return 0;
}

/* Does another open file description hold a lock on 'byte'? */
static int lock_taken_by_other(int fd, off_t byte)
{
	struct flock fl = { .l_type = F_UNLCK };
	int r = ofd_lock(fd, F_WRLCK, F_OFD_GETLK, byte, &fl);

	if (r < 0)
		return r;
	return fl.l_type != F_UNLCK;
}

int disk_lock_image(int fd, const char *path, bool writable)
{
	/* held[] are taken shared; a conflict is someone else holding the
	 * opposite byte: our 10x against their 20x and vice versa. */
	const int held_rw[] = { PERM_CONSISTENT_READ, PERM_WRITE, PERM_RESIZE };
	const int held_ro[] = { PERM_CONSISTENT_READ };
	const int unshared[] = { PERM_WRITE, PERM_RESIZE };
	const int *held = writable ? held_rw : held_ro;
	unsigned nheld = writable ? 3 : 1;
	int r = 0;

	for (unsigned i = 0; i < nheld && !r; i++)
		r = ofd_lock(fd, F_RDLCK, F_OFD_SETLK, LOCK_HELD(held[i]), NULL);
	for (unsigned i = 0; i < 2 && !r; i++)
		r = ofd_lock(fd, F_RDLCK, F_OFD_SETLK, LOCK_UNSHARED(unshared[i]), NULL);
	for (unsigned i = 0; i < nheld && !r; i++)
		r = lock_taken_by_other(fd, LOCK_UNSHARED(held[i]));
	for (unsigned i = 0; i < 2 && !r; i++)
		r = lock_taken_by_other(fd, LOCK_HELD(unshared[i]));
	if (r == 1 || r == -EAGAIN || r == -EACCES) {
		log_error("disk: %s: image is locked by another process (%s); "
			  "a disk can be open for writing by only one VM at a time", path,
			  writable ? "it is open elsewhere" : "it is open for writing elsewhere");
		return -EBUSY;
	}
	if (r < 0) {
		log_error("disk: %s: cannot lock image: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int disk_probe_format(int fd, const char *path)
{
	char head[sizeof(qcow2_magic)];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	if (n < 0) {
		log_error("disk: %s: cannot read header: %s", path, strerror(errno));
		return -errno;
	}
	if (n == (ssize_t)sizeof(head) && !memcmp(head, qcow2_magic, sizeof(head)))
		return DISK_FORMAT_QCOW2;
	return DISK_FORMAT_RAW;
}

bool disk_write_forges_header(const struct disk *d, uint64_t off,
			      const struct iovec *iov, int iovcnt)
{
	char head[sizeof(qcow2_magic)];
	size_t got = 0;

	if (!d->format_probed || off >= sizeof(head))
		return false;
	for (int i = 0; i < iovcnt && off + got < sizeof(head); i++) {
		size_t want = sizeof(head) - off - got;
		size_t n = iov[i].iov_len < want ? iov[i].iov_len : want;

		memcpy(head + off + got, iov[i].iov_base, n);
		got += n;
	}
	/* Only a write covering the whole magic can complete it, since the
	 * image did not start with it when probed. */
	return off == 0 && got == sizeof(head) && !memcmp(head, qcow2_magic, sizeof(head));
}

static int open_file(struct disk *d, const struct disk_opts *o)
{
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);

	d->fd = open(o->path, flags);
	if (d->fd < 0) {
		int e = errno;
		log_error("disk: %s: cannot open%s: %s", o->path,
			  o->readonly ? " read-only" : " for writing", strerror(e));
		return -e;
	}
	return disk_lock_image(d->fd, o->path, !o->readonly);
}

static int choose_format(struct disk *d, enum disk_format asked)
{
	int f;

	if (asked != DISK_FORMAT_AUTO)
		return asked;	/* never probe what the user named */
	f = disk_probe_format(d->fd, d->path);
	if (f == DISK_FORMAT_RAW)
		d->format_probed = true;
	return f;
}

int disk_open(const struct disk_opts *o, struct disk **out)
{
	struct disk *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (!o->path) {
		free(d);
		return -EINVAL;
	}
	if (!d || !(d->path = strdup(o->path))) {
		free(d);
		return -ENOMEM;
	}
	d->fd = -1;
	d->readonly = o->readonly;
	d->direct = o->direct;
	r = open_file(d, o);
	if (!r)
		r = choose_format(d, o->format);
	if (r == DISK_FORMAT_RAW)
		r = disk_raw_open(d);
	else if (r == DISK_FORMAT_QCOW2)
		r = disk_qcow2_open(d);
	if (r < 0) {
		disk_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	if (d->fd >= 0)
		close(d->fd);	/* drops the OFD locks */
	free(d->path);
	free(d);
}
