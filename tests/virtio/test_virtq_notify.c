/* Notification suppression: flags, event index and its 16-bit arithmetic. */
#include "devices/virtio/virtq.h"
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"

#define QS 8
#define F_EVENT VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)

static struct vdrv d;
static struct virtq *vq;
static struct virtq_seg segs[4];
static struct virtq_chain ch;

static void setup_q(uint64_t features)
{
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, d.desc_gpa, d.avail_gpa, d.used_gpa, features), 0);
	ch = (struct virtq_chain){ .seg = segs, .max_seg = 4 };
	for (unsigned i = 0; i < QS; i++)
		vdrv_set_desc(&d, i, 0x8000, 8, VIRTQ_DESC_F_WRITE, 0);
}

static void fx_setup(void)
{
	log_set_quiet(true);
	ck_assert_int_eq(vdrv_init(&d, 1 << 16, QS), 0);
	vq = virtq_create("test");
}

static void fx_teardown(void)
{
	virtq_destroy(vq);
	vdrv_fini(&d);
}

/* Publish, pop and push one request; return the notify decision. */
static bool one_request(void)
{
	vdrv_publish(&d, 1);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_int_eq(virtq_push(vq, ch.head, 1), 0);
	return virtq_should_notify(vq);
}

START_TEST(need_event_arithmetic)
{
	/* (event, new, old) -> interrupt? */
	ck_assert(vring_need_event(0, 1, 0));		/* crossed event 0 */
	ck_assert(!vring_need_event(1, 1, 0));		/* event 1 not yet used */
	ck_assert(vring_need_event(1, 2, 0));
	ck_assert(vring_need_event(4, 8, 2));		/* batch crossing 4 */
	ck_assert(!vring_need_event(9, 8, 2));		/* event ahead of batch */
	ck_assert(!vring_need_event(1, 8, 2));		/* event behind batch */
	ck_assert(!vring_need_event(5, 5, 5));		/* nothing new */
	/* Wrap-around of the 16-bit indices. */
	ck_assert(vring_need_event(65535, 0, 65534));
	ck_assert(vring_need_event(65535, 3, 65530));
	ck_assert(vring_need_event(1, 3, 65530));
	ck_assert(!vring_need_event(3, 3, 65530));
	ck_assert(!vring_need_event(65529, 3, 65530));
	ck_assert(vring_need_event(65530, 3, 65530));
}
END_TEST

START_TEST(no_interrupt_flag)
{
	setup_q(0);
	ck_assert(one_request());
	*vdrv_avail_flags(&d) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	ck_assert(!one_request());
	*vdrv_avail_flags(&d) = 0;
	ck_assert(one_request());
}
END_TEST

START_TEST(event_idx_used_event)
{
	setup_q(F_EVENT);
	*vdrv_used_event(&d) = 0;
	ck_assert(one_request());	/* used 0 -> 1 crosses event 0 */
	*vdrv_used_event(&d) = 3;	/* driver: wake me when entry 3 is used */
	ck_assert(!one_request());	/* 2 */
	ck_assert(!one_request());	/* 3 */
	ck_assert(one_request());	/* 4: entry 3 used */
	ck_assert(!one_request());	/* event stays behind */
	/* The flag is ignored with EVENT_IDX. */
	*vdrv_avail_flags(&d) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	*vdrv_used_event(&d) = 5;
	ck_assert(one_request());
}
END_TEST

START_TEST(event_idx_wraps)
{
	setup_q(F_EVENT);
	for (unsigned n = 0; n < 65534; n++) {
		*vdrv_used_event(&d) = (uint16_t)n;	/* always wake me: each is needed */
		ck_assert(one_request());
	}
	/* used idx is 65534; wake me once entry 65535 is used (idx -> 0). */
	*vdrv_used_event(&d) = 65535;
	ck_assert(!one_request());	/* idx 65535: entry 65534 used */
	ck_assert(one_request());	/* idx 0: entry 65535 used */
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
}
END_TEST

START_TEST(kick_suppression_flags)
{
	setup_q(0);
	virtq_disable_notify(vq);
	ck_assert_uint_eq(*vdrv_used_flags(&d), VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!virtq_enable_notify(vq));
	ck_assert_uint_eq(*vdrv_used_flags(&d), 0);
	virtq_disable_notify(vq);
	vdrv_publish(&d, 0);		/* arrives while kicks are off */
	ck_assert(virtq_enable_notify(vq));
}
END_TEST

START_TEST(kick_suppression_avail_event)
{
	setup_q(F_EVENT);
	one_request();
	virtq_disable_notify(vq);
	ck_assert_uint_eq(*vdrv_used_flags(&d), 0);	/* flags unused with EVENT_IDX */
	ck_assert(!virtq_enable_notify(vq));
	ck_assert_uint_eq(*vdrv_avail_event(&d), 1);	/* kick me for entry 1 */
	vdrv_publish(&d, 0);
	ck_assert(virtq_enable_notify(vq));
}
END_TEST

TCase *tcase_virtq_notify(void)
{
	TCase *tc = tcase_create("virtq_notify");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, need_event_arithmetic);
	tcase_add_test(tc, no_interrupt_flag);
	tcase_add_test(tc, event_idx_used_event);
	tcase_add_test(tc, event_idx_wraps);
	tcase_add_test(tc, kick_suppression_flags);
	tcase_add_test(tc, kick_suppression_avail_event);
	return tc;
}
