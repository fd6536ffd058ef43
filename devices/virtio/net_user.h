/* virtio-net's user-mode backend: the guest's frames go to libslirp, which
 * terminates TCP/UDP in this process and talks to the world with ordinary
 * sockets of the user running minivmm: no TAP, no privilege. Guest traffic
 * reaches only what that user could reach.
 *
 * One queue pair (libslirp is single-threaded); its I/O thread runs
 * libslirp: each round slirp_pollfds_fill() adds slirp's sockets to a
 * poll() set holding the pair's epoll fd (stop eventfd, RX/TX/control
 * kicks), slirp_pollfds_poll() handles them, expired slirp timers run, then
 * the queues (vnet_pair_round: TX frames into slirp_input, frames slirp sent
 * into the RX queue). The poll timeout is the nearest of slirp's own (its
 * TCP timers, at most 1 s) and its timers' deadlines (net_user_timer.h).
 * IPv4 and IPv6 addresses as QEMU's (net_user_opts.h; IPv6 fec0::/64). No other thread, a
 * vCPU least of all, touches libslirp once the device exists.
 *
 * Frames slirp sends while the guest has no RX buffer posted wait in a
 * bounded backlog (VNET_USER_BACKLOG frames); beyond it they are dropped and
 * counted (rx_backlog_drops): TCP recovers them at a lower pace. */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_USER_H
#define MINIVMM_DEVICES_VIRTIO_NET_USER_H

#include <stdint.h>

struct net_user_opts;
struct vnet_user;

/* Who the VM is, for its metadata service on 169.254.169.254
 * (net_user_mdata.h, net/mdata_tree.h). */
struct vnet_user_identity {
	const char *instance_id;	/* the VM's UUID as text */
	const char *hostname;		/* NULL: "minivmm-" and the UUID's first 8 hex digits */
	const char *ssh_key_file;	/* authorized_keys text; NULL: none */
	const char *user_data_file;	/* NULL: none */
};

#define VNET_USER_BACKLOG 256

/* A user-mode network as O says (net_user_opts_parse), its host forwards
 * listening: a host port already in use is an error here, before any guest
 * runs. ID: the metadata service's data (the files read now: a missing
 * one is an error here); NULL: no service (169.254.0.0/16 stays blocked).
 * NAME ("eth0") and SPEC (the --net value) are for messages. 0 and
 * *OUT (to vnet_opts.user), or -errno logged as one line. */
int vnet_user_create(const char *name, const char *spec, const struct net_user_opts *o,
		     const struct vnet_user_identity *id, struct vnet_user **out);
/* Frames the link-local filter dropped; metadata requests answered.
 * Read with the device's thread stopped (or from it). */
uint64_t vnet_user_mdata_blocked(const struct vnet_user *u);
uint64_t vnet_user_mdata_requests(const struct vnet_user *u);
/* Only for one never handed to vnet_create() (the device frees its own). */
void vnet_user_destroy(struct vnet_user *u);

#endif
