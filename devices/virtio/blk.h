/* virtio-blk device logic, independent of the transport (virtio-pci adds
 * capabilities, BARs, MSI-X around it).
 *
 * Life cycle as the transport drives it:
 *   vblk_create()          at VM setup, after disk_open()
 *   vblk_features()        offered feature bits (device feature select)
 *   vblk_config_read()     device-specific config (capacity, seg_max, ...)
 *   vblk_start()           on DRIVER_OK, with the negotiated features, the
 *                          layout of each queue the driver wrote, and each
 *                          queue's kick eventfd (registered as ioeventfd on
 *                          its notify address)
 *   vblk_reset()           on a device reset (status 0), before re-init
 *   vblk_destroy()
 * Requests run on a dedicated I/O thread per disk (io_uring; a poll() loop
 * with synchronous I/O if io_uring is unavailable). The thread calls
 * hooks.notify when the driver must be interrupted (wire to irqfd/MSI-X)
 * and hooks.needs_reset if the driver broke the ring (set
 * VIRTIO_STATUS_NEEDS_RESET and send a configuration-change interrupt).
 * One thread serves all queues of a disk (the qcow2 engine is not shared
 * between threads); several queues let a multi-vCPU guest complete each
 * request on the vCPU that sent it (its own queue and MSI-X vector),
 * instead of waking the sender with an IPI.
 * With kick_fds NULL there is no thread: call vblk_process() yourself
 * (unit tests, the fuzzer, the benchmark's synchronous mode). */
#ifndef MINIVMM_VIRTIO_BLK_DEV_H
#define MINIVMM_VIRTIO_BLK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"

struct disk;
struct guest_mem;
struct vblk;

#define VBLK_QUEUE_SIZE 256	/* queue size offered (queue_size_max) */
/* Data segments per request: the queue size minus header and status, as
 * QEMU does; a 1 MiB guest buffer of scattered 4 KiB pages is then two
 * requests, not three. */
#define VBLK_SEG_MAX (VBLK_QUEUE_SIZE - 2)
#define VBLK_SIZE_MAX (1u << 20)	/* bytes per data segment */
#define VBLK_DWZ_SEG_MAX 32	/* ranges per discard/write-zeroes request */
#define VBLK_POLL_US_DEFAULT 50	/* see vblk_opts.poll_us */
#define VBLK_MAX_QUEUES 16	/* request queues per device (VIRTIO_BLK_F_MQ) */

struct vblk_opts {
	const char *name;	/* in log lines: "vda" */
	const char *serial;	/* GET_ID answer (<= 20 bytes used); NULL: file name */
	bool force_sync;	/* I/O thread without io_uring (tests, comparisons) */
	/* Adaptive busy-polling: after a round of work the I/O thread spins on
	 * the ring (kicks suppressed) and its completions for up to this long
	 * before sleeping; the window shrinks while polls find nothing and
	 * grows again when work comes soon after sleeping. Saves the kick and
	 * the thread wake-up per request at low queue depth. 0: the default
	 * (VBLK_POLL_US_DEFAULT); negative: never poll. */
	int poll_us;
	/* Request queues offered (VIRTIO_BLK_F_MQ when > 1); 0 means 1.
	 * One per vCPU is what Linux makes best use of. */
	unsigned num_queues;
};

struct vblk_stats {
	uint64_t requests;	/* chains taken from the ring */
	uint64_t completed;	/* chains given back (== requests when idle) */
	uint64_t errors, unsupported, notifies, broken_rings;
	uint64_t inline_reads;	/* reads served at once by preadv2(RWF_NOWAIT) */
	uint64_t inline_rw;	/* reads and writes of an image in memory (tmpfs) done at once */
	uint64_t nowait_misses;	/* ... that would have blocked: went to io_uring */
	uint64_t polls_hit;	/* poll windows that found work (no sleep) */
	uint64_t mapped;	/* qcow2 requests done on the image file by io_uring */
	uint64_t barriers;	/* waits for in-flight I/O before an engine call */
	/* Requests completed with VIRTIO_BLK_S_OK, by type (errors: above). */
	uint64_t rd_reqs, rd_bytes, wr_reqs, wr_bytes, flush_reqs;
};

/* The disk stays owned by the caller and must outlive the device. */
struct vblk *vblk_create(struct disk *disk, const struct vblk_opts *opts,
			 const struct virtio_hooks *hooks);
void vblk_destroy(struct vblk *b);

uint64_t vblk_features(const struct vblk *b);
unsigned vblk_num_queues(const struct vblk *b);		/* opts.num_queues */
unsigned vblk_queue_max_size(const struct vblk *b);
/* Device config space: bytes [off, off+len) of struct virtio_blk_config;
 * bytes beyond it read as 0. Writes are ignored (no writeback toggle). */
void vblk_config_read(const struct vblk *b, uint32_t off, void *buf, uint32_t len);
uint32_t vblk_config_size(void);

/* Start processing: features are the negotiated ones (must include
 * VERSION_1); queues[] and kick_fds[] have vblk_num_queues() entries
 * (kick_fds NULL: no I/O thread). 0, or -EINVAL if a layout is refused
 * (logged), or -errno if the I/O thread cannot start. */
int vblk_start(struct vblk *b, const struct guest_mem *gm, uint64_t features,
	       const struct virtio_queue_layout *queues, const int *kick_fds);
/* Stop the I/O thread after in-flight I/O completes, forget the queues. */
void vblk_reset(struct vblk *b);

/* Without kick fds: run every available request to completion now and
 * notify if needed. Returns the number of requests completed, or -EIO if
 * the ring is broken (needs_reset was called). */
int vblk_process(struct vblk *b);

/* Any thread, the device running: each counter is read atomically. */
void vblk_get_stats(const struct vblk *b, struct vblk_stats *out);

/* Host CPUs this process may run on (affinity, cpusets), not all online
 * ones: whether a busy-polling thread or parallel copies can have one. */
unsigned vblk_usable_cpus(void);

#endif
