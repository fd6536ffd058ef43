/* virtio-net control commands (net_ctrl.h). */
#include "devices/virtio/net_ctrl.h"

#include "devices/virtio/net_mac.h"
#include "devices/virtio/virtq.h"

#include <string.h>

/* Largest command we read: class, command and a MAC filter table of two
 * tables (le32 count + 6-byte entries); Linux sends at most a few hundred
 * addresses. Longer commands are refused. */
#define CTRL_MAX 4096

static uint8_t run(const uint8_t *b, size_t len, struct net_ctrl_state *st)
{
	const uint8_t *data = b + 2;
	size_t dlen = len - 2;

	switch (b[0] << 8 | b[1]) {
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_PROMISC:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLMULTI:
		if (dlen != 1)
			return VIRTIO_NET_ERR;
		if (b[1] == VIRTIO_NET_CTRL_RX_PROMISC)
			st->promisc = data[0] != 0;
		else
			st->allmulti = data[0] != 0;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (dlen != 6 || net_mac_unusable(data))
			return VIRTIO_NET_ERR;
		memcpy(st->mac, data, 6);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_TABLE_SET: {
		/* unicast table then multicast table, each le32 entries + MACs */
		size_t off = 0;
		for (int t = 0; t < 2; t++) {
			if (dlen - off < 4)
				return VIRTIO_NET_ERR;
			uint32_t n = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
				     (uint32_t)data[off + 2] << 16 | (uint32_t)data[off + 3] << 24;
			off += 4;
			if (n > (dlen - off) / 6)
				return VIRTIO_NET_ERR;
			off += (size_t)n * 6;
		}
		return off == dlen ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	}
	case VIRTIO_NET_CTRL_MQ << 8 | VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: {
		if (dlen != 2)
			return VIRTIO_NET_ERR;
		unsigned pairs = data[0] | data[1] << 8;
		if (pairs < 1 || pairs > st->max_queue_pairs)
			return VIRTIO_NET_ERR;
		st->queue_pairs = pairs;
		return VIRTIO_NET_OK;
	}
	default:
		return VIRTIO_NET_ERR;
	}
}

uint32_t net_ctrl_handle(const struct virtq_chain *c, struct net_ctrl_state *st)
{
	uint8_t buf[CTRL_MAX];
	size_t len = 0;
	uint8_t *ack = NULL;
	bool ok = !c->fault && c->nseg > 0, fits = true;

	/* readable bytes first, then exactly the ack byte's buffer at the end */
	for (unsigned i = 0; ok && i < c->nseg; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->writable) {
			if (i != c->nseg - 1 || s->len < 1)
				ok = false;
			else
				ack = s->hva;
		} else if (!fits || s->len > CTRL_MAX - len) {
			fits = false; /* answered ERR, but still answered */
		} else {
			memcpy(buf + len, s->hva, s->len);
			len += s->len;
		}
	}
	uint8_t status = ok && fits && ack && len >= 2 ? run(buf, len, st) : VIRTIO_NET_ERR;
	if (status != VIRTIO_NET_OK)
		st->bad_commands++;
	if (!ack) /* no proper ack buffer (or a faulted chain): write nothing */
		return 0;
	*ack = status;
	return 1;
}
