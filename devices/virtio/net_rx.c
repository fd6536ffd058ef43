/* RX: a frame into one chain, or into several mergeable ones (net_rx.h). */
#include "devices/virtio/net_rx.h"

#include "devices/virtio/virtq.h"

#include <errno.h>
#include <string.h>

/* Most chains a frame may take: a 64 KiB GSO frame in the smallest
 * buffers Linux posts (one page each) needs 17; a queue never holds more
 * than its size anyway. */
#define RX_MAX_CHAINS 256
#define RX_MAX_SEGS 64

/* Copies up to LEN bytes of SRC into the chain's (writable) buffers from
 * byte OFF of the chain on; returns how many were copied. */
static size_t copy_to_chain(const struct virtq_chain *c, size_t off, const uint8_t *src,
			    size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < c->nseg && done < len; i++) {
		size_t seg = c->seg[i].len;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		size_t n = seg - off < len - done ? seg - off : len - done;
		memcpy((uint8_t *)c->seg[i].hva + off, src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

static bool chain_usable(const struct virtq_chain *c)
{
	return !c->fault && c->readable_bytes == 0 && c->writable_bytes >= NET_HDR_LEN;
}

/* Hands back N popped chains with length 0 (the driver drops them). */
static int give_back_empty(struct virtq *vq, const uint16_t *heads, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (virtq_fill(vq, i, heads[i], 0))
			return -EIO;
	return n ? virtq_flush(vq, n) : 0;
}

int net_rx_deliver(struct virtq *vq, const uint8_t *frame, size_t len, bool mergeable,
		   struct net_rx_stats *st)
{
	uint16_t heads[RX_MAX_CHAINS];
	uint32_t lens[RX_MAX_CHAINS];
	struct virtq_seg segs[RX_MAX_SEGS];
	struct virtq_chain c = {.seg = segs, .max_seg = RX_MAX_SEGS};
	struct virtq_chain first = {0};
	struct virtq_seg first_segs[RX_MAX_SEGS];
	unsigned n = 0, limit = virtq_size(vq) < RX_MAX_CHAINS ? virtq_size(vq) : RX_MAX_CHAINS;
	size_t done = 0;
	int r;

	if (len < NET_HDR_LEN + NET_ETH_HLEN) {
		st->runts++;
		return 0;
	}
	if (!virtq_ready(vq)) /* no ring yet (or reset): wait, do not count a drop */
		return virtq_broken(vq) ? -EIO : -EAGAIN;
	while (done < len) {
		r = virtq_pop(vq, &c);
		if (r < 0)
			return -EIO;
		if (r == 0 || n == limit) {
			/* Not enough room posted: use nothing, the frame waits. A
			 * frame that needs more chains than the queue can hold is
			 * dropped instead (it would wait forever). */
			virtq_unpop(vq, n + (r > 0));
			if (r > 0 || n == limit) {
				st->small_buffers++;
				return 0;
			}
			return -EAGAIN;
		}
		if (!chain_usable(&c) || (!mergeable && c.writable_bytes < len)) {
			/* The frame is lost; the chains it had, and this one, go
			 * back empty. */
			heads[n++] = c.head;
			if (!chain_usable(&c))
				st->bad_buffers++;
			else
				st->small_buffers++;
			return give_back_empty(vq, heads, n) ? -EIO : 0;
		}
		size_t k = copy_to_chain(&c, 0, frame + done, len - done);
		if (n == 0) {
			first = c;
			memcpy(first_segs, segs, c.nseg * sizeof(segs[0]));
			first.seg = first_segs;
		}
		heads[n] = c.head;
		lens[n++] = (uint32_t)k;
		done += k;
	}
	uint8_t nb[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
	copy_to_chain(&first, NET_HDR_NUM_BUFFERS, nb, 2);
	for (unsigned i = 0; i < n; i++)
		if (virtq_fill(vq, i, heads[i], lens[i]))
			return -EIO;
	if (virtq_flush(vq, n))
		return -EIO;
	st->frames++;
	st->bytes += len - NET_HDR_LEN;
	st->gso += frame[NET_HDR_GSO_TYPE] != 0;
	st->merged += n > 1;
	return 1;
}
