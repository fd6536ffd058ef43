/* virtio-blk on its I/O thread: kicks by eventfd, io_uring (and the
 * synchronous fallback), interrupts through the notify hook. */
#include "tests/virtio/blk_fixture.h"

#include "devices/virtio/virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

static int kick_fd = -1;

static int kick_flags = EFD_NONBLOCK;

static int poll_us;	/* 0: the device's default (adaptive polling) */

static void start_thread(bool force_sync)
{
	struct vblk_opts vo = { .name = "vda", .force_sync = force_sync, .poll_us = poll_us };
	struct virtio_queue_layout q = { BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	struct virtio_hooks h = bf_hooks();

	vblk_destroy(bf.b);
	bf.b = vblk_create(bf.disk, &vo, &h);
	ck_assert_ptr_nonnull(bf.b);
	kick_fd = eventfd(0, EFD_CLOEXEC | kick_flags);
	ck_assert_int_ge(kick_fd, 0);
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, vblk_features(bf.b), &q, &kick_fd), 0);
}

static void fx_uring(void) { bf_open(DISK_FORMAT_RAW, false, 0); start_thread(false); }
static void fx_sync(void) { bf_open(DISK_FORMAT_RAW, false, 0); start_thread(true); }
static void fx_polling(void)
{
	poll_us = 200;
	bf_open(DISK_FORMAT_RAW, false, 0);
	start_thread(false);
}

static void fx_nopoll(void)
{
	poll_us = -1;
	bf_open(DISK_FORMAT_RAW, false, 0);
	start_thread(false);
}
/* A window far longer than the test needs to publish the next request. */
static void fx_long_poll(void)
{
	poll_us = 500000;
	bf_open(DISK_FORMAT_RAW, false, 0);
	start_thread(false);
}

/* A blocking eventfd, as a transport may register for ioeventfd. */
static void fx_blocking(void)
{
	kick_flags = 0;
	bf_open(DISK_FORMAT_RAW, false, 0);
	start_thread(false);
}
static void fx_close(void)
{
	bf_close();
	close(kick_fd);
	kick_flags = EFD_NONBLOCK;
	poll_us = 0;
}

static void kick(void)
{
	uint64_t one = 1;
	ck_assert_int_eq(write(kick_fd, &one, sizeof(one)), sizeof(one));
}

/* Wait (at most 10 s) until the used index reaches 'n'. */
static void wait_used(uint16_t n)
{
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 10000 && vdrv_used_idx(&bf.d) != n; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(vdrv_used_idx(&bf.d), n);
}

/* Five writes at once (3 descriptors each), then five reads of them. */
static void batch_write_read(void)
{
	uint64_t st[5], data[5];
	uint8_t file[4096];
	uint32_t id, len;

	for (unsigned i = 0; i < 5; i++) {
		data[i] = vdrv_alloc(&bf.d, 4096, 4096);
		memset(vdrv_hva(&bf.d, data[i]), 0x10 + i, 4096);
		st[i] = vdrv_blk_chain(&bf.d, 3 * i, VIRTIO_BLK_T_OUT, 64 * i + 8, data[i], 4096, false);
		vdrv_publish(&bf.d, (uint16_t)(3 * i));
	}
	kick();
	wait_used(5);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert(vdrv_get_used(&bf.d, &id, &len));
		ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st[i]), VIRTIO_BLK_S_OK);
		bf_file_read((64 * i + 8) * 512, file, sizeof(file));
		ck_assert_uint_eq(file[0], 0x10 + i);
		ck_assert_uint_eq(file[4095], 0x10 + i);
		memset(vdrv_hva(&bf.d, data[i]), 0, 4096);
		st[i] = vdrv_blk_chain(&bf.d, 3 * i, VIRTIO_BLK_T_IN, 64 * i + 8, data[i], 4096, true);
		vdrv_publish(&bf.d, (uint16_t)(3 * i));
	}
	kick();
	wait_used(10);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert(vdrv_get_used(&bf.d, &id, &len));
		ck_assert_uint_eq(len, 4097);
		ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st[i]), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, data[i] + 4095), 0x10 + i);
	}
	ck_assert_uint_ge(__atomic_load_n(&bf.notifies, __ATOMIC_RELAXED), 2);
}

START_TEST(uring_batch)
{
	struct vblk_stats s;

	batch_write_read();
	vblk_get_stats(bf.b, &s);	/* vm_get_stats()'s per-type counters */
	ck_assert_uint_eq(s.wr_reqs, 5);
	ck_assert_uint_eq(s.wr_bytes, 5 * 4096);
	ck_assert_uint_eq(s.rd_reqs, 5);
	ck_assert_uint_eq(s.rd_bytes, 5 * 4096);
	ck_assert_uint_eq(s.flush_reqs, 0);
	ck_assert_uint_eq(s.errors, 0);
}
END_TEST

/* An image on tmpfs: io_uring could not try its reads inline, so the
 * thread reads and writes it itself, at once (no io_uring worker). */
static bool in_memory_skip;

static void fx_in_memory(void)
{
	struct statfs st;

	/* Debian mounts a tmpfs there; without one the case has nothing to
	 * test: skipped on a developer's machine, a failure under CI=true. */
	if (statfs("/dev/shm", &st) != 0 || st.f_type != TMPFS_MAGIC) {
		const char *ci = getenv("CI");
		ck_assert_msg(!(ci && !strcmp(ci, "true")), "/dev/shm is not a tmpfs");
		fprintf(stderr, "blk_in_memory: SKIP: /dev/shm is not a tmpfs\n");
		in_memory_skip = true;
	} else {
		in_memory_skip = false;
		bf_dir = "/dev/shm";
	}
	fx_uring();
}

START_TEST(in_memory_image_done_inline)
{
	struct vblk_stats s;

	batch_write_read();
	if (in_memory_skip)
		return;	/* said why in the fixture */
	vblk_get_stats(bf.b, &s);
	ck_assert_uint_eq(s.inline_rw, 10);	/* 5 writes, 5 reads */
	ck_assert_uint_eq(s.inline_reads, 0);
	ck_assert_uint_eq(s.nowait_misses, 0);
}
END_TEST

START_TEST(sync_thread_batch)
{
	batch_write_read();
}
END_TEST

START_TEST(uring_flush_and_errors)
{
	uint64_t a = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	uint64_t b = vdrv_blk_chain(&bf.d, 2, VIRTIO_BLK_T_IN, 1u << 30, 0, 512, true);
	uint64_t c = vdrv_blk_chain(&bf.d, 5, 77, 0, 0, 0, false);
	vdrv_publish(&bf.d, 0);
	vdrv_publish(&bf.d, 2);
	vdrv_publish(&bf.d, 5);
	kick();
	wait_used(3);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, a), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, b), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, c), VIRTIO_BLK_S_UNSUPP);
	struct vblk_stats s;
	vblk_get_stats(bf.b, &s);	/* failed requests count as errors, not reads */
	ck_assert_uint_eq(s.flush_reqs, 1);
	ck_assert_uint_eq(s.rd_reqs, 0);
	ck_assert_uint_eq(s.rd_bytes, 0);
	ck_assert_uint_eq(s.errors, 2);
}
END_TEST

/* Many rounds through a 16-entry queue with the event index: the thread
 * must not miss a kick nor stall (each round waits for completion). */
START_TEST(uring_many_rounds)
{
	uint64_t data = vdrv_alloc(&bf.d, 512, 512);
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, 3, data, 512, true);
	uint32_t id, len;
	for (unsigned n = 1; n <= 1000; n++) {
		vdrv_publish(&bf.d, 0);
		kick();
		wait_used((uint16_t)n);
		ck_assert(vdrv_get_used(&bf.d, &id, &len));
	}
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, data), bf_pattern(3 * 512));
}
END_TEST

START_TEST(reset_stops_thread)
{
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, 0, 0, 512, true);
	vblk_reset(bf.b);
	vdrv_publish(&bf.d, 0);
	kick();
	usleep(20000);
	ck_assert_uint_eq(vdrv_used_idx(&bf.d), 0);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st), 0xff);
}
END_TEST

TCase *tcase_blk_thread(void)
{
	TCase *tc = tcase_create("blk_thread");
	tcase_add_checked_fixture(tc, fx_uring, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uring_batch);
	tcase_add_test(tc, uring_flush_and_errors);
	tcase_add_test(tc, uring_many_rounds);
	tcase_add_test(tc, reset_stops_thread);
	return tc;
}

TCase *tcase_blk_in_memory(void)
{
	TCase *tc = tcase_create("blk_in_memory");
	tcase_add_checked_fixture(tc, fx_in_memory, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, in_memory_image_done_inline);
	return tc;
}

TCase *tcase_blk_sync_thread(void)
{
	TCase *tc = tcase_create("blk_sync_thread");
	tcase_add_checked_fixture(tc, fx_sync, fx_close);
	tcase_add_test(tc, sync_thread_batch);
	return tc;
}

TCase *tcase_blk_blocking_kick(void)
{
	TCase *tc = tcase_create("blk_blocking_kick");
	tcase_add_checked_fixture(tc, fx_blocking, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uring_batch);
	tcase_add_test(tc, reset_stops_thread);
	return tc;
}

/* A guest that rewrites descriptors while the device reads them: whatever
 * the device sees, it must stay within guest RAM (ASan) and complete or
 * drop (broken ring) every chain it took, and restart after a reset. */
struct scribbler {
	volatile bool stop;
	uint64_t rng;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	while (!s->stop) {
		s->rng ^= s->rng << 13;
		s->rng ^= s->rng >> 7;
		s->rng ^= s->rng << 17;
		struct virtq_desc *d = vdrv_desc(&bf.d, (unsigned)(s->rng % BF_QS));
		switch ((s->rng >> 8) % 4) {
		case 0: __atomic_store_n(&d->addr, s->rng >> 12, __ATOMIC_RELAXED); break;
		case 1: __atomic_store_n(&d->len, (uint32_t)(s->rng >> 20), __ATOMIC_RELAXED); break;
		case 2: __atomic_store_n(&d->flags, (uint16_t)(s->rng >> 30) & 7, __ATOMIC_RELAXED); break;
		default: __atomic_store_n(&d->next, (uint16_t)(s->rng >> 40) % (BF_QS + 2), __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

START_TEST(concurrent_scribbling)
{
	struct virtio_queue_layout q = { BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	struct scribbler s = { .rng = 0x12345678abcdefull };
	struct vblk_stats st;
	pthread_t t;
	for (unsigned round = 0; round < 50; round++) {
		memset(bf.d.mem, 0, 0x2000);
		bf.d.avail_idx = bf.d.last_used = 0;
		vdrv_heap_reset(&bf.d);
		ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, vblk_features(bf.b), &q, &kick_fd), 0);
		for (unsigned i = 0; i < 5; i++) {
			vdrv_blk_chain(&bf.d, 3 * i, i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, i, 0, 512, i % 2);
			vdrv_publish(&bf.d, (uint16_t)(3 * i));
		}
		s.stop = false;
		ck_assert_int_eq(pthread_create(&t, NULL, scribble, &s), 0);
		kick();
		usleep(2000);
		s.stop = true;
		pthread_join(t, NULL);
		vblk_reset(bf.b);
		vblk_get_stats(bf.b, &st);
		ck_assert_uint_eq(st.requests, st.completed);
	}
	ck_assert_uint_gt(st.requests, 0);
}
END_TEST

TCase *tcase_blk_scribble(void)
{
	TCase *tc = tcase_create("blk_scribble");
	tcase_add_checked_fixture(tc, fx_uring, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_scribbling);
	return tc;
}

TCase *tcase_blk_polling(void)
{
	TCase *tc = tcase_create("blk_polling");
	tcase_add_checked_fixture(tc, fx_polling, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uring_batch);
	tcase_add_test(tc, uring_many_rounds);
	tcase_add_test(tc, reset_stops_thread);
	return tc;
}

/* One 4 KiB read of sector 'sector' in descriptors 0..2, published; the
 * data must match the image pattern once used. */
static uint64_t publish_read(uint64_t sector, uint64_t *data)
{
	*data = vdrv_alloc(&bf.d, 4096, 4096);
	uint64_t st = vdrv_blk_chain(&bf.d, 0, VIRTIO_BLK_T_IN, sector, *data, 4096, true);
	vdrv_publish(&bf.d, 0);
	return st;
}

static void check_read(uint64_t st, uint64_t data, uint64_t sector)
{
	uint32_t id, len;
	const uint8_t *p = vdrv_hva(&bf.d, data);

	ck_assert(vdrv_get_used(&bf.d, &id, &len));
	ck_assert_uint_eq(len, 4097);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&bf.d, st), VIRTIO_BLK_S_OK);
	for (uint64_t i = 0; i < 4096; i++)
		ck_assert_uint_eq(p[i], bf_pattern(sector * 512 + i));
}

/* After a completion the thread polls with kicks suppressed: a request
 * published then, without a kick, is still done, and the event index
 * told the driver it need not kick. */
START_TEST(request_during_poll_window)
{
	uint64_t data, st = publish_read(8, &data);
	struct vblk_stats s;

	kick();
	wait_used(1);
	check_read(st, data, 8);
	for (unsigned i = 0; i < 20; i++) {
		st = publish_read(16 + 8 * i, &data);
		/* no kick: the window (or the re-check after it) finds it */
		wait_used((uint16_t)(2 + i));
		check_read(st, data, 16 + 8 * i);
	}
	vblk_get_stats(bf.b, &s);
	ck_assert_uint_ge(s.polls_hit, 1);
	ck_assert_uint_eq(s.requests, 21);
	ck_assert_uint_eq(s.completed, 21);
}
END_TEST

/* While the thread polls, EVENT_IDX kicks are off: avail_event lies
 * behind what the device consumed, so the driver's check says no kick. */
START_TEST(poll_window_suppresses_kicks)
{
	uint64_t data, st = publish_read(0, &data);
	uint16_t ev;

	kick();
	wait_used(1);
	check_read(st, data, 0);
	/* The thread re-enables kicks at the end of a drain and suppresses
	 * them again when its window opens: wait (bounded) for that. */
	for (unsigned i = 0; i < 200; i++) {
		ev = __atomic_load_n(vdrv_avail_event(&bf.d), __ATOMIC_ACQUIRE);
		if (!vring_need_event(ev, (uint16_t)(bf.d.avail_idx + 1), bf.d.avail_idx))
			break;
		usleep(1000);
	}
	ck_assert(!vring_need_event(ev, (uint16_t)(bf.d.avail_idx + 1), bf.d.avail_idx));
}
END_TEST

/* A read that is not in the page cache: RWF_NOWAIT says EAGAIN and the
 * read goes to io_uring; the next cached read is served inline. */
START_TEST(nowait_miss_falls_back_to_uring)
{
	uint64_t data, st;
	struct vblk_stats s;
	int fd = open(bf.path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fdatasync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
	st = publish_read(40, &data);
	kick();
	wait_used(1);
	check_read(st, data, 40);
	vblk_get_stats(bf.b, &s);
	ck_assert_uint_ge(s.nowait_misses, 1);
	ck_assert_uint_eq(s.inline_reads, 0);
	/* The back-off skips the next try (1 request), then tries again. */
	for (unsigned i = 0; i < 3; i++) {
		st = publish_read(40, &data);
		kick();
		wait_used((uint16_t)(2 + i));
		check_read(st, data, 40);
	}
	vblk_get_stats(bf.b, &s);
	ck_assert_uint_ge(s.inline_reads, 1);
}
END_TEST

TCase *tcase_blk_poll_window(void)
{
	TCase *tc = tcase_create("blk_poll_window");
	tcase_add_checked_fixture(tc, fx_long_poll, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, request_during_poll_window);
	tcase_add_test(tc, poll_window_suppresses_kicks);
	return tc;
}

TCase *tcase_blk_nopoll(void)
{
	TCase *tc = tcase_create("blk_nopoll");
	tcase_add_checked_fixture(tc, fx_nopoll, fx_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uring_batch);
	tcase_add_test(tc, uring_many_rounds);
	tcase_add_test(tc, reset_stops_thread);
	tcase_add_test(tc, nowait_miss_falls_back_to_uring);
	return tc;
}
