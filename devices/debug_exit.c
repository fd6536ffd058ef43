#include "devices/debug_exit.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct debug_exit {
	struct vm_stopper stop;
};

static void debug_exit_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct debug_exit *dx = opaque;
	(void)offset, (void)len;	/* the range is one byte wide */
	vm_request_stop(&dx->stop, VM_STOP_DEBUG_EXIT, *(const uint8_t *)data);
}

static const struct bus_dev_ops debug_exit_ops = { .write = debug_exit_write };

struct debug_exit *debug_exit_create(const struct vm_stopper *stop)
{
	struct debug_exit *dx = calloc(1, sizeof(*dx));
	if (!dx) {
		log_error("debug-exit: out of memory");
		return NULL;
	}
	dx->stop = *stop;
	return dx;
}

void debug_exit_destroy(struct debug_exit *dx)
{
	free(dx);
}

int debug_exit_register(struct debug_exit *dx, struct bus *pio, uint16_t port)
{
	int ret = bus_register(pio, port, 1, &debug_exit_ops, dx, "debug-exit");
	if (ret < 0)
		log_error("debug-exit: cannot claim port 0x%x: %s", port, strerror(-ret));
	return ret;
}
