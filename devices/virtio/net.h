/* virtio-net device logic, independent of the transport (virtio-pci adds
 * capabilities, BARs, MSI-X around it), on a TAP or on libslirp (user-mode
 * networking, net_user.h: one queue pair, no offloads).
 *
 * Queues (virtio 1.2, 5.1.2): receiveq N = 2N, transmitq N = 2N+1 for each
 * queue pair N, then the control queue. Queue pair N is TAP queue N
 * (IFF_MULTI_QUEUE): Linux's driver gives each vCPU a pair, and the TAP
 * hands each queue the flows of one CPU, so a flow stays on one pair.
 *
 * Life cycle as the transport drives it (as virtio-blk's, blk.h):
 *   vnet_create()          at VM setup; the TAP fds become the device's
 *   vnet_features()        offered feature bits
 *   vnet_config_read()     mac, status (link up), max_virtqueue_pairs, mtu
 *   vnet_start()           on DRIVER_OK: sets the TAP's offloads from the
 *                          acked features, starts one I/O thread per pair
 *   vnet_reset()           on status 0: stops the threads, TAP offloads off
 *   vnet_destroy()         closes the TAP fds (a non-persistent TAP goes)
 * Packet work happens only on the I/O threads (epoll on the TAP queue and
 * the kick eventfds of its RX and TX queues; pair 0's thread also runs the
 * control queue); a vCPU never moves a packet. With kick_fds NULL there
 * are no threads: vnet_process() does one round (unit tests). */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/virtio/virtio.h"

struct guest_mem;
struct vnet;
struct vnet_user;

#define VIRTIO_ID_NET 1
#define VNET_MAX_PAIRS 16	/* queue pairs (one per vCPU, at most this) */
#define VNET_QUEUE_SIZE 256	/* queue_size_max of every queue */
#define VNET_MTU_DEFAULT 1500

struct vnet_opts {
	const char *name;	/* in log lines: "eth0" */
	uint8_t mac[6];
	uint16_t mtu;		/* 0: VNET_MTU_DEFAULT */
	unsigned pairs;		/* 1..VNET_MAX_PAIRS; MQ offered when > 1 */
	/* One per pair, opened with IFF_VNET_HDR; the device owns them from
	 * vnet_create() on (even when it fails) and closes them. */
	const int *tap_fds;
	/* TUN_F_* bits the TAP accepted (tap_probe_offload()); 0: none, and
	 * the TAP is then never asked for offloads (a test's socketpair). */
	unsigned tap_offload;
	/* The TAP's controls (net/tap.c's tap_set_offload, tap_set_queue),
	 * so this folder needs nothing of net/; NULL: not asked. */
	int (*set_offload)(int tap_fd, unsigned tun_mask);
	int (*set_queue)(int tap_fd, bool attach);
	/* Instead of TAPs: a user-mode network (vnet_user_create(); then
	 * pairs must be 1 and tap_fds is not used). The device owns it from
	 * vnet_create() on, even when that fails. */
	struct vnet_user *user;
};

struct vnet_stats {
	uint64_t rx_frames, rx_bytes;	/* into the guest (bytes without vnet header) */
	uint64_t rx_gso, rx_merged;	/* ... GSO frames, frames in several buffers */
	uint64_t rx_runts;		/* from the TAP, shorter than an Ethernet header */
	uint64_t rx_bad_buffers;	/* RX chains with readable or unusable buffers */
	uint64_t rx_small_buffers;	/* a chain too small for a frame (no MRG_RXBUF) */
	uint64_t rx_waits;		/* times the guest had no RX buffers posted */
	uint64_t rx_backlog_drops;	/* user-mode: frames lost, the guest's RX queue full */
	uint64_t tx_frames, tx_bytes;	/* from the guest to the TAP */
	uint64_t tx_gso;		/* ... GSO frames (TSO in the guest) */
	uint64_t tx_bad_chains;		/* writable or unusable buffers, too many */
	uint64_t tx_runts, tx_oversized;
	uint64_t tx_errors;		/* the TAP refused a frame (e.g. bad GSO header) */
	uint64_t ctrl_commands, ctrl_bad_commands;
	uint64_t broken_rings;		/* device needed a reset */
	uint64_t notifies;		/* interrupts asked of the transport */
};

/* NULL on error (logged; the TAP fds are closed). */
struct vnet *vnet_create(const struct vnet_opts *opts, const struct virtio_hooks *hooks);
void vnet_destroy(struct vnet *n);

uint64_t vnet_features(const struct vnet *n);
unsigned vnet_num_queues(const struct vnet *n);	/* 2 * pairs + 1 */
unsigned vnet_queue_max_size(const struct vnet *n);
uint32_t vnet_config_size(void);
void vnet_config_read(struct vnet *n, uint32_t off, void *buf, uint32_t len);

int vnet_start(struct vnet *n, const struct guest_mem *gm, uint64_t features,
	       const struct virtio_queue_layout *queues, const int *kick_fds);
void vnet_reset(struct vnet *n);
/* Without I/O threads: move what can be moved now (every queue, the TAP
 * read until it would block). 0, or -EIO when a ring broke. */
int vnet_process(struct vnet *n);

/* Counters summed over the queue pairs; exact once the device is stopped. */
void vnet_get_stats(const struct vnet *n, struct vnet_stats *st);
/* "eth0: rx 12 frames 3456 bytes, ..." for MINIVMM_EXIT_STATS (stderr). */
void vnet_print_stats(const struct vnet *n, FILE *out);

#endif
