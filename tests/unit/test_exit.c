/* Exit dispatch fed with synthetic kvm_run exits: no /dev/kvm needed. */
#include "tests/unit/unit.h"
#include "vmm/bus.h"
#include "vmm/exit.h"
#include "vmm/log.h"
#include "vmm/vm_hooks.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#define RUN_SIZE 4096

struct fake_dev {
	uint8_t last_write[8];
	uint32_t last_len;
	uint64_t last_offset;
	unsigned writes, reads;
	uint8_t next_read;
};

static void fake_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct fake_dev *d = opaque;
	d->reads++;
	d->last_offset = offset;
	memset(data, d->next_read++, len);
}

static void fake_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct fake_dev *d = opaque;
	d->writes++;
	d->last_offset = offset;
	d->last_len = len;
	memcpy(d->last_write, data, len);
}

static const struct bus_dev_ops fake_ops = { .read = fake_read, .write = fake_write };

struct fake_stop {
	int calls;
	enum vm_stop_reason why;
	int status;
};

static void fake_request_stop(void *opaque, enum vm_stop_reason why, int status)
{
	struct fake_stop *s = opaque;
	s->calls++;
	s->why = why;
	s->status = status;
}

static struct fake_dev dev;
static struct fake_stop stopped;
static struct vm_stopper stopper = { .request_stop = fake_request_stop, .opaque = &stopped };
static struct kvm_run *run;
static struct exit_ctx ctx;

static void setup(void)
{
	memset(&dev, 0, sizeof(dev));
	memset(&stopped, 0, sizeof(stopped));
	run = calloc(1, RUN_SIZE);
	ctx = (struct exit_ctx){ .pio = bus_create("pio"), .mmio = bus_create("mmio"),
				 .stop = &stopper, .run_size = RUN_SIZE };
	ck_assert_int_eq(bus_register(ctx.pio, 0x3f8, 8, &fake_ops, &dev, "fake"), 0);
	ck_assert_int_eq(bus_register(ctx.mmio, 0xd0000000, 0x1000, &fake_ops, &dev, "fake"), 0);
}

static void teardown(void)
{
	bus_destroy(ctx.pio);
	bus_destroy(ctx.mmio);
	free(run);
}

static void set_io(uint8_t dir, uint16_t port, uint8_t size, uint32_t count, uint64_t off)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = dir;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = off;
}

START_TEST(pio_out_reaches_device_with_offset)
{
	set_io(KVM_EXIT_IO_OUT, 0x3f9, 1, 1, 1024);
	((uint8_t *)run)[1024] = 0x5a;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_uint_eq(dev.writes, 1);
	ck_assert_uint_eq(dev.last_offset, 1);
	ck_assert_uint_eq(dev.last_write[0], 0x5a);
	ck_assert_int_eq(stopped.calls, 0);
}
END_TEST

START_TEST(pio_string_in_fills_every_item)
{
	set_io(KVM_EXIT_IO_IN, 0x3f8, 2, 3, 1024);
	dev.next_read = 7;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_uint_eq(dev.reads, 3);
	const uint8_t *d = (const uint8_t *)run + 1024;
	ck_assert_uint_eq(d[0], 7);
	ck_assert_uint_eq(d[1], 7);
	ck_assert_uint_eq(d[2], 8);
	ck_assert_uint_eq(d[5], 9);
}
END_TEST

START_TEST(pio_unclaimed_reads_all_ones)
{
	set_io(KVM_EXIT_IO_IN, 0x1234, 4, 1, 1024);
	memset((uint8_t *)run + 1024, 0, 4);
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	uint32_t v;
	memcpy(&v, (uint8_t *)run + 1024, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	set_io(KVM_EXIT_IO_OUT, 0x1234, 4, 1, 1024);
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_int_eq(stopped.calls, 0);
}
END_TEST

START_TEST(pio_malformed_stops_with_error)
{
	set_io(KVM_EXIT_IO_OUT, 0x3f8, 3, 1, 1024);
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_int_eq(stopped.why, VM_STOP_ERROR);
	ck_assert_int_eq(stopped.status, 1);
	ck_assert_last_error("malformed port I/O exit");

	set_io(KVM_EXIT_IO_OUT, 0x3f8, 4, 2, RUN_SIZE - 4);	/* data past the page */
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	set_io(KVM_EXIT_IO_OUT, 0x3f8, 4, 0x40000000, 1024);	/* size*count overflows 32 bits */
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_uint_eq(dev.writes, 0);
}
END_TEST

START_TEST(mmio_read_write)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000010;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, "\x01\x02\x03\x04", 4);
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_uint_eq(dev.last_offset, 0x10);
	ck_assert_uint_eq(dev.last_len, 4);
	ck_assert_int_eq(memcmp(dev.last_write, "\x01\x02\x03\x04", 4), 0);

	run->mmio.phys_addr = 0xfe000000;	/* nothing there */
	run->mmio.is_write = 0;
	run->mmio.len = 8;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(run->mmio.data[i], 0xff);

	run->mmio.len = 0;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_last_error("malformed MMIO exit");
}
END_TEST

START_TEST(mmio_straddling_a_device_end_is_unclaimed)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000ffe;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_uint_eq(dev.writes, 0);
}
END_TEST

START_TEST(lifecycle_exits)
{
	run->exit_reason = KVM_EXIT_INTR;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_CONTINUE);
	ck_assert_int_eq(stopped.calls, 0);

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_STOP);
	ck_assert_int_eq(stopped.why, VM_STOP_POWEROFF);
	ck_assert_int_eq(stopped.status, 0);

	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_STOP);
	ck_assert_int_eq(stopped.why, VM_STOP_RESET);
	ck_assert_int_eq(stopped.status, 0);

	run->exit_reason = KVM_EXIT_SHUTDOWN;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_int_eq(stopped.why, VM_STOP_ERROR);
	ck_assert_int_eq(stopped.status, 1);
	ck_assert_last_error("triple fault");

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = 1;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_last_error("KVM internal error (suberror 1)");

	run->exit_reason = 9999;
	ck_assert_int_eq(exit_dispatch(run, &ctx), EXIT_FAILED);
	ck_assert_last_error("unhandled KVM exit reason 9999");
}
END_TEST

TCase *tcase_exit(void)
{
	TCase *tc = tcase_create("exit_dispatch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pio_out_reaches_device_with_offset);
	tcase_add_test(tc, pio_string_in_fills_every_item);
	tcase_add_test(tc, pio_unclaimed_reads_all_ones);
	tcase_add_test(tc, pio_malformed_stops_with_error);
	tcase_add_test(tc, mmio_read_write);
	tcase_add_test(tc, mmio_straddling_a_device_end_is_unclaimed);
	tcase_add_test(tc, lifecycle_exits);
	return tc;
}
