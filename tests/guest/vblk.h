/* The "vblk" verb: find the first virtio-blk (1af4:1042) on PCI bus 0 by
 * configuration mechanism #1, drive it through its virtio 1.x capabilities
 * by polling (no interrupts), check its VIRTIO_PCI_CAP_PCI_CFG window
 * (common and device config through config space match the MMIO BAR, a
 * notify through it kicks the queue), and send it hostile requests: each must be
 * answered as the virtio spec says (an error status, or NEEDS_RESET for a
 * broken ring) and the device must work again afterwards. */
#ifndef GUEST_VBLK_H
#define GUEST_VBLK_H

/* 0 when every case got its expected answer; prints one line per case. */
int vblk_hostile(void);

#endif
