/* virtio-blk: features, config space, every request type on a raw file. */
#include "tests/virtio/blk_fixture.h"

#include "devices/virtio/virtio.h"

#include <errno.h>
#include <sys/stat.h>

#define T_IN VIRTIO_BLK_T_IN
#define T_OUT VIRTIO_BLK_T_OUT

static void fx_rw(void) { bf_open(DISK_FORMAT_RAW, false, 0); }
static void fx_close(void) { bf_close(); }

START_TEST(features_offered)
{
	uint64_t f = vblk_features(bf.b);
	static const unsigned want[] = { VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC,
		VIRTIO_RING_F_EVENT_IDX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX,
		VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_DISCARD,
		VIRTIO_BLK_F_WRITE_ZEROES };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(f & VIRTIO_BIT(want[i]), "feature %u missing", want[i]);
	ck_assert(!(f & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
	ck_assert_uint_eq(vblk_num_queues(bf.b), 1);
	ck_assert_uint_eq(vblk_queue_max_size(bf.b), VBLK_QUEUE_SIZE);
}
END_TEST

START_TEST(config_space)
{
	struct virtio_blk_config c;
	uint8_t tail[8];
	uint32_t seg_max;
	ck_assert_uint_eq(vblk_config_size(), 60);
	vblk_config_read(bf.b, 0, &c, sizeof(c));
	ck_assert_uint_eq(c.capacity, BF_IMG_SIZE / 512);
	ck_assert_uint_eq(c.seg_max, VBLK_SEG_MAX);
	ck_assert_uint_eq(c.size_max, VBLK_SIZE_MAX);
	ck_assert_uint_eq(c.blk_size, 512);
	ck_assert_uint_eq(c.max_discard_seg, VBLK_DWZ_SEG_MAX);
	ck_assert_uint_eq(c.max_write_zeroes_seg, VBLK_DWZ_SEG_MAX);
	ck_assert_uint_eq(c.write_zeroes_may_unmap, 1);
	/* A 4-byte read at seg_max's offset (as the transport does). */
	vblk_config_read(bf.b, 12, &seg_max, 4);
	ck_assert_uint_eq(seg_max, VBLK_SEG_MAX);
	/* Beyond the end: zeros, no overread. */
	memset(tail, 0xff, sizeof(tail));
	vblk_config_read(bf.b, 56, tail, sizeof(tail));
	ck_assert_uint_eq(tail[0], 1);
	ck_assert_uint_eq(tail[4] | tail[5] | tail[6] | tail[7], 0);
	vblk_config_read(bf.b, 4096, tail, 4);
	ck_assert_uint_eq(tail[0] | tail[3], 0);
}
END_TEST

START_TEST(start_refuses_bad_negotiation)
{
	struct virtio_queue_layout q = { BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	uint64_t f = vblk_features(bf.b);
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, f & ~VIRTIO_BIT(VIRTIO_F_VERSION_1), &q, NULL), -EINVAL);
	ck_assert_last_error("VERSION_1 required");
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, f | VIRTIO_BIT(40), &q, NULL), -EINVAL);
	q.size = 512;
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, f, &q, NULL), -EINVAL);
	ck_assert_last_error("queue 0 size 512 above the maximum 256");
	q.size = 12;
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, f, &q, NULL), -EINVAL);
	ck_assert_int_eq(vblk_process(bf.b), 0);
}
END_TEST

START_TEST(read_sectors)
{
	uint64_t data = vdrv_alloc(&bf.d, 4096, 4096);
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, 10, data, 4096, true);
	uint32_t len;
	uint8_t *p = vdrv_hva(&bf.d, data);
	ck_assert_int_eq(bf_run(0, st, &len), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(len, 4097);
	for (unsigned i = 0; i < 4096; i++)
		ck_assert_uint_eq(p[i], bf_pattern(10 * 512 + i));
	ck_assert_uint_eq(bf.notifies, 1);
}
END_TEST

START_TEST(write_then_read_back)
{
	uint64_t data = vdrv_alloc(&bf.d, 8192, 4096);
	uint8_t *p = vdrv_hva(&bf.d, data), file[8192];
	uint64_t st;
	memset(p, 0x5a, 8192);
	st = vdrv_blk_chain(&bf.d, 0, T_OUT, 100, data, 8192, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
	bf_file_read(100 * 512, file, sizeof(file));
	for (unsigned i = 0; i < sizeof(file); i++)
		ck_assert_uint_eq(file[i], 0x5a);
	bf_file_read(100 * 512 - 1, file, 1);
	ck_assert_uint_eq(file[0], bf_pattern(100 * 512 - 1));
	memset(p, 0, 8192);
	st = vdrv_blk_chain(&bf.d, 3, T_IN, 100, data, 8192, true);
	ck_assert_int_eq(bf_run(3, st, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(p[0], 0x5a);
	ck_assert_uint_eq(p[8191], 0x5a);
}
END_TEST

/* Header split 10+6 over two descriptors, data over three, status in the
 * last byte of a larger writable buffer. */
START_TEST(scattered_request)
{
	uint64_t h = vdrv_alloc(&bf.d, 16, 16), d0 = vdrv_alloc(&bf.d, 512, 512);
	uint64_t d1 = vdrv_alloc(&bf.d, 1024, 512), tail = vdrv_alloc(&bf.d, 513, 512);
	struct virtio_blk_req_hdr *hdr = vdrv_hva(&bf.d, h);
	uint32_t len;
	*hdr = (struct virtio_blk_req_hdr){ .type = T_IN, .sector = 7 };
	vdrv_set_desc(&bf.d, 5, h, 10, VIRTQ_DESC_F_NEXT, 6);
	vdrv_set_desc(&bf.d, 6, h + 10, 6, VIRTQ_DESC_F_NEXT, 9);
	vdrv_set_desc(&bf.d, 9, d0, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vdrv_set_desc(&bf.d, 2, d1, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	vdrv_set_desc(&bf.d, 0, tail, 513, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_int_eq(bf_run(5, tail + 512, &len), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(len, 2049);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, d0), bf_pattern(7 * 512));
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, d1 + 1023), bf_pattern(7 * 512 + 1535));
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, tail + 511), bf_pattern(7 * 512 + 2047));
}
END_TEST

START_TEST(indirect_request)
{
	uint64_t t = vdrv_alloc(&bf.d, 48, 16), h = vdrv_alloc(&bf.d, 16, 16);
	uint64_t data = vdrv_alloc(&bf.d, 512, 512), st = vdrv_alloc(&bf.d, 1, 1);
	struct virtq_desc *td = vdrv_hva(&bf.d, t);
	struct virtio_blk_req_hdr *hdr = vdrv_hva(&bf.d, h);
	*hdr = (struct virtio_blk_req_hdr){ .type = T_IN, .sector = 1 };
	td[0] = (struct virtq_desc){ h, 16, VIRTQ_DESC_F_NEXT, 1 };
	td[1] = (struct virtq_desc){ data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	td[2] = (struct virtq_desc){ st, 1, VIRTQ_DESC_F_WRITE, 0 };
	vdrv_set_desc(&bf.d, 7, t, 48, VIRTQ_DESC_F_INDIRECT, 0);
	ck_assert_int_eq(bf_run(7, st, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, data + 3), bf_pattern(512 + 3));
}
END_TEST

START_TEST(last_sector_ok)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, BF_IMG_SIZE / 512 - 1, 0, 512, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(flush)
{
	uint32_t len;
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	ck_assert_int_eq(bf_run(0, st, &len), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(get_id)
{
	uint32_t len;
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_GET_ID, 0, 0, 20, true);
	uint64_t data = vdrv_desc(&bf.d, 1)->addr;
	ck_assert_int_eq(bf_run(0, st, &len), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(len, 21);
	ck_assert_int_eq(memcmp(vdrv_hva(&bf.d, data), "minivmm-serial-01234", 20), 0);
}
END_TEST

START_TEST(get_id_short_buffer)
{
	uint32_t len;
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_GET_ID, 0, 0, 8, true);
	uint64_t data = vdrv_desc(&bf.d, 1)->addr;
	ck_assert_int_eq(bf_run(0, st, &len), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(len, 9);
	ck_assert_int_eq(memcmp(vdrv_hva(&bf.d, data), "minivmm-", 8), 0);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, data + 8), 0);	/* untouched */
}
END_TEST

static uint64_t dwz_chain(uint32_t type, unsigned nranges, const struct virtio_blk_discard_write_zeroes *r)
{
	uint64_t data = vdrv_alloc(&bf.d, 16 * nranges, 16);
	memcpy(vdrv_hva(&bf.d, data), r, 16 * nranges);
	return vdrv_blk_chain(&bf.d, 0, type, 0, data, 16 * nranges, false);
}

START_TEST(write_zeroes_ranges)
{
	struct virtio_blk_discard_write_zeroes r[2] = { { 8, 2, 0 }, { 20, 1, VIRTIO_BLK_DWZ_F_UNMAP } };
	uint8_t buf[512 * 16];
	ck_assert_int_eq(bf_run(0, dwz_chain(VIRTIO_BLK_T_WRITE_ZEROES, 2, r), NULL), VIRTIO_BLK_S_OK);
	bf_file_read(7 * 512, buf, sizeof(buf));
	for (unsigned i = 0; i < sizeof(buf); i++) {
		unsigned s = 7 + i / 512;
		bool zero = s == 8 || s == 9 || s == 20;
		ck_assert_uint_eq(buf[i], zero ? 0 : bf_pattern(7 * 512 + i));
	}
}
END_TEST

START_TEST(discard_range)
{
	struct virtio_blk_discard_write_zeroes r = { 0, BF_IMG_SIZE / 512, 0 };
	struct stat stbuf;
	ck_assert_int_eq(bf_run(0, dwz_chain(VIRTIO_BLK_T_DISCARD, 1, &r), NULL), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(stat(bf.path, &stbuf), 0);
	ck_assert_int_eq(stbuf.st_size, BF_IMG_SIZE);	/* discard keeps the size */
}
END_TEST

/* 70,000 requests: avail, used and used_event all wrap past 65535; with
 * the driver asking for each completion, each one interrupts. */
START_TEST(indices_wrap_with_event_idx)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_GET_ID, 0, 0, 20, true);
	uint32_t id, len;
	for (unsigned n = 0; n < 70000; n++) {
		*(uint8_t *)vdrv_hva(&bf.d, st) = 0xff;
		vdrv_publish(&bf.d, 0);
		ck_assert_int_eq(vblk_process(bf.b), 1);
		ck_assert(vdrv_get_used(&bf.d, &id, &len));
		ck_assert_uint_eq(len, 21);
		ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st), VIRTIO_BLK_S_OK);
	}
	ck_assert_uint_eq(vdrv_used_idx(&bf.d), (uint16_t)70000);
	ck_assert_uint_eq(bf.notifies, 70000);
}
END_TEST

TCase *tcase_blk(void)
{
	TCase *tc = tcase_create("blk");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, fx_rw, fx_close);
	tcase_add_test(tc, features_offered);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, start_refuses_bad_negotiation);
	tcase_add_test(tc, read_sectors);
	tcase_add_test(tc, write_then_read_back);
	tcase_add_test(tc, scattered_request);
	tcase_add_test(tc, indirect_request);
	tcase_add_test(tc, last_sector_ok);
	tcase_add_test(tc, flush);
	tcase_add_test(tc, get_id);
	tcase_add_test(tc, get_id_short_buffer);
	tcase_add_test(tc, write_zeroes_ranges);
	tcase_add_test(tc, discard_range);
	tcase_add_test(tc, indices_wrap_with_event_idx);
	return tc;
}
