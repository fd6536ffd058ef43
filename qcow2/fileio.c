/* File I/O helpers of the qcow2 engine: whole-buffer pread/pwrite with
 * error context, bounds checks against the file, ordering barriers. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
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

int qcow2_check_extent(struct qcow2 *q, uint64_t off, uint64_t len, const char *what)
{
	if (off > q->file_size || len > q->file_size - off) {
		log_error("qcow2: %s: %s at 0x%llx beyond end of file", q->name, what,
			  (unsigned long long)off);
		return -EINVAL;
	}
	return 0;
}
