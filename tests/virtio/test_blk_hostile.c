/* virtio-blk against malformed requests: each completed with the right
 * status (or, for a broken ring, NEEDS_RESET), nothing outside RAM or the
 * image touched. */
#include "tests/virtio/blk_fixture.h"

#include "devices/virtio/ratelimit.h"
#include "devices/virtio/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define T_IN VIRTIO_BLK_T_IN
#define T_OUT VIRTIO_BLK_T_OUT
#define CAP (BF_IMG_SIZE / 512)

static void fx_rw(void) { bf_open(DISK_FORMAT_RAW, false, 0); }
static void fx_close(void) { bf_close(); }

/* The image is still the original pattern. */
static void assert_image_untouched(void)
{
	static uint8_t buf[BF_IMG_SIZE], want[BF_IMG_SIZE];
	bf_file_read(0, buf, sizeof(buf));
	for (uint64_t i = 0; i < sizeof(want); i++)
		want[i] = bf_pattern(i);
	ck_assert_msg(memcmp(buf, want, sizeof(buf)) == 0, "the image changed");
}

static int run_rw(uint32_t type, uint64_t sector, uint32_t len, bool writable)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, type, sector, 0, len, writable);
	return bf_run(0, st, NULL);
}

START_TEST(read_past_capacity)
{
	ck_assert_int_eq(run_rw(T_IN, CAP, 512, true), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("beyond capacity");
	ck_assert_int_eq(run_rw(T_IN, CAP - 1, 1024, true), VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(write_past_capacity)
{
	ck_assert_int_eq(run_rw(T_OUT, CAP - 1, 1024, false), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

START_TEST(sector_times_512_overflows)
{
	/* sector*512 wraps to a small offset if computed naively. */
	ck_assert_int_eq(run_rw(T_OUT, (UINT64_MAX / 512) + 2, 512, false), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(run_rw(T_IN, UINT64_MAX, 512, true), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(run_rw(T_OUT, 1ull << 55, 512, false), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

/* size_max is offered; a larger segment is refused before anything is
 * allocated or written for it. */
START_TEST(segment_over_size_max)
{
	ck_assert_int_eq(run_rw(T_OUT, 0, VBLK_SIZE_MAX + 512, false), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("over size_max");
	assert_image_untouched();
}
END_TEST

START_TEST(length_not_sector_multiple)
{
	ck_assert_int_eq(run_rw(T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("not a multiple of 512");
}
END_TEST

START_TEST(unsupported_types)
{
	static const uint32_t types[] = { 2, 3, 10, 14, 99, 0xffffffff };
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint32_t len;
		uint64_t st = vdrv_blk_chain(&bf.d, 0, types[i], 0, 0, 0, false);
		ck_assert_int_eq(bf_run(0, st, &len), VIRTIO_BLK_S_UNSUPP);
		ck_assert_uint_eq(len, 1);
	}
	ck_assert_last_error("unsupported type 4294967295");
}
END_TEST

START_TEST(header_in_writable_buffer)
{
	/* Writable header, then readable data: wrong order for the device. */
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_OUT, 0, 0, 512, false);
	vdrv_desc(&bf.d, 0)->flags |= VIRTQ_DESC_F_WRITE;
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

START_TEST(read_into_readable_buffer)
{
	ck_assert_int_eq(run_rw(T_IN, 0, 512, false), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("wrong direction");
}
END_TEST

START_TEST(write_from_writable_buffer)
{
	ck_assert_int_eq(run_rw(T_OUT, 0, 512, true), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

START_TEST(header_too_short)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, 0, 0, 0, false);
	vdrv_desc(&bf.d, 0)->len = 12;
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("header shorter than 16");
}
END_TEST

START_TEST(no_status_byte)
{
	/* Last descriptor readable: nowhere for a status; completed, len 0. */
	uint32_t len;
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, 0, 0, 512, true);
	vdrv_desc(&bf.d, 2)->flags = 0;
	ck_assert_int_eq(bf_run(0, st, &len), 0xff);
	ck_assert_uint_eq(len, 0);
	ck_assert_last_error("no writable status byte");
}
END_TEST

START_TEST(data_outside_ram)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, 0, BF_MEM - 256, 512, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	st = vdrv_blk_chain(&bf.d, 0, T_OUT, 0, UINT64_MAX - 100, 512, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

/* The largest request the device offers (seg_max data buffers, 512
 * bytes each, through an indirect table) is served, and reads the file. */
START_TEST(seg_max_segments_accepted)
{
	unsigned n = VBLK_SEG_MAX + 2;	/* header + seg_max data + status */
	uint64_t t = vdrv_alloc(&bf.d, 16ull * n, 16), h = vdrv_alloc(&bf.d, 16, 16);
	uint64_t data = vdrv_alloc(&bf.d, 512ull * VBLK_SEG_MAX, 512), st = vdrv_alloc(&bf.d, 1, 1);
	struct virtq_desc *td = vdrv_hva(&bf.d, t);
	uint32_t used;

	((struct virtio_blk_req_hdr *)vdrv_hva(&bf.d, h))->type = T_IN;
	td[0] = (struct virtq_desc){ h, 16, VIRTQ_DESC_F_NEXT, 1 };
	for (unsigned i = 1; i < n - 1; i++)
		td[i] = (struct virtq_desc){ data + 512ull * (i - 1), 512,
					     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1) };
	td[n - 1] = (struct virtq_desc){ st, 1, VIRTQ_DESC_F_WRITE, 0 };
	vdrv_set_desc(&bf.d, 0, t, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	*(uint8_t *)vdrv_hva(&bf.d, st) = 0xff;
	ck_assert_int_eq(bf_run(0, st, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 512u * VBLK_SEG_MAX + 1);
	const uint8_t *p = vdrv_hva(&bf.d, data);
	for (uint64_t i = 0; i < 512ull * VBLK_SEG_MAX; i += 509)
		ck_assert_uint_eq(p[i], bf_pattern(i));
}
END_TEST

START_TEST(too_many_segments)
{
	/* VBLK_SEG_MAX + 3 buffers through an indirect table. */
	unsigned n = VBLK_SEG_MAX + 5;	/* header + data + status > VBLK_SEG_MAX + 2 */
	uint64_t t = vdrv_alloc(&bf.d, 16ull * n, 16), h = vdrv_alloc(&bf.d, 16, 16);
	uint64_t data = vdrv_alloc(&bf.d, 512, 512), st = vdrv_alloc(&bf.d, 1, 1);
	struct virtq_desc *td = vdrv_hva(&bf.d, t);
	((struct virtio_blk_req_hdr *)vdrv_hva(&bf.d, h))->type = T_IN;
	td[0] = (struct virtq_desc){ h, 16, VIRTQ_DESC_F_NEXT, 1 };
	for (unsigned i = 1; i < n - 1; i++)
		td[i] = (struct virtq_desc){ data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1) };
	td[n - 1] = (struct virtq_desc){ st, 1, VIRTQ_DESC_F_WRITE, 0 };
	vdrv_set_desc(&bf.d, 0, t, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	*(uint8_t *)vdrv_hva(&bf.d, st) = 0xff;
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_last_error("malformed buffers");
}
END_TEST

START_TEST(discard_bad_ranges)
{
	struct virtio_blk_discard_write_zeroes r = { CAP - 1, 2, 0 };
	uint64_t data = vdrv_alloc(&bf.d, 16, 16), st;
	memcpy(vdrv_hva(&bf.d, data), &r, 16);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_DISCARD, 0, data, 16, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	r = (struct virtio_blk_discard_write_zeroes){ UINT64_MAX - 1, 4, 0 };
	memcpy(vdrv_hva(&bf.d, data), &r, 16);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	/* Discard with unmap, or unknown flags: UNSUPP (spec 5.2.6.2). */
	r = (struct virtio_blk_discard_write_zeroes){ 0, 1, VIRTIO_BLK_DWZ_F_UNMAP };
	memcpy(vdrv_hva(&bf.d, data), &r, 16);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_UNSUPP);
	/* Range list not a multiple of 16 bytes. */
	vdrv_desc(&bf.d, 1)->len = 12;
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

START_TEST(write_zeroes_bad_flags)
{
	struct virtio_blk_discard_write_zeroes r = { 0, 1, 0x2 };
	uint64_t data = vdrv_alloc(&bf.d, 16, 16), st;
	memcpy(vdrv_hva(&bf.d, data), &r, 16);
	st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, data, 16, false);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_image_untouched();
}
END_TEST

/* The guest rewrites its range list while the request runs: after the
 * first range is done, before the second one would be read again. The
 * device must use the ranges it checked, as they were. A wrapper around
 * the disk's ops does the rewriting from inside the first call. */
static struct {
	const struct disk_ops *real;
	struct disk_ops ops;
	struct virtio_blk_discard_write_zeroes *guest;
	struct virtio_blk_discard_write_zeroes flipped;
	unsigned calls;
	uint64_t off[4], len[4];
	bool unmap[4];
} flip;

static void flip_record(uint64_t off, uint64_t len, bool unmap)
{
	ck_assert_uint_lt(flip.calls, 4);
	flip.off[flip.calls] = off;
	flip.len[flip.calls] = len;
	flip.unmap[flip.calls] = unmap;
	if (flip.calls++ == 0)
		flip.guest[1] = flip.flipped;
}

static int flip_discard(struct disk *d, uint64_t off, uint64_t len)
{
	flip_record(off, len, false);
	return flip.real->discard(d, off, len);
}

static int flip_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	flip_record(off, len, may_unmap);
	return flip.real->write_zeroes(d, off, len, may_unmap);
}

static int run_flipped(uint32_t type, const struct virtio_blk_discard_write_zeroes r[2],
		       struct virtio_blk_discard_write_zeroes flipped)
{
	uint64_t data = vdrv_alloc(&bf.d, 32, 16), st;
	memset(&flip, 0, sizeof(flip));
	flip.real = bf.disk->ops;
	flip.ops = *flip.real;
	flip.ops.discard = flip_discard;
	flip.ops.write_zeroes = flip_write_zeroes;
	flip.guest = vdrv_hva(&bf.d, data);
	flip.flipped = flipped;
	memcpy(flip.guest, r, 32);
	bf.disk->ops = &flip.ops;
	st = vdrv_blk_chain(&bf.d, 0, type, 0, data, 32, false);
	int status = bf_run(0, st, NULL);
	bf.disk->ops = flip.real;
	return status;
}

START_TEST(discard_ranges_changed_while_running)
{
	const struct virtio_blk_discard_write_zeroes r[2] = { { 8, 2, 0 }, { 20, 1, 0 } };
	/* Beyond capacity and with a flag discard refuses: neither is seen. */
	ck_assert_int_eq(run_flipped(VIRTIO_BLK_T_DISCARD, r,
		(struct virtio_blk_discard_write_zeroes){ CAP + 8, 4, VIRTIO_BLK_DWZ_F_UNMAP }),
		VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(flip.calls, 2);
	ck_assert_uint_eq(flip.off[0], 8 * 512);
	ck_assert_uint_eq(flip.len[0], 2 * 512);
	ck_assert_uint_eq(flip.off[1], 20 * 512);
	ck_assert_uint_eq(flip.len[1], 512);
}
END_TEST

START_TEST(write_zeroes_ranges_changed_while_running)
{
	static uint8_t buf[512];
	const struct virtio_blk_discard_write_zeroes r[2] = { { 8, 2, VIRTIO_BLK_DWZ_F_UNMAP },
							      { 20, 1, 0 } };
	/* Another sector, and UNMAP now allowed: the checked copy wins. */
	ck_assert_int_eq(run_flipped(VIRTIO_BLK_T_WRITE_ZEROES, r,
		(struct virtio_blk_discard_write_zeroes){ 30, 1, VIRTIO_BLK_DWZ_F_UNMAP }),
		VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(flip.calls, 2);
	ck_assert(flip.unmap[0]);
	ck_assert_uint_eq(flip.off[1], 20 * 512);
	ck_assert_uint_eq(flip.len[1], 512);
	ck_assert(!flip.unmap[1]);
	bf_file_read(20 * 512, buf, sizeof(buf));
	for (unsigned i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
	bf_file_read(30 * 512, buf, sizeof(buf));		/* the flipped range: untouched */
	for (unsigned i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], bf_pattern(30 * 512 + i));
}
END_TEST

/* A flood of bad requests is answered in full but logged only ~10/s. */
START_TEST(errors_are_rate_limited)
{
	struct timespec t0, t1;
	char want[64];
	for (int attempt = 0; attempt < 3; attempt++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (unsigned i = 0; i < 15; i++)
			ck_assert_int_eq(run_rw(T_IN, CAP + 100 * attempt + i, 512, true),
					 VIRTIO_BLK_S_IOERR);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t0.tv_sec != t1.tv_sec) {
			/* A new log window began midway: retry from a fresh one. */
			do {
				usleep(10000);
				clock_gettime(CLOCK_MONOTONIC, &t0);
			} while (t0.tv_sec == t1.tv_sec);
			continue;
		}
		snprintf(want, sizeof(want), "sector %u ", CAP + 100 * attempt + RATELIMIT_BURST - 1);
		ck_assert_last_error(want);
		return;
	}
	ck_abort_msg("could not run 15 requests within one second");
}
END_TEST

START_TEST(broken_ring_needs_reset)
{
	uint32_t id, len;
	uint64_t st = vdrv_blk_chain(&bf.d, 0, T_IN, 0, 0, 512, true);
	vdrv_publish(&bf.d, 0);		/* a good request first */
	vdrv_set_desc(&bf.d, 5, 0x8000, 16, VIRTQ_DESC_F_NEXT, 5);	/* then a loop */
	vdrv_publish(&bf.d, 5);
	ck_assert_int_eq(vblk_process(bf.b), -EIO);
	ck_assert_uint_eq(bf.resets, 1);
	ck_assert(vdrv_get_used(&bf.d, &id, &len));	/* the good one completed */
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bf.notifies, 1);
	/* Later kicks do nothing and do not raise it again. */
	vdrv_publish(&bf.d, 0);
	ck_assert_int_eq(vblk_process(bf.b), -EIO);
	ck_assert_uint_eq(bf.resets, 1);
	ck_assert(!vdrv_get_used(&bf.d, &id, &len));
}
END_TEST

START_TEST(reset_restarts_after_broken_ring)
{
	struct virtio_queue_layout q = { BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	uint64_t st;
	vdrv_set_avail_idx(&bf.d, 100);
	ck_assert_int_eq(vblk_process(bf.b), -EIO);
	vblk_reset(bf.b);
	memset(bf.d.mem, 0, 0x2000);
	bf.d.avail_idx = bf.d.last_used = 0;
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, vblk_features(bf.b), &q, NULL), 0);
	st = vdrv_blk_chain(&bf.d, 0, T_IN, 0, 0, 512, true);
	ck_assert_int_eq(bf_run(0, st, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

TCase *tcase_blk_hostile(void)
{
	TCase *tc = tcase_create("blk_hostile");
	tcase_add_checked_fixture(tc, fx_rw, fx_close);
	tcase_add_test(tc, read_past_capacity);
	tcase_add_test(tc, write_past_capacity);
	tcase_add_test(tc, sector_times_512_overflows);
	tcase_add_test(tc, length_not_sector_multiple);
	tcase_add_test(tc, segment_over_size_max);
	tcase_add_test(tc, unsupported_types);
	tcase_add_test(tc, header_in_writable_buffer);
	tcase_add_test(tc, read_into_readable_buffer);
	tcase_add_test(tc, write_from_writable_buffer);
	tcase_add_test(tc, header_too_short);
	tcase_add_test(tc, no_status_byte);
	tcase_add_test(tc, data_outside_ram);
	tcase_add_test(tc, too_many_segments);
	tcase_add_test(tc, seg_max_segments_accepted);
	tcase_add_test(tc, discard_bad_ranges);
	tcase_add_test(tc, write_zeroes_bad_flags);
	tcase_add_test(tc, discard_ranges_changed_while_running);
	tcase_add_test(tc, write_zeroes_ranges_changed_while_running);
	tcase_add_test(tc, errors_are_rate_limited);
	tcase_add_test(tc, broken_ring_needs_reset);
	tcase_add_test(tc, reset_restarts_after_broken_ring);
	return tc;
}
