/* Guest offload features <-> the TAP's TUNSETOFFLOAD mask. */
#include "devices/virtio/net_offload.h"

#include "devices/virtio/virtio.h"

/* A guest receive feature and the TAP bit that lets such frames reach us. */
static const struct {
	unsigned feature;
	unsigned tun;
} guest_map[] = {
    {VIRTIO_NET_F_GUEST_TSO4, NET_TUN_F_TSO4}, {VIRTIO_NET_F_GUEST_TSO6, NET_TUN_F_TSO6},
    {VIRTIO_NET_F_GUEST_ECN, NET_TUN_F_TSO_ECN}, {VIRTIO_NET_F_GUEST_UFO, NET_TUN_F_UFO},
    {VIRTIO_NET_F_GUEST_USO4, NET_TUN_F_USO4},   {VIRTIO_NET_F_GUEST_USO6, NET_TUN_F_USO6},
};

unsigned net_tun_offload(uint64_t acked, unsigned host_ok)
{
	unsigned mask = NET_TUN_F_CSUM;

	if (!(acked & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) || !(host_ok & NET_TUN_F_CSUM))
		return 0;
	for (unsigned i = 0; i < sizeof(guest_map) / sizeof(guest_map[0]); i++)
		if (acked & VIRTIO_BIT(guest_map[i].feature))
			mask |= guest_map[i].tun;
	return mask & host_ok;
}

uint64_t net_offload_features(unsigned host_ok)
{
	uint64_t f = 0;

	if (!(host_ok & NET_TUN_F_CSUM))
		return 0;
	/* CSUM/TSO from the guest are written to the TAP as they come: its
	 * vnet header carries them, and every kernel with IFF_VNET_HDR takes
	 * them. UFO/USO frames written to a TAP need a kernel that knows those
	 * GSO types; the probe (TUNSETOFFLOAD, the other direction) is our
	 * stand-in for that: the kernels that take the bit know the type. */
	f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
	     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN);
	if (host_ok & NET_TUN_F_UFO)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);
	if (host_ok & (NET_TUN_F_USO4 | NET_TUN_F_USO6))
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_USO);
	f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	for (unsigned i = 0; i < sizeof(guest_map) / sizeof(guest_map[0]); i++)
		if (host_ok & guest_map[i].tun)
			f |= VIRTIO_BIT(guest_map[i].feature);
	return f;
}
