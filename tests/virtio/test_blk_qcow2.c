/* virtio-blk on a qcow2 overlay (made by qemu-img over a compressed base)
 * through the real I/O thread at queue depth 32: reads of allocated
 * clusters and writes into them go to io_uring on the image file, the
 * rest (backing, compressed, allocating writes, write-zeroes) through the
 * engine behind a barrier. Every round mixes them within the same clusters;
 * each result is checked against a reference, and afterwards `qemu-img
 * check` is clean and `qemu-img compare` finds the image equal to the
 * reference, the base unchanged. Needs qemu-img/qemu-io: exit 77 (skip)
 * without them, failure when CI=true. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_blk.h"
#include "tests/virtio/vdrv.h"
#include "vmm/log.h"

#define MIB (1u << 20)
#define SIZE (4 * MIB)
#define QS 128
#define QD 32
#define BLK 4096u

static char dir[] = "/tmp/minivmm-bq-XXXXXX";
static char base[96], top[96], ref_path[96];
static uint8_t ref[SIZE];
static struct vdrv d;
static uint64_t rng = 0x243f6a8885a308d3ull;

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void setup(void)
{
	char raw[96];

	log_set_quiet(true);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(raw, sizeof(raw), "%s/base.raw", dir);
	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	snprintf(ref_path, sizeof(ref_path), "%s/ref.raw", dir);
	sh("qemu-img create -q -f raw %s 4M && qemu-io -f raw -c 'write -P 0x5a 0 4M' %s "
	   ">/dev/null", raw, raw);
	sh("qemu-img convert -c -f raw -O qcow2 %s %s", raw, base);
	sh("qemu-img create -q -f qcow2 -F qcow2 -b %s %s", base, top);
	/* The first MiB allocated in the overlay: the in-place path. */
	sh("qemu-io -f qcow2 -c 'write -P 0x11 0 1M' %s >/dev/null%s", top, "");
	memset(ref, 0x5a, SIZE);
	memset(ref, 0x11, MIB);
	ck_assert_int_eq(vdrv_init(&d, 8 * MIB, QS), 0);
}

static void teardown(void)
{
	vdrv_fini(&d);
	sh("rm -rf %s%s", dir, "");
	strcpy(dir, "/tmp/minivmm-bq-XXXXXX");
}

static void wait_used(uint16_t n)
{
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 20000 && vdrv_used_idx(&d) != n; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(vdrv_used_idx(&d), n);
}

struct slot {
	uint32_t type;
	uint64_t off, status, data;
	uint32_t len;
};

/* One request of a round: its own block, never another's of the round. */
static void make_request(struct slot *s, unsigned i, uint64_t off, uint32_t len)
{
	unsigned kind = (unsigned)(next_rand() % 10);

	s->off = off;
	s->len = len;
	s->data = vdrv_alloc(&d, len, 4096);
	if (kind < 4 || len > BLK) {
		s->type = VIRTIO_BLK_T_IN;
		s->status = vdrv_blk_chain(&d, 3 * i, s->type, off / 512, s->data, len, true);
	} else if (kind < 9) {
		uint8_t v = (uint8_t)(0x20 + next_rand() % 200);
		s->type = VIRTIO_BLK_T_OUT;
		memset(vdrv_hva(&d, s->data), v, len);
		memset(ref + off, v, len);
		s->status = vdrv_blk_chain(&d, 3 * i, s->type, off / 512, s->data, len, false);
	} else {
		struct virtio_blk_discard_write_zeroes z = { .sector = off / 512,
							     .num_sectors = len / 512 };
		s->type = VIRTIO_BLK_T_WRITE_ZEROES;
		memcpy(vdrv_hva(&d, s->data), &z, sizeof(z));
		memset(ref + off, 0, len);
		s->status = vdrv_blk_chain(&d, 3 * i, s->type, 0, s->data, sizeof(z), false);
	}
}

/* Publish 'n' requests at once, one kick, wait, check each. */
static void run_round(int kick_fd, struct slot *s, unsigned n, uint16_t *done)
{
	uint64_t one = 1;
	uint32_t id, len;

	for (unsigned i = 0; i < n; i++)
		vdrv_publish(&d, (uint16_t)(3 * i));
	ck_assert_int_eq(write(kick_fd, &one, sizeof(one)), sizeof(one));
	*done = (uint16_t)(*done + n);
	wait_used(*done);
	while (vdrv_get_used(&d, &id, &len))
		;
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&d, s[i].status), VIRTIO_BLK_S_OK);
		if (s[i].type == VIRTIO_BLK_T_IN)
			ck_assert_msg(!memcmp(vdrv_hva(&d, s[i].data), ref + s[i].off, s[i].len),
				      "read of %u bytes at %llu differs", s[i].len,
				      (unsigned long long)s[i].off);
	}
}

static unsigned long file_sum(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned long sum = 0;
	int c;

	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		sum = sum * 31 + (unsigned)c;
	fclose(f);
	return sum;
}

START_TEST(qd32_mixed_then_qemu_img_agrees)
{
	static struct slot s[QD];
	struct disk *disk;
	struct vblk *b;
	struct vblk_stats st;
	struct disk_opts o = { .path = top };
	unsigned long base_sum = file_sum(base);
	int kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint16_t done = 0;

	ck_assert_int_ge(kick_fd, 0);
	ck_assert_int_eq(disk_open(&o, &disk), 0);
	b = vblk_create(disk, &(struct vblk_opts){ .name = "vda" }, NULL);
	ck_assert_ptr_nonnull(b);
	struct virtio_queue_layout q = { QS, d.desc_gpa, d.avail_gpa, d.used_gpa };
	ck_assert_int_eq(vblk_start(b, d.gm, vblk_features(b), &q, &kick_fd), 0);
	/* Random distinct 4 KiB blocks in the first 2 MiB (allocated and
	 * backing clusters), 16 blocks per 64 KiB cluster: reads, in-place
	 * writes, allocating writes and zeroing share clusters in a round. */
	for (unsigned round = 0; round < 40; round++) {
		uint8_t used[2 * MIB / BLK] = { 0 };
		vdrv_heap_reset(&d);
		for (unsigned i = 0; i < QD; i++) {
			uint64_t blk;
			do
				blk = next_rand() % (2 * MIB / BLK);
			while (used[blk]);
			used[blk] = 1;
			make_request(&s[i], i, blk * BLK, BLK);
		}
		run_round(kick_fd, s, QD, &done);
	}
	/* The whole disk back in 64 KiB reads at qd32, across extent kinds. */
	for (uint64_t off = 0; off < SIZE; off += QD * 65536ull) {
		vdrv_heap_reset(&d);
		for (unsigned i = 0; i < QD; i++) {
			s[i].type = VIRTIO_BLK_T_IN;
			s[i].off = off + i * 65536ull;
			s[i].len = 65536;
			s[i].data = vdrv_alloc(&d, 65536, 4096);
			s[i].status = vdrv_blk_chain(&d, 3 * i, s[i].type, s[i].off / 512, s[i].data,
						     65536, true);
		}
		run_round(kick_fd, s, QD, &done);
	}
	vblk_get_stats(b, &st);
	ck_assert_uint_eq(st.completed, st.requests);
	ck_assert_uint_eq(st.errors, 0);
	ck_assert_uint_gt(st.mapped, 0);	/* the io_uring path ran */
	ck_assert_uint_gt(st.barriers, 0);	/* engine writes waited for it */
	vblk_destroy(b);
	disk_close(disk);
	close(kick_fd);

	FILE *f = fopen(ref_path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(ref, 1, SIZE, f), SIZE);
	fclose(f);
	sh("qemu-img check -q %s%s", top, "");
	sh("qemu-img compare -q -f qcow2 -F raw %s %s", top, ref_path);
	ck_assert_uint_eq(file_sum(base), base_sum);
}
END_TEST

int main(void)
{
	if (system("command -v qemu-img >/dev/null && command -v qemu-io >/dev/null") != 0) {
		const char *ci = getenv("CI");
		fprintf(stderr, "test_blk_qcow2: qemu-img/qemu-io not found (Debian qemu-utils)\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	Suite *su = suite_create("blk_qcow2");
	TCase *tc = tcase_create("blk_qcow2");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, qd32_mixed_then_qemu_img_agrees);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
