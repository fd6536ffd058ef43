/* File I/O helpers of the qcow2 engine: whole-buffer pread/pwrite with
 * error context, bounds checks against the file, ordering barriers. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(q->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			log_error("qcow2: %s: reading %s at 0x%llx: %s", q->name, what,
				  (unsigned long long)(off + done), strerror(err));
			return -err;
		}
		if (n == 0) {
			log_error("qcow2: %s: %s at 0x%llx beyond end of file", q->name, what,
				  (unsigned long long)off);
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
		    pwrite(q->fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			log_error("qcow2: %s: writing %s at 0x%llx: %s", q->name, what,
				  (unsigned long long)(off + done), strerror(err));
			return -err;
		}
		done += (size_t)n;
	}
	if (off + len > q->file_size)
		q->file_size = off + len;
	return 0;
}

int qcow2_barrier(struct qcow2 *q)
{
	if (!q->powersafe || fdatasync(q->fd) == 0)
		return 0;
	int err = errno;
	log_error("qcow2: %s: fdatasync: %s", q->name, strerror(err));
	return -err;
}

int qcow2_writable_check(struct qcow2 *q)
{
	if (q->incompat & QCOW2_INCOMPAT_CORRUPT) {
		log_error("qcow2: %s: image is marked corrupt; writes refused", q->name);
		return -EROFS;
	}
	if (!q->writable) {
		log_error("qcow2: %s: image is open read-only", q->name);
		return -EROFS;
	}
	return 0;
}

/* QEMU's protocol: a user with permission p holds byte 100+p shared, a user
 * that does not let others have p holds byte 200+p shared; a conflict is
 * someone else's lock on a byte we test. p: 0 consistent read, 1 write,
 * 3 resize. Readers and writers alike refuse to share write and resize. */
static bool locked_by_other(int fd, off_t byte)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

int qcow2_lock(struct qcow2 *q)
{
	const off_t test_rw[] = {200, 201, 101, 103}, hold_rw[] = {100, 101, 201, 203};
	const off_t test_ro[] = {200, 101, 103}, hold_ro[] = {100, 201, 203};
	const off_t *test = q->writable ? test_rw : test_ro,
		    *hold = q->writable ? hold_rw : hold_ro;
	int n_test = q->writable ? 4 : 3, n_hold = q->writable ? 4 : 3;

	for (int i = 0; i < n_test; i++) {
		if (locked_by_other(q->fd, test[i])) {
			log_error("qcow2: %s: image is in use by another process (lock byte %lld)",
				  q->name, (long long)test[i]);
			return -EBUSY;
		}
	}
	for (int i = 0; i < n_hold; i++) {
		struct flock fl = {
		    .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = hold[i], .l_len = 1};
		if (fcntl(q->fd, F_OFD_SETLK, &fl) < 0) {
			log_error(
			    "qcow2: %s: image is in use by another process (lock byte %lld): %s",
			    q->name, (long long)hold[i], strerror(errno));
			return -EBUSY;
		}
	}
	return 0;
}

int qcow2_check_extent(struct qcow2 *q, uint64_t off, uint64_t len, const char *what)
{
	if (off > q->file_size || len > q->file_size - off) {
		log_error("qcow2: %s: %s at 0x%llx beyond end of file", q->name, what,
			  (unsigned long long)off);
		return -EINVAL;
	}
	return 0;
}
