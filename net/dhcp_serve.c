/* DHCP server socket loop. */
#include "net/dhcp_serve.h"

#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_INTERVAL 2 /* seconds between lease-file flushes of renewals */

int dhcp_serve_open(const char *ifname)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* No SO_REUSEADDR: a second server on the same bridge must fail to
	 * bind rather than share the port. */
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) < 0 ||
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
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(rep->dst_port),
				  .sin_addr.s_addr = htonl(rep->dst_ip) };

	if (sendto(fd, rep->buf, rep->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_warn("dhcp: sending reply: %s", strerror(errno));
}

int dhcp_serve_loop(struct dhcp_server *s, int fd, volatile sig_atomic_t *stop)
{
	static struct dhcp_reply rep;
	uint8_t pkt[DHCP_MAX_LEN + 1];
	time_t last_flush = time(NULL);

	while (!*stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 1000);
		time_t now = time(NULL);

		if (n < 0 && errno != EINTR) {
			log_error("dhcp: poll: %s", strerror(errno));
			break;
		}
		if (n > 0) {
			/* One byte more than the largest accepted packet, so an
			 * oversized datagram shows as such and is dropped. */
			ssize_t len = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
			if (len > 0 && (size_t)len <= DHCP_MAX_LEN) {
				if (dhcp_server_handle(s, pkt, (size_t)len, now, &rep) == 1)
					send_reply(fd, &rep);
			} else if (len > 0) {
				dhcp_server_handle(s, pkt, 0, now, &rep); /* counted as malformed */
			}
		}
		if (now - last_flush >= FLUSH_INTERVAL) {
			dhcp_server_flush(s);
			last_flush = now;
		}
	}
	return dhcp_server_flush(s);
}

size_t dhcp_host_resolvers(const char *path, uint32_t *dns, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[256], addr[64];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct in_addr a;
		if (sscanf(line, " nameserver %63s", addr) != 1 || inet_pton(AF_INET, addr, &a) != 1)
			continue;
		uint32_t ip = ntohl(a.s_addr);
		if ((ip >> 24) == 127 || ip == 0)
			continue;
		dns[n++] = ip;
	}
	fclose(f);
	return n;
}
