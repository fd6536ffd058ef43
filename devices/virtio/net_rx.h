/* virtio-net receive: one frame from the TAP into the guest's RX queue.
 *
 * A frame comes from the TAP as a 12-byte virtio-net header (the TAP's
 * vnet header size is set to 12, the virtio 1.x header with num_buffers)
 * followed by the Ethernet frame. It goes into one chain, or, with
 * VIRTIO_NET_F_MRG_RXBUF, into as many chains as it needs, num_buffers
 * saying how many; all of a frame's chains are published at once (Linux's
 * driver drops a frame whose later buffers are not there yet).
 *
 * Hostile or short of room, the guest loses the frame, never more: a
 * chain with device-readable or unusable buffers, or (without MRG_RXBUF)
 * too small for the frame, is handed back with length 0 (the driver drops
 * a buffer shorter than a header) and counted. Too few buffers posted: the
 * chains are given back unused and the caller keeps the frame until the
 * driver posts more. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_RX_H
#define MINIVMM_DEVICES_VIRTIO_NET_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct virtq;

#define NET_HDR_LEN 12		/* struct virtio_net_hdr_v1 */
#define NET_HDR_GSO_TYPE 1	/* offset of gso_type (0: not a GSO frame) */
#define NET_HDR_NUM_BUFFERS 10	/* offset of num_buffers (le16) */
#define NET_ETH_HLEN 14

struct net_rx_stats {
	/* Atomic: vm_get_stats() reads them while the I/O thread counts. */
	_Atomic uint64_t frames, bytes;	/* delivered (bytes without the header) */
	_Atomic uint64_t gso;		/* ... of them GSO frames (the TAP's TSO/UFO/USO) */
	_Atomic uint64_t merged;	/* ... of them in more than one buffer (MRG_RXBUF) */
	_Atomic uint64_t runts;		/* shorter than header + Ethernet header */
	_Atomic uint64_t bad_buffers;	/* chains with readable or unusable buffers */
	_Atomic uint64_t small_buffers;	/* one chain too small, no MRG_RXBUF */
};

/* Delivers FRAME (LEN bytes, header first) into VQ. MERGEABLE: MRG_RXBUF
 * was negotiated. Returns 1 delivered, 0 dropped (counted in ST: the frame
 * is gone), -EAGAIN too few buffers (nothing used: retry after a kick),
 * -EIO the queue is broken (the device needs a reset). */
int net_rx_deliver(struct virtq *vq, const uint8_t *frame, size_t len, bool mergeable,
		   struct net_rx_stats *st);

#endif
