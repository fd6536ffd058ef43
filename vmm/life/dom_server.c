/* The control socket's server thread; see dom_server.h. */
#include "vmm/life/dom_server.h"

#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CLIENTS_MAX 8

struct client {
	int fd; /* -1: free */
	size_t len;
	char buf[DOM_PROTO_LINE_MAX + 1];
};

struct dom_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, stop_fd;
	struct vm *vm;
	struct dom_proto_status ident;
	struct dom_server_ops ops;
	pthread_t thread;
	struct client clients[CLIENTS_MAX];
};

/* Replies are small and clients read them: one that does not is dropped
 * rather than allowed to stall the server. */
static bool send_line(int fd, char *line)
{
	size_t len = line ? strlen(line) : 0;
	bool ok = line && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
	free(line);
	return ok;
}

static char *errno_reply(int r, const char *what)
{
	char msg[160];
	if (r == -ESHUTDOWN)
		snprintf(msg, sizeof(msg), "%s: the domain is shutting down", what);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-r));
	return dom_proto_reply_error(msg);
}

static char *reply_status(struct dom_server *s)
{
	struct dom_proto_status st = s->ident;
	struct vm_stats vs;
	snprintf(st.state, sizeof(st.state), "%s", vm_is_paused(s->vm) ? "paused" : "running");
	if (vm_get_stats(s->vm, &vs) == 0)
		for (unsigned i = 0; i < vs.nnics && st.nnics < DOM_NICS_MAX; i++, st.nnics++) {
			memcpy(st.nics[i].ifname, vs.nics[i].ifname, sizeof(st.nics[i].ifname));
			st.nics[i].ifname[sizeof(st.nics[i].ifname) - 1] = '\0';
			memcpy(st.nics[i].mac, vs.nics[i].mac, 6);
		}
	return dom_proto_reply_status(&st);
}

static char *reply_stats(struct dom_server *s)
{
	struct vm_stats *vs = calloc(1, sizeof(*vs));
	int r = vs ? vm_get_stats(s->vm, vs) : -ENOMEM;
	char *line = r ? errno_reply(r, "stats") : dom_proto_reply_stats(vs);
	free(vs);
	return line;
}

static char *reply_pause(struct dom_server *s, bool pause)
{
	int r = pause ? vm_pause(s->vm) : vm_resume(s->vm);
	if (r == -EALREADY)
		return dom_proto_reply_error(pause ? "Requested operation is not valid: domain is "
						     "already paused"
						   : "Requested operation is not valid: domain is "
						     "not paused");
	if (r)
		return errno_reply(r, pause ? "pause" : "resume");
	if (s->ops.paused)
		s->ops.paused(s->ops.opaque, pause);
	return dom_proto_reply_ok();
}

static char *reply_power(struct dom_server *s, bool reboot)
{
	if (reboot && s->ops.reboot)
		s->ops.reboot(s->ops.opaque);
	int r = vm_power_button(s->vm);
	return r ? errno_reply(r, reboot ? "reboot" : "shutdown") : dom_proto_reply_ok();
}

/* "console": ok, then the connection is the VM's. False: C is gone. */
static bool attach_console(struct dom_server *s, struct client *c)
{
	if (vm_console_attached(s->vm))
		return send_line(c->fd, dom_proto_reply_error(
					    "the console is in use by another client (one at a "
					    "time; it detaches with Ctrl+])"));
	if (!send_line(c->fd, dom_proto_reply_ok()))
		return false;
	int r = vm_console_attach(s->vm, c->fd);
	if (r) {
		send_line(c->fd, errno_reply(r, "console"));
		return false;
	}
	c->fd = -1; /* the VM's now */
	return true;
}

/* One request line. False: the client is to be closed. */
static bool handle_line(struct dom_server *s, struct client *c, const char *line, size_t len)
{
	char err[192];
	enum dom_cmd cmd;
	if (dom_proto_parse_request(line, len, &cmd, err, sizeof(err))) {
		log_warn("control socket: bad request: %s", err);
		return send_line(c->fd, dom_proto_reply_error(err));
	}
	log_debug("control socket: %s", dom_cmd_name(cmd));
	switch (cmd) {
	case DOM_CMD_STATUS: return send_line(c->fd, reply_status(s));
	case DOM_CMD_STATS: return send_line(c->fd, reply_stats(s));
	case DOM_CMD_PAUSE: return send_line(c->fd, reply_pause(s, true));
	case DOM_CMD_RESUME: return send_line(c->fd, reply_pause(s, false));
	case DOM_CMD_SHUTDOWN: return send_line(c->fd, reply_power(s, false));
	case DOM_CMD_REBOOT: return send_line(c->fd, reply_power(s, true));
	case DOM_CMD_DESTROY:
		vm_destroy_now(s->vm);
		return send_line(c->fd, dom_proto_reply_ok());
	case DOM_CMD_CONSOLE: attach_console(s, c); return false;
	case DOM_CMD_COUNT: break;
	}
	return false;
}

static void drop(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static void client_input(struct dom_server *s, struct client *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, DOM_PROTO_LINE_MAX - c->len);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			drop(c);
		return;
	}
	c->len += (size_t)n;
	char *nl;
	while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;
		if (!handle_line(s, c, c->buf, used - 1)) {
			drop(c);
			return;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->len == DOM_PROTO_LINE_MAX) {
		char msg[64];
		snprintf(msg, sizeof(msg), "request longer than %d bytes", DOM_PROTO_LINE_MAX);
		log_warn("control socket: %s; client dropped", msg);
		send_line(c->fd, dom_proto_reply_error(msg));
		drop(c);
	}
}

static void accept_client(struct dom_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < CLIENTS_MAX; i++)
		if (s->clients[i].fd < 0) {
			s->clients[i].fd = fd;
			s->clients[i].len = 0;
			return;
		}
	send_line(fd, dom_proto_reply_error("too many control-socket clients"));
	close(fd);
}

static void *serve(void *opaque)
{
	struct dom_server *s = opaque;
	for (;;) {
		struct pollfd p[CLIENTS_MAX + 2] = {{.fd = s->stop_fd, .events = POLLIN},
						    {.fd = s->listen_fd, .events = POLLIN}};
		for (unsigned i = 0; i < CLIENTS_MAX; i++)
			p[i + 2] = (struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
		if (poll(p, CLIENTS_MAX + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("control socket: poll: %s", strerror(errno));
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (p[1].revents & POLLIN)
			accept_client(s);
		for (unsigned i = 0; i < CLIENTS_MAX; i++)
			if (p[i + 2].fd >= 0 && p[i + 2].revents)
				client_input(s, &s->clients[i]);
	}
}

static int listen_on(struct dom_server *s)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(s->path) >= sizeof(a.sun_path)) {
		log_error("control socket: %s: path too long for a UNIX socket", s->path);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, s->path, strlen(s->path) + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Owner only: Linux gives the socket file the socket inode's mode. */
	if (s->listen_fd < 0 || fchmod(s->listen_fd, 0600) < 0 ||
	    (unlink(s->path) < 0 && errno != ENOENT) ||
	    bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(s->path, 0600) < 0 ||
	    listen(s->listen_fd, 8) < 0) {
		int r = -errno;
		log_error("control socket: %s: %s", s->path, strerror(errno));
		return r;
	}
	return 0;
}

int dom_server_start(const char *path, struct vm *vm, const struct dom_proto_status *ident,
		     const struct dom_server_ops *ops, struct dom_server **out)
{
	struct dom_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct dom_server){.listen_fd = -1, .vm = vm, .ident = *ident, .ops = *ops};
	snprintf(s->path, sizeof(s->path), "%s", path);
	for (unsigned i = 0; i < CLIENTS_MAX; i++)
		s->clients[i].fd = -1;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	int r = s->stop_fd < 0 ? -errno : listen_on(s);
	if (!r && (r = -pthread_create(&s->thread, NULL, serve, s)))
		log_error("control socket: thread: %s", strerror(-r));
	if (r) {
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		if (s->stop_fd >= 0)
			close(s->stop_fd);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void dom_server_stop(struct dom_server *s)
{
	if (!s)
		return;
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("control socket: waking the thread: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	for (unsigned i = 0; i < CLIENTS_MAX; i++)
		drop(&s->clients[i]);
	close(s->listen_fd);
	close(s->stop_fd);
	unlink(s->path);
	free(s);
}
