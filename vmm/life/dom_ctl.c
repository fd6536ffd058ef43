/* Control-socket client; see dom_ctl.h. */
#include "vmm/life/dom_ctl.h"

#include "vmm/life/dom_run.h"
#include "vmm/log.h"

#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int connect_to(const struct net_state *st, const char *name, int *fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int r = dom_run_path(st, name, ".sock", a.sun_path, sizeof(a.sun_path));
	if (r) {
		log_error("domain '%s': control socket path too long", name);
		return r;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : -errno;
		if (r == -ENOTCONN)
			log_error("Requested operation is not valid: domain '%s' is not running",
				  name);
		else
			log_error("domain '%s': %s: %s", name, a.sun_path, strerror(-r));
		if (s >= 0)
			close(s);
		return r;
	}
	*fd = s;
	return 0;
}

/* One line, byte by byte: for console, what follows is the raw stream. */
static int read_line(int fd, char *buf, size_t size, size_t *len)
{
	size_t n = 0;
	while (n + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int k = poll(&p, 1, DOM_CTL_TIMEOUT * 1000);
		if (k == 0)
			return -ETIMEDOUT;
		if (k < 0 && errno == EINTR)
			continue;
		ssize_t got = k < 0 ? -1 : read(fd, buf + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got == 0 ? -ECONNRESET : -errno;
		if (buf[n] == '\n') {
			*len = n;
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EMSGSIZE;
}

static int exchange(const struct net_state *st, const char *name, enum dom_cmd c,
		    struct dom_reply *r, int *fd_out)
{
	char *line = malloc(DOM_PROTO_REPLY_MAX), err[160];
	const char *req = dom_proto_request(c);
	size_t len = 0;
	/* A VM that stops while we talk closes the socket: a write then fails
	 * with EPIPE (reported) instead of killing the CLI, in console with
	 * the terminal still raw. */
	signal(SIGPIPE, SIG_IGN);
	int fd = -1, e = line ? connect_to(st, name, &fd) : -ENOMEM;
	if (!e && write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		e = -errno;
	if (!e)
		e = read_line(fd, line, DOM_PROTO_REPLY_MAX, &len);
	if (!e && (e = dom_proto_parse_reply(line, len, r, err, sizeof(err))))
		log_error("domain '%s': bad reply from the VM process: %s", name, err);
	else if (e && fd >= 0)
		log_error("domain '%s': %s: no reply from the VM process: %s", name,
			  dom_cmd_name(c), strerror(-e));
	free(line);
	if (fd >= 0 && (e || !fd_out || !r->ok))
		close(fd);
	else if (fd_out)
		*fd_out = fd;
	return e;
}

int dom_ctl_request(const struct net_state *st, const char *name, enum dom_cmd c,
		    struct dom_reply *r)
{
	return exchange(st, name, c, r, NULL);
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* IN -> guest until Ctrl+]; false: detach. */
static bool relay_input(int in_fd, int sock)
{
	char buf[512];
	ssize_t n = read(in_fd, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && errno == EINTR;
	char *esc = memchr(buf, DOM_CTL_ESCAPE, (size_t)n);
	size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
	return write_all(sock, buf, len) && !esc;
}

/* Guest -> OUT; false: the VM closed the stream. */
static bool relay_output(int sock, int out_fd)
{
	char buf[4096];
	ssize_t n = read(sock, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return true;
	return n > 0 && write_all(out_fd, buf, (size_t)n);
}

static void relay(int in_fd, int out_fd, int sock, bool *ended)
{
	bool input = true;
	for (;;) {
		struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
				      {.fd = input ? in_fd : -1, .events = POLLIN}};
		/* After IN's end: what the VM still sends within 200 ms. */
		int k = poll(p, 2, input ? -1 : 200);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		if (p[0].revents && !relay_output(sock, out_fd)) {
			*ended = true;
			return;
		}
		if (p[1].revents && !relay_input(in_fd, sock)) {
			if (isatty(in_fd))
				return; /* Ctrl+] */
			input = false;
		}
	}
}

int dom_ctl_console(const struct net_state *st, const char *name, int in_fd, int out_fd,
		    bool *ended)
{
	struct dom_reply r;
	struct termios saved, raw;
	int sock = -1;
	*ended = false;
	int e = exchange(st, name, DOM_CMD_CONSOLE, &r, &sock);
	if (e)
		return e;
	if (!r.ok) {
		log_error("domain '%s': console: %s", name, r.error);
		return -EBUSY;
	}
	printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", name);
	fflush(stdout);
	bool tty = isatty(in_fd) && tcgetattr(in_fd, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(in_fd, TCSANOW, &raw);
	}
	relay(in_fd, out_fd, sock, ended);
	if (tty)
		tcsetattr(in_fd, TCSANOW, &saved);
	close(sock);
	return 0;
}
