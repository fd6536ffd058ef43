/* TX: the next good frame of the TX queue as an iovec (net_tx.h). */
#include "devices/virtio/net_tx.h"

#include "devices/virtio/net_rx.h"
#include "devices/virtio/virtq.h"

#include <errno.h>

#define TX_MAX_SEGS 64

int net_tx_next(struct virtq *vq, struct iovec *iov, unsigned max_iov, size_t max_frame,
		uint16_t *head, struct net_tx_stats *st)
{
	struct virtq_seg segs[TX_MAX_SEGS];
	struct virtq_chain c = {.seg = segs, .max_seg = max_iov < TX_MAX_SEGS ? max_iov : TX_MAX_SEGS};

	for (;;) {
		int r = virtq_pop(vq, &c);
		if (r <= 0)
			return r < 0 ? -EIO : 0;
		_Atomic uint64_t *bad = NULL;
		if (c.fault || c.writable_bytes)
			bad = &st->bad_chains;
		else if (c.readable_bytes < NET_HDR_LEN + NET_ETH_HLEN)
			bad = &st->runts;
		else if (c.readable_bytes > max_frame)
			bad = &st->oversized;
		if (bad) {
			(*bad)++;
			if (virtq_push(vq, c.head, 0))
				return -EIO;
			continue;
		}
		for (unsigned i = 0; i < c.nseg; i++)
			iov[i] = (struct iovec){.iov_base = c.seg[i].hva, .iov_len = c.seg[i].len};
		*head = c.head;
		st->frames++;
		/* A statistic only (the TAP checks the header itself). */
		if (c.seg[0].len > NET_HDR_GSO_TYPE)
			st->gso += ((const uint8_t *)c.seg[0].hva)[NET_HDR_GSO_TYPE] != 0;
		st->bytes += c.readable_bytes - NET_HDR_LEN;
		return (int)c.nseg;
	}
}
