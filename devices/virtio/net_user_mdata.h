/* The metadata service on a user-mode NIC (--net user), and the filter
 * that keeps the guest off the host's link-local network.
 *
 * libslirp would open a host socket for any address the guest names; on a
 * cloud host 169.254.169.254 is the cloud's own metadata service (with the
 * host's credentials). So every guest frame passes user_mdata_from_guest()
 * before slirp_input():
 *  - IPv4 to 169.254.0.0/16 is dropped and counted, whatever the protocol
 *    and port; also IPv6 to ::ffff:169.254.0.0/112 (a v4-mapped address,
 *    which a host AF_INET6 socket would reach over IPv4), 64:ff9b::/96 with
 *    169.254.0.0/16 inside (NAT64) and fd00:ec2::254 (EC2's IPv6 metadata);
 *  - except TCP to 169.254.169.254:80 (unfragmented) when the service is
 *    on: its destination is rewritten to the service's alias, .4 of the
 *    slirp network (checksums updated incrementally), where libslirp's
 *    slirp_add_unix() forward hands each connection to a Unix socket of
 *    its own; frames slirp sends from the alias's port 80 get
 *    169.254.169.254 back (user_mdata_to_guest). Frames the guest sends to
 *    the alias itself are dropped: the alias is reachable only as
 *    169.254.169.254;
 *  - an ARP request for 169.254.169.254 (a guest with a link-local route)
 *    is answered with 52:55:a9:fe:a9:fe, the MAC slirp's own rule gives it.
 * The Unix socket (mode 0600 in a 0700 directory of its own) is listened
 * on by net/mdata_conn.c on the pair's I/O thread: one connection per
 * guest connection, so concurrent ones never mix, with that module's
 * bounds and timeouts; every request is answered from this VM's record
 * (net/mdata_tree.h). */
#ifndef MINIVMM_DEVICES_VIRTIO_NET_USER_MDATA_H
#define MINIVMM_DEVICES_VIRTIO_NET_USER_MDATA_H

#include <slirp/libslirp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct net_user_opts;
struct vnet_user_identity;
struct user_mdata;

enum user_mdata_verdict { MDATA_PASS, MDATA_DROP, MDATA_REPLY };

/* ID NULL: no service, only the filter. 0 or -errno (logged, naming SPEC
 * or the file at fault). */
int user_mdata_create(Slirp *slirp, const char *spec, const struct net_user_opts *o,
		      const struct vnet_user_identity *id, struct user_mdata **out);
void user_mdata_destroy(struct user_mdata *m);

/* A guest frame (Ethernet header first, LEN bytes, rewritten in place).
 * MDATA_REPLY: REPLY (at least 64 bytes) holds *REPLY_LEN bytes for the
 * guest and the frame is not for slirp. */
enum user_mdata_verdict user_mdata_from_guest(struct user_mdata *m, uint8_t *frame, size_t len,
					      uint8_t *reply, size_t *reply_len);
/* A frame slirp sends to the guest, rewritten in place. */
void user_mdata_to_guest(const struct user_mdata *m, uint8_t *frame, size_t len);

/* The server's descriptor (-1 without a service) and its work: call when
 * readable and about once a second while user_mdata_busy(). */
int user_mdata_fd(const struct user_mdata *m);
int user_mdata_busy(const struct user_mdata *m);
void user_mdata_poll(struct user_mdata *m, time_t now);

uint64_t user_mdata_blocked(const struct user_mdata *m);	/* frames dropped */
uint64_t user_mdata_requests(const struct user_mdata *m);

#endif
