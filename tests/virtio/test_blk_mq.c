/* virtio-blk with several request queues (VIRTIO_BLK_F_MQ): each queue's
 * chains complete on that queue's used ring and interrupt that queue's
 * vector; a queue the driver leaves disabled is ignored; one I/O thread
 * serves every queue's kicks. */
#include "tests/virtio/blk_fixture.h"

#include "devices/virtio/virtio.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NQ 3

static struct vdrv qd[NQ];	/* qd[0] is bf.d; the others share its RAM */
static unsigned notified[NQ];
static int kick_fds[NQ] = { -1, -1, -1 };
static unsigned resets;

static void on_reset(void *opaque)
{
	(void)opaque;
	__atomic_fetch_add(&resets, 1, __ATOMIC_RELAXED);
}

static void on_notify(void *opaque, unsigned q)
{
	(void)opaque;
	ck_assert_uint_lt(q, NQ);
	__atomic_fetch_add(&notified[q], 1, __ATOMIC_RELAXED);
}

/* bf's image and RAM, a device with NQ queues (queue i enabled if its bit
 * is set in 'enabled'), with an I/O thread if 'thread'. */
static void open_mq(unsigned enabled, bool thread, bool force_sync)
{
	struct virtio_queue_layout l[NQ];
	struct virtio_hooks h = { .notify = on_notify, .needs_reset = on_reset };

	resets = 0;
	bf_open(DISK_FORMAT_RAW, false, 0);
	vblk_destroy(bf.b);
	memset(notified, 0, sizeof(notified));
	bf.b = vblk_create(bf.disk, &(struct vblk_opts){ .name = "vda", .num_queues = NQ,
							 .force_sync = force_sync }, &h);
	ck_assert_ptr_nonnull(bf.b);
	for (unsigned i = 1; i < NQ; i++)
		vdrv_init_sibling(&qd[i], &bf.d, BF_QS, 256 << 10);
	qd[0] = bf.d;	/* after the siblings took their part of its heap */
	for (unsigned i = 0; i < NQ; i++) {
		l[i] = (enabled >> i) & 1 ? (struct virtio_queue_layout){ BF_QS, qd[i].desc_gpa,
									qd[i].avail_gpa, qd[i].used_gpa }
					  : (struct virtio_queue_layout){ 0 };
		if (thread)
			ck_assert_int_ge(kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 0);
	}
	ck_assert_int_eq(vblk_start(bf.b, bf.d.gm, vblk_features(bf.b), l,
				    thread ? kick_fds : NULL), 0);
}

static void close_mq(void)
{
	bf_close();
	for (unsigned i = 0; i < NQ; i++) {
		if (kick_fds[i] >= 0)
			close(kick_fds[i]);
		kick_fds[i] = -1;
	}
}

static void kick(unsigned q)
{
	uint64_t one = 1;
	ck_assert_int_eq(write(kick_fds[q], &one, sizeof(one)), sizeof(one));
}

static void wait_used(unsigned q, uint16_t n)
{
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 10000 && vdrv_used_idx(&qd[q]) != n; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(vdrv_used_idx(&qd[q]), n);
}

/* A 512-byte read of sector s on queue q; returns the status GPA. */
static uint64_t read_on(unsigned q, uint64_t s, uint64_t *data)
{
	*data = vdrv_alloc(&qd[q], 512, 512);
	uint64_t st = vdrv_blk_chain(&qd[q], 0, VIRTIO_BLK_T_IN, s, *data, 512, true);
	vdrv_publish(&qd[q], 0);
	return st;
}

static void expect_read_done(unsigned q, uint64_t st, uint64_t data, uint64_t s)
{
	uint32_t id, len;
	const uint8_t *p = vdrv_hva(&qd[q], data);

	ck_assert(vdrv_get_used(&qd[q], &id, &len));
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 513);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&qd[q], st), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 512; i++)
		ck_assert_uint_eq(p[i], bf_pattern(s * 512 + i));
}

START_TEST(config_and_features)
{
	struct virtio_blk_config cfg;
	struct vblk *b;

	bf_open(DISK_FORMAT_RAW, false, 0);
	/* One queue: no MQ feature, num_queues 1. */
	ck_assert_uint_eq(vblk_num_queues(bf.b), 1);
	ck_assert(!(vblk_features(bf.b) & VIRTIO_BIT(VIRTIO_BLK_F_MQ)));
	vblk_config_read(bf.b, 0, &cfg, sizeof(cfg));
	ck_assert_uint_eq(cfg.num_queues, 1);
	/* Four: MQ offered, num_queues 4. */
	b = vblk_create(bf.disk, &(struct vblk_opts){ .name = "vdb", .num_queues = 4 }, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(vblk_num_queues(b), 4);
	ck_assert(vblk_features(b) & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	vblk_config_read(b, 0, &cfg, sizeof(cfg));
	ck_assert_uint_eq(cfg.num_queues, 4);
	vblk_destroy(b);
	/* More than the device supports: refused, named. */
	ck_assert_ptr_null(vblk_create(bf.disk, &(struct vblk_opts){ .name = "vdc",
				.num_queues = VBLK_MAX_QUEUES + 1 }, NULL));
	ck_assert_last_error("vdc: 17 queues asked for, at most 16");
	bf_close();
}
END_TEST

/* Without a thread: each queue's request completes on its own ring and
 * interrupts its own queue. */
START_TEST(sync_each_queue_its_ring)
{
	uint64_t d0, d2, st0, st2;

	open_mq(0x7, false, false);
	st2 = read_on(2, 9, &d2);
	ck_assert_int_eq(vblk_process(bf.b), 1);
	ck_assert_uint_eq(vdrv_used_idx(&qd[0]), 0);
	ck_assert_uint_eq(vdrv_used_idx(&qd[1]), 0);
	expect_read_done(2, st2, d2, 9);
	ck_assert_uint_eq(notified[2], 1);
	ck_assert_uint_eq(notified[0] + notified[1], 0);
	st0 = read_on(0, 3, &d0);
	st2 = read_on(2, 5, &d2);
	ck_assert_int_eq(vblk_process(bf.b), 2);
	expect_read_done(0, st0, d0, 3);
	expect_read_done(2, st2, d2, 5);
	ck_assert_uint_eq(notified[0], 1);
	ck_assert_uint_eq(notified[2], 2);
	close_mq();
}
END_TEST

/* Queue 1 left disabled (size 0): accepted, never looked at, even if its
 * memory holds a chain. */
START_TEST(disabled_queue_ignored)
{
	uint64_t d0, d1, st0, st1;

	open_mq(0x5, false, false);
	st1 = read_on(1, 4, &d1);
	st0 = read_on(0, 2, &d0);
	ck_assert_int_eq(vblk_process(bf.b), 1);
	expect_read_done(0, st0, d0, 2);
	ck_assert_uint_eq(vdrv_used_idx(&qd[1]), 0);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&qd[1], st1), 0xff);
	ck_assert_uint_eq(notified[1], 0);
	close_mq();
}
END_TEST

/* A bad layout on a later queue refuses the start, naming the queue. */
START_TEST(bad_second_queue_refused)
{
	struct virtio_queue_layout l[2];
	struct vblk *b;

	bf_open(DISK_FORMAT_RAW, false, 0);
	b = vblk_create(bf.disk, &(struct vblk_opts){ .name = "vdb", .num_queues = 2 }, NULL);
	ck_assert_ptr_nonnull(b);
	l[0] = (struct virtio_queue_layout){ BF_QS, bf.d.desc_gpa, bf.d.avail_gpa, bf.d.used_gpa };
	l[1] = (struct virtio_queue_layout){ 512, 0, 0, 0 };
	ck_assert_int_eq(vblk_start(b, bf.d.gm, vblk_features(b), l, NULL), -EINVAL);
	ck_assert_last_error("vdb: queue 1 size 512 above the maximum 256");
	ck_assert_int_eq(vblk_process(b), 0);	/* not started */
	vblk_destroy(b);
	bf_close();
}
END_TEST

/* One I/O thread, three kick eventfds: a kick on one queue serves that
 * queue; then all three at once. */
static void thread_queues(bool force_sync)
{
	uint64_t d[NQ], st[NQ];

	open_mq(0x7, true, force_sync);
	st[1] = read_on(1, 7, &d[1]);
	kick(1);
	wait_used(1, 1);
	expect_read_done(1, st[1], d[1], 7);
	/* From here on a kick only when the device asks for one (event
	 * index), as a driver does: a chain the thread neither polls nor
	 * is kicked for would never complete. */
	for (unsigned q = 0; q < NQ; q++) {
		uint16_t old = qd[q].avail_idx;

		st[q] = read_on(q, 20 + q, &d[q]);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (vring_need_event(__atomic_load_n(vdrv_avail_event(&qd[q]), __ATOMIC_RELAXED),
				     qd[q].avail_idx, old))
			kick(q);
	}
	for (unsigned q = 0; q < NQ; q++) {
		wait_used(q, q == 1 ? 2 : 1);
		expect_read_done(q, st[q], d[q], 20 + q);
	}
	for (unsigned q = 0; q < NQ; q++)
		ck_assert_uint_ge(__atomic_load_n(&notified[q], __ATOMIC_RELAXED), 1);
	close_mq();
}

/* One queue broken by the driver (needs_reset), another with a chain
 * waiting: the thread must sleep until the reset, not spin on the chain
 * it will not take. */
START_TEST(broken_queue_does_not_spin)
{
	struct rusage r0, r1;
	uint64_t d1;

	open_mq(0x7, true, false);
	vdrv_set_avail_idx(&qd[0], 1000);	/* more than the queue size ahead */
	kick(0);
	for (int i = 0; i < 1000 && !__atomic_load_n(&resets, __ATOMIC_RELAXED); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	ck_assert_uint_eq(__atomic_load_n(&resets, __ATOMIC_RELAXED), 1);
	read_on(1, 3, &d1);
	kick(1);
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);	/* let it settle */
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &r0), 0);
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &r1), 0);
	long us = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000L +
		  (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
		  (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000L +
		  (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
	ck_assert_msg(us < 100000, "%ld us of CPU in 300 ms while waiting for the reset", us);
	close_mq();
}
END_TEST

START_TEST(uring_thread_serves_each_queue) { thread_queues(false); }
END_TEST

START_TEST(sync_thread_serves_each_queue) { thread_queues(true); }
END_TEST

TCase *tcase_blk_mq(void)
{
	TCase *tc = tcase_create("blk_mq");
	tcase_add_test(tc, config_and_features);
	tcase_add_test(tc, sync_each_queue_its_ring);
	tcase_add_test(tc, disabled_queue_ignored);
	tcase_add_test(tc, bad_second_queue_refused);
	tcase_add_test(tc, uring_thread_serves_each_queue);
	tcase_add_test(tc, sync_thread_serves_each_queue);
	tcase_add_test(tc, broken_queue_does_not_spin);
	return tc;
}
