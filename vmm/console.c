#include "vmm/console.h"
#include "vmm/console_detached.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

struct console {
	int in_fd;		/* -1: no input */
	int out_fd;		/* -1: none (a detached console without a log) */
	bool own_out_fd;
	struct console_detached *dcon;	/* VM_CONSOLE_DETACHED: the ring and its client */
	bool terminal;		/* interactive: raw mode and escape key */
	bool raw;
	/* Guest output waits here until a newline, a full buffer or
	 * console_flush(): one write(2) per line instead of one per byte,
	 * which is what each UART byte cost before (a syscall and a reader
	 * wake-up: ~4x the VM exit itself when nested). */
	pthread_mutex_t out_lock;
	uint8_t out_buf[CONSOLE_OUT_BUF];
	size_t out_len;
	int out_efd;		/* readable: out_buf went from empty to not */
};

/* The terminal state to put back; global because a fatal-signal handler
 * must reach it. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
static int saved_tty_fd = -1;

static void console_restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(saved_tty_fd, TCSAFLUSH, &saved_termios);
		termios_saved = 0;
	}
}

/* Crashes must not leave the user's terminal raw: restore, then die the
 * way the signal would have made us die. */
static void console_fatal_signal(int sig)
{
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void console_free(struct console *con)
{
	dcon_destroy(con->dcon);
	if (con->own_out_fd)
		close(con->out_fd);
	close(con->out_efd);
	pthread_mutex_destroy(&con->out_lock);
	free(con);
}

/* Output appended to PATH, no input. Frees CON on failure. */
static int console_open_log(struct console *con, const char *what, const char *path)
{
	con->in_fd = -1;
	con->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (con->out_fd < 0) {
		int err = errno;
		log_error("%s %s: cannot open for writing: %s", what, path, strerror(err));
		console_free(con);
		return -err;
	}
	con->own_out_fd = true;
	return 0;
}

static int console_new(struct console **out)
{
	struct console *con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->out_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->out_efd < 0) {
		int err = errno;
		log_error("console: cannot create an eventfd: %s", strerror(err));
		free(con);
		return -err;
	}
	pthread_mutex_init(&con->out_lock, NULL);
	con->in_fd = STDIN_FILENO;
	con->out_fd = STDOUT_FILENO;
	/* A reader that goes away (`minivmm | head`, a console client) must
	 * not kill us with the terminal still raw: the write fails with EPIPE
	 * instead. */
	signal(SIGPIPE, SIG_IGN);
	*out = con;
	return 0;
}

int console_open_detached(struct console **out, const char *log_path)
{
	struct console *con;
	int r = console_new(&con);
	if (r < 0)
		return r;
	con->in_fd = con->out_fd = -1;
	if (log_path && (r = console_open_log(con, "console log", log_path)) < 0)
		return r;
	if ((r = dcon_create(&con->dcon)) < 0) {
		console_free(con);
		return r;
	}
	*out = con;
	return 0;
}

int console_open(struct console **out, const char *spec)
{
	struct console *con;
	int r = console_new(&con);
	if (r < 0)
		return r;
	if (spec && strcmp(spec, "-") != 0) {
		if ((r = console_open_log(con, "--console", spec)) < 0)
			return r;
	} else if (!spec) {
		con->terminal = isatty(STDIN_FILENO);
	}
	*out = con;
	return 0;
}

int console_attach(struct console *con)
{
	if (!con->terminal)
		return 0;
	struct termios raw;
	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0) {
		int err = errno;
		log_error("console: cannot read the terminal's settings: %s", strerror(err));
		return -err;
	}
	saved_tty_fd = STDIN_FILENO;
	termios_saved = 1;
	atexit(console_restore_terminal);
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], console_fatal_signal);

	raw = saved_termios;
	cfmakeraw(&raw);
	/* Keep output post-processing off too: the guest sends "\r\n" itself. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
		int err = errno;
		log_error("console: cannot put the terminal in raw mode: %s", strerror(err));
		return -err;
	}
	con->raw = true;
	return 0;
}

static void console_out(struct console *con, const uint8_t *buf, size_t len)
{
	if (con->dcon)
		dcon_output(con->dcon, buf, len);
	while (con->out_fd >= 0 && len > 0) {
		ssize_t n = write(con->out_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* output gone (closed pipe): the guest keeps running */
		buf += n;
		len -= (size_t)n;
	}
}

static void console_flush_locked(struct console *con)
{
	console_out(con, con->out_buf, con->out_len);
	con->out_len = 0;
}

void console_write(struct console *con, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&con->out_lock);
	bool was_empty = con->out_len == 0;
	bool newline = memchr(buf, '\n', len) != NULL;
	if (len > CONSOLE_OUT_BUF - con->out_len) {
		console_flush_locked(con);
		console_out(con, buf, len);
	} else {
		memcpy(con->out_buf + con->out_len, buf, len);
		con->out_len += len;
		if (newline || con->out_len == CONSOLE_OUT_BUF)
			console_flush_locked(con);
	}
	if (was_empty && con->out_len > 0) {
		uint64_t one = 1;
		if (write(con->out_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			console_flush_locked(con);	/* no wake-up possible: do not hold it */
	}
	pthread_mutex_unlock(&con->out_lock);
}

void console_flush(struct console *con)
{
	uint64_t cnt;
	if (read(con->out_efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_debug("console: output event: %s", strerror(errno));
	pthread_mutex_lock(&con->out_lock);
	console_flush_locked(con);
	pthread_mutex_unlock(&con->out_lock);
}

int console_output_event_fd(const struct console *con) { return con->out_efd; }

int console_input_fd(const struct console *con)
{
	return con->dcon ? dcon_input_fd(con->dcon) : con->in_fd;
}

struct console_detached *console_detached(struct console *con)
{
	return con ? con->dcon : NULL;
}
bool console_is_terminal(const struct console *con) { return con->terminal; }

ssize_t console_read(struct console *con, uint8_t *buf, size_t cap, bool *escape)
{
	*escape = false;
	if (con->dcon)
		return dcon_read(con->dcon, buf, cap);	/* no escape key: the client has its own */
	if (con->in_fd < 0)
		return 0;
	ssize_t n = read(con->in_fd, buf, cap);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -EAGAIN;
	if (n < 0) {
		/* A hung-up terminal keeps failing (EIO): polling it again
		 * would spin, so input ends here as at EOF. */
		int err = errno;
		log_debug("console: input error, input off: %s", strerror(err));
		con->in_fd = -1;
		return -err;
	}
	if (n == 0) {
		con->in_fd = -1;	/* end of input: the guest runs on without it */
		return 0;
	}
	if (con->terminal) {
		uint8_t *esc = memchr(buf, CONSOLE_ESCAPE_CHAR, (size_t)n);
		if (esc) {
			*escape = true;
			n = esc - buf;
		}
	}
	return n;
}

void console_close(struct console *con)
{
	if (!con)
		return;
	console_flush(con);
	if (con->raw)
		console_restore_terminal();
	console_free(con);
}
