/* virtio-net: features, configuration space, life cycle, control queue. */
#include "devices/virtio/net_internal.h"

#include "devices/virtio/net_offload.h"
#include "devices/virtio/net_user.h"
#include "devices/virtio/virtq.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VIRTIO_NET_S_LINK_UP 1

/* virtio 1.2, 5.1.4 (speed/duplex and RSS fields stay 0: not offered). */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
	uint32_t speed;
	uint8_t duplex;
	uint8_t rss_max_key_size;
	uint16_t rss_max_indirection_table_length;
	uint32_t supported_hash_types;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_config) == 24, "virtio_net_config is 24 bytes");

static uint64_t offered_features(const struct vnet *n)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		     VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		     VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
		     VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);

	if (n->pairs > 1)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
	return f | net_offload_features(n->tap_offload);
}

static void close_taps(const int *fds, unsigned count)
{
	for (unsigned i = 0; fds && i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int create_pair(struct vnet *n, unsigned i, int tap_fd)
{
	struct vnet_pair *p = &n->p[i];
	char qname[64];

	*p = (struct vnet_pair){ .n = n, .index = i, .tap_fd = tap_fd, .epfd = -1,
				 .rx_kick = -1, .tx_kick = -1 };
	snprintf(qname, sizeof(qname), "%s: receiveq%u", n->name, i + 1);
	p->rxq = virtq_create(qname);
	snprintf(qname, sizeof(qname), "%s: transmitq%u", n->name, i + 1);
	p->txq = virtq_create(qname);
	p->rxbuf = malloc(VNET_RX_BUF);
	if (!p->rxq || !p->txq || !p->rxbuf) {
		log_error("virtio-net: %s: out of memory", n->name);
		return -ENOMEM;
	}
	if (tap_fd < 0)
		return 0;	/* user-mode: no TAP */
	/* The threads must never block on the TAP. */
	int fl = fcntl(tap_fd, F_GETFL);
	if (fl < 0 || fcntl(tap_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int err = errno;
		log_error("virtio-net: %s: TAP queue %u: %s", n->name, i, strerror(err));
		return -err;
	}
	return 0;
}

struct vnet *vnet_create(const struct vnet_opts *o, const struct virtio_hooks *hooks)
{
	struct vnet *n = calloc(1, sizeof(*n));
	const char *name = o->name ? o->name : "net";

	unsigned max_pairs = o->user ? 1 : VNET_MAX_PAIRS;

	if (!n || o->pairs == 0 || o->pairs > max_pairs) {
		if (n)
			log_error("virtio-net: %s: %u queue pairs asked for, 1 to %u possible", name,
				  o->pairs, max_pairs);
		if (o->user)
			vnet_user_destroy(o->user);
		else
			close_taps(o->tap_fds, o->pairs > max_pairs ? max_pairs : o->pairs);
		free(n);
		return NULL;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->pairs = o->pairs;
	n->mtu = o->mtu ? o->mtu : VNET_MTU_DEFAULT;
	/* slirp takes complete frames only: no checksum or GSO offloads. */
	n->tap_offload = o->set_offload && !o->user ? o->tap_offload : 0;
	n->be = o->user ? &vnet_user_backend : &vnet_tap_backend;
	n->user = o->user;
	n->set_offload = o->set_offload;
	n->set_queue = o->set_queue;
	n->stop_fd = -1;
	n->ctrl_kick = -1;
	pthread_mutex_init(&n->lock, NULL);
	memcpy(n->ctrl.mac, o->mac, sizeof(n->ctrl.mac));
	n->ctrl.max_queue_pairs = n->pairs;
	n->ctrl.queue_pairs = 1;
	atomic_store(&n->active_pairs, n->pairs);
	if (hooks)
		n->hooks = *hooks;
	unsigned made = 0;
	int r = 0;
	for (; made < n->pairs && !r; made++)
		r = create_pair(n, made, o->user ? -1 : o->tap_fds[made]);
	char qname[64];
	snprintf(qname, sizeof(qname), "%s: controlq", n->name);
	if (!r && !(n->ctrlq = virtq_create(qname)))
		r = -ENOMEM;
	if (!r && (n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		r = -errno;
	if (r) {
		if (!o->user)
			close_taps(o->tap_fds + made, n->pairs - made);
		vnet_destroy(n);
		return NULL;
	}
	n->offered = offered_features(n);
	return n;
}

void vnet_destroy(struct vnet *n)
{
	if (!n)
		return;
	vnet_reset(n);
	for (unsigned i = 0; i < n->pairs; i++) {
		struct vnet_pair *p = &n->p[i];
		if (!p->n)
			continue;	/* never created */
		virtq_destroy(p->rxq);
		virtq_destroy(p->txq);
		free(p->rxbuf);
		if (p->tap_fd >= 0)
			close(p->tap_fd);
	}
	virtq_destroy(n->ctrlq);
	if (n->be && n->be->destroy)
		n->be->destroy(n);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

uint64_t vnet_features(const struct vnet *n) { return n->offered; }
unsigned vnet_num_queues(const struct vnet *n) { return 2 * n->pairs + 1; }
unsigned vnet_queue_max_size(const struct vnet *n) { (void)n; return VNET_QUEUE_SIZE; }
uint32_t vnet_config_size(void) { return sizeof(struct virtio_net_config); }

void vnet_config_read(struct vnet *n, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_net_config c = { .status = VIRTIO_NET_S_LINK_UP,
				       .max_virtqueue_pairs = (uint16_t)n->pairs, .mtu = n->mtu };

	pthread_mutex_lock(&n->lock);
	memcpy(c.mac, n->ctrl.mac, sizeof(c.mac));	/* MAC_ADDR_SET shows here too */
	pthread_mutex_unlock(&n->lock);
	memset(buf, 0, len);
	if (off >= sizeof(c))
		return;
	if (len > sizeof(c) - off)
		len = sizeof(c) - off;
	memcpy(buf, (const uint8_t *)&c + off, len);
}

/* The TAP's offloads follow what the guest can take (GUEST_CSUM/TSO...). */
static void set_offload(struct vnet *n, unsigned mask)
{
	if (!n->tap_offload || mask == n->offload_set)
		return;
	int r = n->set_offload(n->p[0].tap_fd, mask);
	if (r < 0) {
		log_warn("virtio-net: %s: TUNSETOFFLOAD 0x%x: %s", n->name, mask, strerror(-r));
		return;
	}
	n->offload_set = mask;
}

void vnet_set_active_pairs(struct vnet *n, unsigned want)
{
	unsigned had = atomic_load(&n->active_pairs);

	if (want == had || want == 0 || want > n->pairs)
		return;
	for (unsigned i = 1; i < n->pairs; i++) {
		bool attach = i < want;
		if (attach == (i < had))
			continue;
		int r = n->set_queue ? n->set_queue(n->p[i].tap_fd, attach) : 0;
		if (r < 0)
			log_warn("virtio-net: %s: %s TAP queue %u: %s", n->name,
				 attach ? "attaching" : "detaching", i, strerror(-r));
	}
	atomic_store(&n->active_pairs, want);
	/* Wake the threads whose pair changed: they add or drop their TAP. */
	for (unsigned i = 1; i < n->pairs && n->threads; i++)
		if ((i < want) != (i < had) && n->p[i].rx_kick >= 0)
			(void)!write(n->p[i].rx_kick, &(uint64_t){ 1 }, sizeof(uint64_t));
}

static int start_queue(struct vnet *n, struct virtq *vq, const struct guest_mem *gm,
		       const struct virtio_queue_layout *l, uint64_t features, bool *on)
{
	*on = false;
	if (!l->size)
		return 0;	/* not enabled: the driver does not use it */
	if (l->size > VNET_QUEUE_SIZE) {
		log_error("virtio-net: %s: %s size %u above the maximum %u", n->name,
			  virtq_name(vq), l->size, VNET_QUEUE_SIZE);
		return -EINVAL;
	}
	int r = virtq_setup(vq, gm, l->size, l->desc, l->avail, l->used, features);
	if (r)
		return r;
	*on = true;
	return 0;
}

static void reset_queues(struct vnet *n)
{
	for (unsigned i = 0; i < n->pairs; i++) {
		struct vnet_pair *p = &n->p[i];
		virtq_reset(p->rxq);
		virtq_reset(p->txq);
		p->rx_on = p->tx_on = p->dead = false;
		p->rx_len = 0;
		p->rx_waiting = p->tx_blocked = false;
	}
	virtq_reset(n->ctrlq);
	n->ctrl_on = false;
	/* Frames kept for the old driver are not the new one's. */
	if (n->be->reset)
		n->be->reset(n);
}

int vnet_start(struct vnet *n, const struct guest_mem *gm, uint64_t features,
	       const struct virtio_queue_layout *queues, const int *kick_fds)
{
	int r = 0;

	vnet_reset(n);
	if (!(features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || (features & ~n->offered)) {
		log_error("virtio-net: %s: driver accepted features 0x%llx (offered 0x%llx, "
			  "VERSION_1 required)", n->name, (unsigned long long)features,
			  (unsigned long long)n->offered);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n->pairs && !r; i++) {
		struct vnet_pair *p = &n->p[i];
		r = start_queue(n, p->rxq, gm, &queues[2 * i], features, &p->rx_on);
		if (!r)
			r = start_queue(n, p->txq, gm, &queues[2 * i + 1], features, &p->tx_on);
	}
	/* Without CTRL_VQ the last queue is not there (5.1.2). */
	if (!r && (features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)))
		r = start_queue(n, n->ctrlq, gm, &queues[2 * n->pairs], features, &n->ctrl_on);
	if (r) {
		reset_queues(n);
		return r;
	}
	n->features = features;
	n->reset_requested = false;
	pthread_mutex_lock(&n->lock);
	n->ctrl.queue_pairs = 1;	/* until VQ_PAIRS_SET (5.1.6.5.5) */
	n->ctrl.promisc = n->ctrl.allmulti = false;
	pthread_mutex_unlock(&n->lock);
	vnet_set_active_pairs(n, 1);
	set_offload(n, net_tun_offload(features, n->tap_offload));
	if (kick_fds && (r = vnet_io_start(n, kick_fds)) < 0) {
		reset_queues(n);
		return r;
	}
	n->threads = kick_fds != NULL;
	n->started = true;
	return 0;
}

void vnet_reset(struct vnet *n)
{
	if (n->threads)
		vnet_io_stop(n);
	n->threads = false;
	reset_queues(n);
	/* No partial-checksum or GSO frames for a driver that has not yet
	 * said it takes them (re-set at the next DRIVER_OK). */
	set_offload(n, 0);
	n->features = 0;
	n->started = false;
}

int vnet_process(struct vnet *n)
{
	int ret = 0;

	if (!n->started || n->threads)
		return 0;
	for (unsigned i = 0; i < n->pairs; i++) {
		int r;
		while ((r = vnet_pair_round(&n->p[i])) > 0)
			;
		if (r < 0)
			ret = r;
	}
	return ret;
}

void vnet_ring_broken(struct vnet *n, struct vnet_pair *p, const char *what)
{
	if (p)
		p->dead = true;
	pthread_mutex_lock(&n->lock);
	bool first = !n->reset_requested;
	n->reset_requested = true;
	if (first)
		n->broken_rings++;
	pthread_mutex_unlock(&n->lock);
	if (!first)
		return;
	if (what)
		log_error("virtio-net: %s: the driver broke %s; device needs reset", n->name, what);
	else
		log_error("virtio-net: %s: the driver broke the rings of queue pair %u; device needs "
			  "reset", n->name, p->index + 1);
	if (n->hooks.needs_reset)
		n->hooks.needs_reset(n->hooks.opaque);
}

void vnet_notify(struct vnet *n, unsigned queue, _Atomic uint64_t *counter)
{
	(*counter)++;
	if (n->hooks.notify)
		n->hooks.notify(n->hooks.opaque, queue);
}

int vnet_ctrl_drain(struct vnet *n)
{
	struct virtq_seg seg[8];
	struct virtq_chain c = { .seg = seg, .max_seg = 8 };
	unsigned done = 0;
	int r;

	if (!n->ctrl_on)
		return 0;
	/* With EVENT_IDX the driver kicks only past avail_event: keep it at
	 * what was consumed (virtq_enable_notify), and look again for commands
	 * published meanwhile. */
	while ((r = virtq_pop(n->ctrlq, &c)) > 0 ||
	       (r == 0 && virtq_enable_notify(n->ctrlq) && (r = virtq_pop(n->ctrlq, &c)) > 0)) {
		pthread_mutex_lock(&n->lock);
		uint32_t written = net_ctrl_handle(&c, &n->ctrl);
		unsigned pairs = n->ctrl.queue_pairs;
		pthread_mutex_unlock(&n->lock);
		n->ctrl_commands++;
		vnet_set_active_pairs(n, pairs);
		if (virtq_push(n->ctrlq, c.head, written) < 0) {
			r = -EIO;
			break;
		}
		done++;
	}
	if (r < 0) {
		vnet_ring_broken(n, NULL, "the control queue");
		n->ctrl_on = false;
		return -EIO;
	}
	if (done && virtq_should_notify(n->ctrlq))
		vnet_notify(n, 2 * n->pairs, &n->p[0].notifies);
	return 0;
}

void vnet_get_stats(const struct vnet *n, struct vnet_stats *o)
{
	memset(o, 0, sizeof(*o));
	for (unsigned i = 0; i < n->pairs; i++) {
		const struct vnet_pair *p = &n->p[i];
		o->rx_frames += p->rxs.frames;
		o->rx_bytes += p->rxs.bytes;
		o->rx_gso += p->rxs.gso;
		o->rx_merged += p->rxs.merged;
		o->rx_runts += p->rxs.runts;
		o->rx_bad_buffers += p->rxs.bad_buffers;
		o->rx_small_buffers += p->rxs.small_buffers;
		o->rx_waits += p->rx_waits;
		o->rx_backlog_drops += p->rx_backlog_drops;
		o->tx_frames += p->txs.frames;
		o->tx_bytes += p->txs.bytes;
		o->tx_gso += p->txs.gso;
		o->tx_bad_chains += p->txs.bad_chains;
		o->tx_runts += p->txs.runts;
		o->tx_oversized += p->txs.oversized;
		o->tx_errors += p->tx_errors;
		o->notifies += p->notifies;
	}
	o->ctrl_commands = n->ctrl_commands;
	o->ctrl_bad_commands = n->ctrl.bad_commands;
	o->broken_rings = n->broken_rings;
}

void vnet_print_stats(const struct vnet *n, FILE *out)
{
	struct vnet_stats s;

	vnet_get_stats(n, &s);
	fprintf(out, "%s: rx %llu frames %llu bytes (%llu GSO, %llu in several buffers), "
		"tx %llu frames %llu bytes (%llu GSO), %llu interrupts\n",
		n->name, (unsigned long long)s.rx_frames, (unsigned long long)s.rx_bytes,
		(unsigned long long)s.rx_gso, (unsigned long long)s.rx_merged,
		(unsigned long long)s.tx_frames, (unsigned long long)s.tx_bytes,
		(unsigned long long)s.tx_gso, (unsigned long long)s.notifies);
	fprintf(out, "%s: dropped: rx runts %llu, rx bad buffers %llu, rx small buffers %llu, "
		"tx bad chains %llu, tx runts %llu, tx oversized %llu, tx refused by TAP %llu; "
		"rx waits for buffers %llu, rx backlog full %llu; control commands %llu (bad %llu); "
		"broken rings %llu\n",
		n->name, (unsigned long long)s.rx_runts, (unsigned long long)s.rx_bad_buffers,
		(unsigned long long)s.rx_small_buffers, (unsigned long long)s.tx_bad_chains,
		(unsigned long long)s.tx_runts, (unsigned long long)s.tx_oversized,
		(unsigned long long)s.tx_errors, (unsigned long long)s.rx_waits,
		(unsigned long long)s.rx_backlog_drops,
		(unsigned long long)s.ctrl_commands, (unsigned long long)s.ctrl_bad_commands,
		(unsigned long long)s.broken_rings);
}
