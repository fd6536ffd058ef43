/* MAC parsing and the stable default MAC (rule in net_mac.h). */
#include "devices/virtio/net_mac.h"

#include "vmm/fnv.h"
#include "vmm/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *net_mac_unusable(const uint8_t mac[NET_MAC_LEN])
{
	static const uint8_t zero[NET_MAC_LEN];

	/* Bit 0 of the first byte is the group bit: a NIC answering a
	 * multicast (or the broadcast) address would take every such frame. */
	if (mac[0] & 1)
		return "a multicast address (the first byte is odd)";
	if (!memcmp(mac, zero, NET_MAC_LEN))
		return "all zeros";
	return NULL;
}

int net_mac_parse(const char *text, uint8_t mac[NET_MAC_LEN], const char **why)
{
	const char *p = text;
	char sep = 0;

	for (int i = 0; i < NET_MAC_LEN; i++) {
		int hi = hex_digit_value(p[0]), lo = hi < 0 ? -1 : hex_digit_value(p[1]);
		if (hi < 0 || lo < 0)
			goto malformed;
		mac[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
		if (i == NET_MAC_LEN - 1)
			break;
		if (*p != ':' && *p != '-')
			goto malformed;
		if (sep && *p != sep) /* one separator throughout */
			goto malformed;
		sep = *p++;
	}
	if (*p)
		goto malformed;
	const char *bad = net_mac_unusable(mac);
	if (bad) {
		if (why)
			*why = bad;
		return -EINVAL;
	}
	return 0;
malformed:
	if (why)
		*why = "not six hex bytes like 52:54:00:12:34:56";
	return -EINVAL;
}

void net_mac_default(const char *key, unsigned index, uint8_t mac[NET_MAC_LEN])
{
	char idx[16];
	snprintf(idx, sizeof(idx), "\n%u", index);
	uint64_t h = fnv1a64(fnv1a64(FNV1A64_INIT, key), idx);
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

char *net_mac_format(const uint8_t mac[NET_MAC_LEN], char buf[NET_MAC_STRLEN])
{
	snprintf(buf, NET_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	return buf;
}
