/* virtio-net feature bits (virtio 1.2, 5.1.3) and what the guest's acked
 * offloads mean for the TAP: the TUNSETOFFLOAD mask, i.e. which partial
 * checksums and segmentation the TAP may hand us in received frames. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_OFFLOAD_H
#define MINIVMM_DEVICES_VIRTIO_NET_OFFLOAD_H

#include <stdint.h>

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#define VIRTIO_NET_F_HOST_USO 56

/* TUNSETOFFLOAD bits (linux/if_tun.h); USO arrived in Linux 6.2, after
 * Debian 12's headers, so they are spelled out here. */
#define NET_TUN_F_CSUM 0x01u
#define NET_TUN_F_TSO4 0x02u
#define NET_TUN_F_TSO6 0x04u
#define NET_TUN_F_TSO_ECN 0x08u
#define NET_TUN_F_UFO 0x10u
#define NET_TUN_F_USO4 0x20u
#define NET_TUN_F_USO6 0x40u

/* The TUNSETOFFLOAD mask for the guest features ACKED. HOST_OK is the set
 * of TUN_F_ bits the host's TAP accepted when probed (UFO and USO are not
 * on every kernel); bits outside it are never asked for. The TAP ignores
 * every segmentation bit without TUN_F_CSUM (a segment's checksum must be
 * left partial), so without GUEST_CSUM the mask is 0. */
unsigned net_tun_offload(uint64_t acked, unsigned host_ok);

/* The guest features the device may offer given what the TAP accepted
 * (HOST_OK as above): GUEST_UFO/USO only where the TAP can hand such
 * frames over, HOST_UFO/USO only where it takes them. */
uint64_t net_offload_features(unsigned host_ok);

#endif
