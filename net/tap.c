/* TAP creation through /dev/net/tun, enslaved to a bridge over netlink. */
#include "net/tap.h"

#include "net/nl.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tap_name(int fd, char name[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* BUSY_OK: a name taken meanwhile (EBUSY, or an interface of that name
 * appeared) returns -EEXIST without a message, for tap_open_next(). */
static int tap_create(const char *name, const char *bridge, unsigned flags, bool busy_ok)
{
	struct ifreq ifr;
	char ifname[IFNAMSIZ];

	int b = nl_is_bridge(bridge);
	if (b < 0) {
		log_error(
		    "tap: bridge %s %s (define and start a network for it with `minivmm net`)",
		    bridge, b == -ENOTTY ? "is not a bridge" : "does not exist");
		return -ENODEV;
	}
	if (name && strlen(name) >= IFNAMSIZ) {
		log_error("tap: name %s is longer than %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		log_error("tap: /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | ((flags & TAP_VNET_HDR) ? IFF_VNET_HDR : 0);
	if (name)
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;
		if (busy_ok && name && (errno == EBUSY || if_nametoindex(name))) {
			close(fd);
			return -EEXIST;
		}
		log_error("tap: creating %s: %s%s", name ? name : "tap", strerror(errno),
			  errno == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
		close(fd);
		return err;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	int r = nl_link_set_master(ifname, bridge);
	if (!r)
		r = nl_link_up(ifname);
	if (r < 0) {
		close(fd); /* a non-persistent TAP disappears with its fd */
		return r;
	}
	return fd;
}

int tap_probe_offload(int fd)
{
	/* 0x60: TUN_F_USO4|TUN_F_USO6 (Linux 6.2, newer than Debian 12's
	 * headers), which tun only takes together. */
	static const unsigned bits[] = {TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN | TUN_F_TSO4,
					TUN_F_UFO, 0x60};
	int mask = TUN_F_CSUM;

	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0)
		return -errno;
	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | bits[i])) == 0)
			mask |= (int)bits[i];
	return ioctl(fd, TUNSETOFFLOAD, 0ul) < 0 ? -errno : mask;
}

int tap_open_flags(const char *name, const char *bridge, unsigned flags)
{
	return tap_create(name, bridge, flags, false);
}

int tap_open(const char *name, const char *bridge) { return tap_open_flags(name, bridge, 0); }

int tap_open_next(const char *prefix, const char *bridge, unsigned flags, char name[IFNAMSIZ])
{
	for (unsigned n = 0; n < TAP_NEXT_MAX; n++) {
		if (snprintf(name, IFNAMSIZ, "%s%u", prefix, n) >= IFNAMSIZ) {
			log_error("tap: name %s%u is longer than %d characters", prefix, n,
				  IFNAMSIZ - 1);
			return -EINVAL;
		}
		if (if_nametoindex(name))
			continue; /* another VM's (or anything else's) */
		int fd = tap_create(name, bridge, flags, true);
		if (fd != -EEXIST)
			return fd;
	}
	log_error("tap: %s0 to %s%u are all taken", prefix, prefix, TAP_NEXT_MAX - 1);
	return -EBUSY;
}
