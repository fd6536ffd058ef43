/* virtio-net control queue (virtio 1.2, 5.1.6.5): the commands Linux's
 * driver sends, applied to the device's receive state. A command is a
 * chain of device-readable bytes (class, command, data) followed by one
 * device-writable ack byte. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_CTRL_H
#define MINIVMM_DEVICES_VIRTIO_NET_CTRL_H

#include <stdbool.h>
#include <stdint.h>

struct virtq_chain;

#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

/* What the control queue has set. The MAC filter table is accepted and
 * its size checked but not kept: the TAP hands us every frame of the
 * bridge port, and the guest's own driver filters (as with promisc). */
struct net_ctrl_state {
	bool promisc, allmulti;
	uint8_t mac[6];
	unsigned queue_pairs;	/* in use: 1..max_queue_pairs */
	unsigned max_queue_pairs;
	_Atomic uint64_t bad_commands;	/* malformed, unknown or refused */
};

/* Runs the command in chain C (already popped, not faulted or faulted)
 * against ST and writes the ack byte. Returns the number of bytes written
 * (1, or 0 when the chain has no writable byte for the ack) for
 * virtq_push(). A malformed command changes nothing and acks ERR. */
uint32_t net_ctrl_handle(const struct virtq_chain *c, struct net_ctrl_state *st);

#endif
