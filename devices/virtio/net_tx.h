/* virtio-net transmit: the next good frame of the guest's TX queue, as an
 * iovec to write to the TAP (the 12-byte vnet header first, which the TAP
 * reads as its own: zero copy).
 *
 * A hostile chain costs the guest that frame, never more: device-writable
 * or unusable buffers, a frame shorter than header + Ethernet header, or
 * longer than MAX_FRAME (header included) is handed back at once and
 * counted, and the next chain is tried. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_TX_H
#define MINIVMM_DEVICES_VIRTIO_NET_TX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct virtq;

struct net_tx_stats {
	/* Atomic: vm_get_stats() reads them while the I/O thread counts. */
	_Atomic uint64_t frames, bytes;	/* handed to the caller (bytes without the header) */
	_Atomic uint64_t gso;		/* ... of them GSO frames (the guest's TSO/UFO/USO) */
	_Atomic uint64_t bad_chains;	/* writable or unusable buffers, or too many */
	_Atomic uint64_t runts;		/* shorter than header + Ethernet header */
	_Atomic uint64_t oversized;	/* longer than the maximum */
};

/* Pops chains until a good frame: returns its number of iovecs (at most
 * MAX_IOV, which must be at least 1; a chain of more buffers is refused
 * as bad) with *HEAD to virtq_push() once written, 0 when the queue has
 * no more chains, -EIO when the ring is broken (device needs a reset). */
int net_tx_next(struct virtq *vq, struct iovec *iov, unsigned max_iov, size_t max_frame,
		uint16_t *head, struct net_tx_stats *st);

#endif
