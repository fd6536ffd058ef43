/* virtio-blk on a read-only disk and on a raw image found by probing. */
#include "tests/virtio/blk_fixture.h"

#include "devices/virtio/virtio.h"

static void fx_ro(void) { bf_open(DISK_FORMAT_RAW, true, 0); }
static void fx_probed(void) { bf_open(DISK_FORMAT_AUTO, false, 0); }
static void fx_close(void) { bf_close(); }

START_TEST(ro_features)
{
	uint64_t f = vblk_features(bf.b);
	ck_assert(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	ck_assert(!(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
}
END_TEST

START_TEST(ro_refuses_writes)
{
	uint8_t b;
	uint64_t data = vdrv_alloc(&bf.d, 512, 512), st;
	memset(vdrv_hva(&bf.d, data), 0xee, 512);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_OUT, 0, data, 512, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("read-only");
	bf_file_read(0, &b, 1);
	ck_assert_uint_eq(b, bf_pattern(0));
}
END_TEST

START_TEST(ro_reads_and_flushes)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, 1, 0, 512, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	st = vdrv_blk_chain(&bf.d, 3, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	ck_assert_int_eq(bf_run(3, st, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(ro_discard_not_negotiated)
{
	uint64_t data = vdrv_alloc(&bf.d, 16, 16), st;
	memcpy(vdrv_hva(&bf.d, data), &(struct virtio_blk_discard_write_zeroes){ 0, 1, 0 }, 16);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_DISCARD, 0, data, 16, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_UNSUPP);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, data, 16, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_UNSUPP);
}
END_TEST

TCase *tcase_blk_readonly(void)
{
	TCase *tc = tcase_create("blk_readonly");
	tcase_add_checked_fixture(tc, fx_ro, fx_close);
	tcase_add_test(tc, ro_features);
	tcase_add_test(tc, ro_refuses_writes);
	tcase_add_test(tc, ro_reads_and_flushes);
	tcase_add_test(tc, ro_discard_not_negotiated);
	return tc;
}

/* A guest must not turn a probed raw image into a "qcow2" one (which the
 * next start would open as qcow2, with a backing file of its choice). */
START_TEST(probed_raw_refuses_qcow2_magic)
{
	uint64_t data = vdrv_alloc(&bf.d, 1024, 512), st;
	uint8_t *p = vdrv_hva(&bf.d, data), b[4];
	memcpy(p, "QFI\xfb", 4);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_OUT, 0, data, 1024, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("qcow2 header");
	bf_file_read(0, b, 4);
	ck_assert_uint_eq(b[0], bf_pattern(0));
	/* Other data at sector 0, and the magic elsewhere, are fine. */
	p[0] = 'X';
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	bf_file_read(0, b, 4);
	ck_assert_int_eq(memcmp(b, "XFI\xfb", 4), 0);
	p[0] = 'Q';
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_OUT, 8, data, 512, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

TCase *tcase_blk_probed(void)
{
	TCase *tc = tcase_create("blk_probed");
	tcase_add_checked_fixture(tc, fx_probed, fx_close);
	tcase_add_test(tc, probed_raw_refuses_qcow2_magic);
	return tc;
}

/* O_DIRECT: aligned buffers go straight to the file; unaligned ones are
 * bounced instead of failing with EINVAL. */
static void fx_direct(void)
{
	bf_direct = true;
	bf_open(DISK_FORMAT_RAW, false, 0);
}

START_TEST(direct_aligned_and_unaligned)
{
	uint64_t data = vdrv_alloc(&bf.d, 16384, 4096), st;
	uint8_t *p = vdrv_hva(&bf.d, data), file[4096];
	ck_assert(bf.disk->direct);
	ck_assert_uint_eq(bf.disk->block_size, 4096);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, 8, data, 4096, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(p[100], bf_pattern(8 * 512 + 100));
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, 16, data + 8, 4096, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(p[8 + 4095], bf_pattern(16 * 512 + 4095));
	memset(p + 8, 0x3c, 4096);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_OUT, 24, data + 8, 4096, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	bf_file_read(24 * 512, file, sizeof(file));
	ck_assert_uint_eq(file[0], 0x3c);
	ck_assert_uint_eq(file[4095], 0x3c);
}
END_TEST

TCase *tcase_blk_direct(void)
{
	TCase *tc = tcase_create("blk_direct");
	tcase_add_checked_fixture(tc, fx_direct, fx_close);
	tcase_add_test(tc, direct_aligned_and_unaligned);
	return tc;
}

/* A driver that did not accept FLUSH gets write-through writes. */
static void fx_no_flush(void)
{
	bf_open(DISK_FORMAT_RAW, false, 0);
	struct virtio_queue_layout q = { BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, vblk_features(bf.b) & ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH),
				    &q, NULL), 0);
}

START_TEST(write_through_without_flush)
{
	uint64_t data = vdrv_alloc(&bf.d, 1024, 512), st;
	uint8_t file[1024];
	memset(vdrv_hva(&bf.d, data), 0x77, 1024);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_OUT, 30, data, 1024, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	bf_file_read(30 * 512, file, sizeof(file));
	ck_assert_uint_eq(file[0], 0x77);
	ck_assert_uint_eq(file[1023], 0x77);
}
END_TEST

TCase *tcase_blk_no_flush(void)
{
	TCase *tc = tcase_create("blk_no_flush");
	tcase_add_checked_fixture(tc, fx_no_flush, fx_close);
	tcase_add_test(tc, write_through_without_flush);
	return tc;
}
