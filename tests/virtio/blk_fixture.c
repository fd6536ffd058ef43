#include "tests/virtio/blk_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct blk_fixture bf;
bool bf_direct;
const char *bf_dir;

static void on_notify(void *opaque, unsigned q)
{
	(void)opaque;
	ck_assert_uint_eq(q, 0);
	__atomic_fetch_add(&bf.notifies, 1, __ATOMIC_RELAXED);
}

static void on_needs_reset(void *opaque)
{
	(void)opaque;
	__atomic_fetch_add(&bf.resets, 1, __ATOMIC_RELAXED);
}

struct virtio_hooks bf_hooks(void)
{
	return (struct virtio_hooks){ .notify = on_notify, .needs_reset = on_needs_reset };
}

static void make_image(void)
{
	static uint8_t buf[BF_IMG_SIZE];
	int fd;

	snprintf(bf.path, sizeof(bf.path), "%s/blk-%d.img", bf_dir ? bf_dir : test_tmpdir(),
		 getpid());
	for (uint64_t i = 0; i < sizeof(buf); i++)
		buf[i] = bf_pattern(i);
	fd = open(bf.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
}

void bf_open(enum disk_format f, bool readonly, uint64_t features)
{
	struct disk_opts o = { .format = f, .readonly = readonly, .direct = bf_direct };
	struct vblk_opts vo = { .name = "vda", .serial = "minivmm-serial-0123456789" };
	struct virtio_hooks h = { .notify = on_notify, .needs_reset = on_needs_reset };
	struct virtio_queue_layout q;

	log_set_quiet(true);
	log_clear_last_error();
	memset(&bf, 0, sizeof(bf));
	make_image();
	o.path = bf.path;
	ck_assert_int_eq(disk_open(&o, &bf.disk), 0);
	bf.b = vblk_create(bf.disk, &vo, &h);
	ck_assert_ptr_nonnull(bf.b);
	ck_assert_int_eq(vdrv_init(&bf.d, BF_MEM, BF_QS), 0);
	q = (struct virtio_queue_layout){ BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, features ? features : vblk_features(bf.b), &q, NULL), 0);
}

void bf_close(void)
{
	vblk_destroy(bf.b);
	disk_close(bf.disk);
	vdrv_fini(&bf.d);
	unlink(bf.path);
	bf_direct = false;
	bf_dir = NULL;
}

int bf_run(uint16_t head, uint64_t status_gpa, uint32_t *used_len)
{
	uint32_t id, len;

	vdrv_publish(&bf.d, head);
	ck_assert_int_eq(vblk_process(bf.b), 1);
	ck_assert_msg(vdrv_get_used(&bf.d, &id, &len), "request not completed");
	ck_assert_uint_eq(id, head);
	if (used_len)
		*used_len = len;
	return *(uint8_t *)vdrv_hva(&bf.d, status_gpa);
}

void bf_file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(bf.path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}
