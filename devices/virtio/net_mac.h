/* MAC addresses of virtio-net NICs: what `--bridge NAME,mac=MAC` accepts,
 * and the default a NIC gets without mac=.
 *
 * The default is the same on every run of the same VM, so minivmm's DHCP
 * server (leases keyed by MAC) hands back the same address and a harness
 * that boots one VM hundreds of times does not drain the pool. Rule:
 * 52:54:00 (the prefix QEMU and libvirt use) followed by the low 24 bits of
 * the 64-bit FNV-1a hash of "KEY\nINDEX", where KEY is the first disk's
 * real path (realpath(3)) or, without a disk, the kernel's real path, and
 * INDEX the NIC's position on the command line (0 for eth0) in decimal. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_MAC_H
#define MINIVMM_DEVICES_VIRTIO_NET_MAC_H

#include <stdint.h>

#define NET_MAC_LEN 6
#define NET_MAC_STRLEN 18 /* "xx:xx:xx:xx:xx:xx" and its NUL */

/* Parses "52:54:00:12:34:56" (hex digits either case, ':' or '-', two
 * digits a byte) into MAC. Returns 0, or -EINVAL with *WHY (if not NULL)
 * set to the reason: malformed, multicast, or all-zero. */
int net_mac_parse(const char *text, uint8_t mac[NET_MAC_LEN], const char **why);

/* The reason MAC cannot be a NIC's address (multicast/broadcast, all
 * zeros), or NULL when it can. */
const char *net_mac_unusable(const uint8_t mac[NET_MAC_LEN]);

/* The default MAC for NIC INDEX of the VM keyed by KEY (see above; KEY is
 * used as given: the caller resolves it with realpath first). */
void net_mac_default(const char *key, unsigned index, uint8_t mac[NET_MAC_LEN]);

/* MAC as "xx:xx:xx:xx:xx:xx" into BUF (NET_MAC_STRLEN bytes); returns BUF. */
char *net_mac_format(const uint8_t mac[NET_MAC_LEN], char buf[NET_MAC_STRLEN]);

#endif
