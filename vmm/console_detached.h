/* The client side of a detached console (cfg->console ==
 * VM_CONSOLE_DETACHED, vmm/vm_control.h): the last VM_CONSOLE_RING bytes
 * of guest output, and at most one attached client fd that gets them, then
 * the live output, and whose input goes to the guest.
 *
 * Threads: dcon_output() from any thread (vCPUs, under the console's
 * output lock); dcon_attach/detach/attached() from any thread; everything
 * else only from the main loop's thread, the one thread that reads, writes
 * or closes the client fd (so no fd is closed under another thread's poll).
 * Attach and detach only record the request and wake the main loop
 * (dcon_event_fd()).
 *
 * A slow client never blocks a vCPU: output for it is queued (at most
 * DCON_QUEUE_MAX bytes, the ring replay included) and written by the main
 * loop without blocking. A client that lets the queue overflow is
 * disconnected (its fd closed, a warning logged): it can attach again and
 * get the ring. Bytes are never silently dropped from its stream. */
#ifndef MINIVMM_CONSOLE_DETACHED_H
#define MINIVMM_CONSOLE_DETACHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/vm_control.h"

#define DCON_QUEUE_MAX (2 * VM_CONSOLE_RING)

struct console_detached;

/* 0 or -errno (logged). */
int dcon_create(struct console_detached **out);
/* Closes the client's fd, if any. */
void dcon_destroy(struct console_detached *d);

/* Guest output: into the ring and, with a client, its queue. */
void dcon_output(struct console_detached *d, const uint8_t *buf, size_t len);

/* FD becomes the VM's (made non-blocking; closed at EOF, on a write error,
 * on detach, on dcon_destroy). 0, or -EBUSY while another client is
 * attached (FD stays the caller's). */
int dcon_attach(struct console_detached *d, int fd);
/* Drops the client (its fd closed by the main loop soon after). */
void dcon_detach(struct console_detached *d);
bool dcon_attached(struct console_detached *d);

/* Main loop: poll dcon_event_fd() for POLLIN and dcon_output_fd() (-1
 * while nothing waits) for POLLOUT; call dcon_service() when either fires. */
int dcon_event_fd(const struct console_detached *d);
int dcon_output_fd(struct console_detached *d);
void dcon_service(struct console_detached *d);
/* Main loop: the client's fd to poll for input, -1 without a client. */
int dcon_input_fd(const struct console_detached *d);
/* Main loop: reads the client's input. Bytes read, or 0 when there is
 * none (no client; or EOF/error: the client is dropped), -EAGAIN. */
ssize_t dcon_read(struct console_detached *d, uint8_t *buf, size_t cap);

#endif
