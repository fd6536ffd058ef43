/* DHCP server socket loop. */
#include "net/dhcp_serve.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_INTERVAL 2 /* seconds between lease-file flushes of renewals */

int dhcp_serve_open(const char *ifname)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR lets us coexist with a DHCP server bound to port 67
	 * on all interfaces (libvirt's dnsmasq for virbr0 does so); the
	 * kernel prefers our device-bound socket for the bridge's packets.
	 * A second minivmm server on the same bridge is refused by net_serve. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) <
		0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		log_error("dhcp: listening on %s port 67: %s", ifname, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

static void send_reply(int fd, const struct dhcp_reply *rep)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(rep->dst_port),
				 .sin_addr.s_addr = htonl(rep->dst_ip)};

	if (sendto(fd, rep->buf, rep->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_warn("dhcp: sending reply: %s", strerror(errno));
}

#define BATCH 32 /* packets handled per lease-file commit */

/* Handle what is queued (up to BATCH packets); commit new bindings with one
 * write + fsync; then send the replies. */
static void serve_batch(struct dhcp_server *s, int fd, time_t now)
{
	static struct dhcp_reply reps[BATCH];
	uint8_t pkt[DHCP_MAX_LEN + 1];
	size_t nrep = 0;
	bool commit = false;

	for (int k = 0; k < BATCH; k++) {
		/* One byte more than the largest accepted packet, so an
		 * oversized datagram shows as such and is dropped. */
		ssize_t len = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (len < 0)
			break;
		if ((size_t)len > DHCP_MAX_LEN)
			len = 0; /* counted as malformed */
		if (dhcp_server_handle(s, pkt, (size_t)len, now, &reps[nrep]) == 1) {
			commit |= reps[nrep].needs_commit;
			nrep++;
		}
	}
	/* If the lease file cannot be written, ACKs of new bindings are
	 * withheld (the error is logged); the clients will retry. Until a
	 * write succeeds, memory holds bindings the file lacks, and a retried
	 * REQUEST for one looks like a renewal: so then nothing is sent
	 * until the file is written. (One server per process.) */
	static bool unsaved_binding;
	commit |= unsaved_binding;
	bool saved = !commit || dhcp_server_flush(s) == 0;
	unsaved_binding = !saved;
	for (size_t i = 0; i < nrep && saved; i++)
		send_reply(fd, &reps[i]);
}

int dhcp_serve_loop(struct dhcp_server *s, int fd, struct dns_fwd *dns,
		    struct mdata_server *md, const char *ifname, volatile sig_atomic_t *stop)
{
	time_t last_flush = time(NULL);
	unsigned ifindex = if_nametoindex(ifname);
	struct pollfd p[4] = {{.fd = fd, .events = POLLIN}};
	int dfd[2] = {-1, -1};

	if (dns)
		dns_fwd_fds(dns, dfd);
	/* poll() skips negative fds: absent services cost nothing */
	p[1] = (struct pollfd){.fd = dfd[0], .events = POLLIN};
	p[2] = (struct pollfd){.fd = dfd[1], .events = POLLIN};
	p[3] = (struct pollfd){.fd = md ? mdata_serve_fd(md) : -1, .events = POLLIN};
	while (!*stop) {
		int n = poll(p, 4, 1000);
		time_t now = time(NULL);

		if (n < 0 && errno != EINTR) {
			log_error("dhcp: poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (p[0].revents & POLLIN))
			serve_batch(s, fd, now);
		if (n > 0 && dns && (p[1].revents & POLLIN))
			dns_fwd_on_query(dns, now);
		if (n > 0 && dns && (p[2].revents & POLLIN))
			dns_fwd_on_answer(dns, now);
		if (md)	/* also when idle: its connections have deadlines */
			mdata_serve_poll(md, now);
		if (now - last_flush >= FLUSH_INTERVAL) {
			dhcp_server_flush(s);
			last_flush = now;
			/* The bridge was deleted (or its namespace): nothing is
			 * left to serve, so do not linger. */
			if (if_nametoindex(ifname) != ifindex) {
				log_warn("dhcp: %s is gone; stopping", ifname);
				break;
			}
		}
	}
	return dhcp_server_flush(s);
}
