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
#include <sys/socket.h>
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

/* The TUNSETIFF request for NAME with FLAGS. */
static void tap_ifreq(struct ifreq *ifr, const char *name, unsigned flags)
{
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = IFF_TAP | IFF_NO_PI | ((flags & TAP_VNET_HDR) ? IFF_VNET_HDR : 0) |
			 ((flags & TAP_MULTI_QUEUE) ? IFF_MULTI_QUEUE : 0);
	if (name)
		snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
}

/* Opens /dev/net/tun and binds it to NAME (created if it does not exist,
 * another queue of it with TAP_MULTI_QUEUE). The fd, or -errno with
 * ifr->ifr_name the name the kernel chose. Logs nothing. */
static int tap_bind(struct ifreq *ifr, const char *name, unsigned flags)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	tap_ifreq(ifr, name, flags);
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	ifr->ifr_name[IFNAMSIZ - 1] = '\0';
	return fd;
}

static const char *tap_hint(int err)
{
	switch (err) {
	case -EPERM: return " (needs root or CAP_NET_ADMIN, or a persistent TAP of yours)";
	case -ENOENT: case -ENODEV: return " (is the tun module loaded?)";
	case -EBUSY: return " (another program has it open)";
	default: return "";
	}
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Queues 1..N-1 of the TAP that FDS[0] holds. */
static int tap_more_queues(const char *ifname, unsigned flags, unsigned n, int *fds)
{
	for (unsigned i = 1; i < n; i++) {
		struct ifreq ifr;
		fds[i] = tap_bind(&ifr, ifname, flags);
		if (fds[i] < 0) {
			int err = fds[i];
			log_error("tap: %s: opening queue %u: %s%s", ifname, i, strerror(-err),
				  tap_hint(err));
			close_all(fds, i);
			return err;
		}
	}
	return 0;
}

/* BUSY_OK: a name taken meanwhile (EBUSY, or an interface of that name
 * appeared) returns -EEXIST without a message, for tap_open_next(). */
static int tap_create(const char *name, const char *bridge, unsigned flags, unsigned n,
		      int *fds, bool busy_ok)
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
	if (n > 1)
		flags |= TAP_MULTI_QUEUE;
	fds[0] = tap_bind(&ifr, name, flags);
	if (fds[0] < 0) {
		int err = fds[0];
		if (busy_ok && name && (err == -EBUSY || if_nametoindex(name)))
			return -EEXIST;
		if (err == -ENOENT || err == -ENODEV)
			log_error("tap: /dev/net/tun: %s%s", strerror(-err), tap_hint(err));
		else
			log_error("tap: creating %s: %s%s", name ? name : "tap", strerror(-err),
				  tap_hint(err));
		return err;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	int r = tap_more_queues(ifname, flags, n, fds);
	if (r < 0)
		return r; /* fds[0] closed: a non-persistent TAP disappears with its fds */
	r = nl_link_set_master(ifname, bridge);
	if (!r)
		r = nl_link_up(ifname);
	if (r < 0) {
		close_all(fds, n);
		return r;
	}
	return 0;
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

int tap_open_queues(const char *name, const char *bridge, unsigned flags, unsigned n, int *fds)
{
	return tap_create(name, bridge, flags, n ? n : 1, fds, false);
}

int tap_open_flags(const char *name, const char *bridge, unsigned flags)
{
	int fd;
	int r = tap_create(name, bridge, flags, 1, &fd, false);
	return r < 0 ? r : fd;
}

int tap_open(const char *name, const char *bridge) { return tap_open_flags(name, bridge, 0); }

int tap_open_next(const char *prefix, const char *bridge, unsigned flags, unsigned n, int *fds,
		  char name[IFNAMSIZ])
{
	for (unsigned i = 0; i < TAP_NEXT_MAX; i++) {
		if (snprintf(name, IFNAMSIZ, "%s%u", prefix, i) >= IFNAMSIZ) {
			log_error("tap: name %s%u is longer than %d characters", prefix, i,
				  IFNAMSIZ - 1);
			return -EINVAL;
		}
		if (if_nametoindex(name))
			continue; /* another VM's (or anything else's) */
		int r = tap_create(name, bridge, flags, n ? n : 1, fds, true);
		if (r != -EEXIST)
			return r;
	}
	log_error("tap: %s0 to %s%u are all taken", prefix, prefix, TAP_NEXT_MAX - 1);
	return -EBUSY;
}

/* Sets the TAP behind FD up if it is down. 0, or -errno (EPERM without
 * CAP_NET_ADMIN). No message: the caller says what to do. */
static int tap_ensure_up(int fd)
{
	struct ifreq ifr;
	int r = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(s);
	return r;
}

int tap_attach(const char *name, unsigned flags, unsigned *n, int *fds)
{
	struct ifreq ifr;
	unsigned want = *n ? *n : 1;

	if (strlen(name) >= IFNAMSIZ) {
		log_error("tap: name %s is longer than %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (!if_nametoindex(name)) {
		log_error("tap: %s does not exist (make it with `ip tuntap add %s mode tap user "
			  "$USER`, or use --bridge)", name, name);
		return -ENODEV;
	}
	fds[0] = tap_bind(&ifr, name, flags | (want > 1 ? TAP_MULTI_QUEUE : 0));
	if (fds[0] == -EINVAL && want > 1) {
		/* A TAP made without multi_queue takes one queue only. */
		log_info("tap: %s was made without multi_queue: one queue pair", name);
		want = 1;
		fds[0] = tap_bind(&ifr, name, flags);
	}
	if (fds[0] < 0) {
		int err = fds[0];
		log_error("tap: %s: %s%s", name, err == -EINVAL ? "not a TAP (or its flags differ: "
			  "a TUN, or no vnet header)" : strerror(-err), tap_hint(err));
		return err;
	}
	int r = tap_more_queues(name, flags | (want > 1 ? TAP_MULTI_QUEUE : 0), want, fds);
	if (r < 0)
		return r;
	*n = want;
	/* A persistent TAP made for a user is down until someone sets it up;
	 * without CAP_NET_ADMIN that is the admin's job. */
	if (tap_ensure_up(fds[0]) < 0)
		log_warn("tap: %s is down and cannot be set up from here: run `ip link set %s up`",
			 name, name);
	return 0;
}

int tap_set_vnet_hdr_size(int fd, int size)
{
	return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

int tap_set_offload(int fd, unsigned mask)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)mask) < 0 ? -errno : 0;
}

int tap_if_mtu(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int r = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(s);
	return r;
}

int tap_set_queue(int fd, bool attach)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	return ioctl(fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}
