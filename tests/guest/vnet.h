/* The "vnet" and "vnet-mrg" verbs: find the first virtio-net (1af4:1041)
 * on PCI bus 0, drive it by polling (no interrupts) with VERSION_1 and MAC
 * (vnet: also CTRL_VQ + CTRL_RX; vnet-mrg: MRG_RXBUF), and check that
 * hostile TX chains and RX buffers cost only the frame they carry, that a
 * broken ring makes the device need a reset and works again after one,
 * and that good frames flow both ways with the peer tests/guest/
 * vnet_peer.py runs on the other end of the bridge. Each step prints
 * "vnet: WHAT: ok|WRONG"; the peer and the device's counters
 * (MINIVMM_EXIT_STATS) are checked by the test that runs the case. */
#ifndef GUEST_VNET_H
#define GUEST_VNET_H

#include <stdbool.h>

/* 0 when every step got its expected answer. */
int vnet_hostile(bool mergeable);

#endif
