/* The run files of background VMs; see dom_run.h. */
#include "vmm/life/dom_run.h"

#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TRIES 20 /* x 50 ms */
#define ID_MAX 1000000000

int dom_run_path(const struct net_state *st, const char *name, const char *suffix, char *buf,
		 size_t size)
{
	return net_state_path(st, buf, size, "domains/run", name, suffix);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int dom_run_lock(const struct net_state *st, const char *name, int *fd)
{
	char p[PATH_MAX];
	int r = dom_run_path(st, name, ".lock", p, sizeof(p));
	if (r)
		return r;
	/* 0644: flock needs only read access, so any user's list sees the VM. */
	int lfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		r = -errno;
		log_error("domain '%s': %s: %s", name, p, strerror(errno));
		return r;
	}
	for (int i = 0; i < LOCK_TRIES; i++) {
		if (flock(lfd, LOCK_EX | LOCK_NB) == 0) {
			*fd = lfd;
			return 0;
		}
		if (errno != EWOULDBLOCK)
			break;
		sleep_ms(50);
	}
	r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	close(lfd);
	return r;
}

static const char *record_word(enum dom_run_state s)
{
	return s == DOM_PAUSED ? "paused" : s == DOM_CRASHED ? "crashed" : "running";
}

int dom_run_format(const struct dom_run_record *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "id=%d pid=%ld state=%s\n", r->id, (long)r->pid,
			 record_word(r->state));
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int dom_run_parse(const char *text, struct dom_run_record *r)
{
	char word[16];
	int id, n = 0;
	long pid;
	if (sscanf(text, "id=%d pid=%ld state=%15[a-z]%n", &id, &pid, word, &n) != 3 || n <= 0 ||
	    (text[n] && strcmp(text + n, "\n")) || id < 0 || id > ID_MAX || pid <= 0 ||
	    pid > INT_MAX)
		return -EINVAL;
	if (!strcmp(word, "running"))
		r->state = DOM_RUNNING;
	else if (!strcmp(word, "paused"))
		r->state = DOM_PAUSED;
	else if (!strcmp(word, "crashed"))
		r->state = DOM_CRASHED;
	else
		return -EINVAL;
	r->id = id;
	r->pid = (pid_t)pid;
	return 0;
}

int dom_run_write(const struct net_state *st, const char *name, const struct dom_run_record *r)
{
	char p[PATH_MAX], text[96];
	int e = dom_run_path(st, name, ".state", p, sizeof(p)) ?: dom_run_format(r, text, sizeof(text));
	return e ?: net_write_atomic(p, text, strlen(text));
}

/* A small file's text, NUL-terminated; -ENOENT, -EFBIG past SIZE - 1. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	if ((size_t)n >= size)
		return -EFBIG;
	buf[n] = '\0';
	return 0;
}

int dom_run_read(const struct net_state *st, const char *name, struct dom_run_record *r)
{
	char p[PATH_MAX], text[96];
	int e = dom_run_path(st, name, ".state", p, sizeof(p)) ?: read_small(p, text, sizeof(text));
	return e ?: dom_run_parse(text, r);
}

void dom_run_clean(const struct net_state *st, const char *name)
{
	static const char *const files[] = {".sock", ".pid", ".state", ".xml"};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!dom_run_path(st, name, files[i], p, sizeof(p)) && unlink(p) < 0 &&
		    errno != ENOENT && errno != EROFS && errno != EACCES)
			log_warn("domain '%s': removing %s: %s", name, p, strerror(errno));
}

int dom_run_status(const struct net_state *st, const char *name, struct dom_status *s)
{
	char p[PATH_MAX];
	struct dom_run_record rec;
	*s = (struct dom_status){.state = DOM_SHUTOFF, .id = -1};
	int r = dom_run_path(st, name, ".lock", p, sizeof(p));
	if (r)
		return r;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* never started here */
	if (fd < 0) {
		r = -errno;
		log_error("domain '%s': %s: %s: cannot tell whether it runs", name, p, strerror(errno));
		return r;
	}
	bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	bool have = dom_run_read(st, name, &rec) == 0;
	if (held) {
		/* A VM process: its record, or (an instant after it took the lock,
		 * before writing it) running without an Id yet. */
		s->state = have && rec.state == DOM_PAUSED ? DOM_PAUSED : DOM_RUNNING;
		s->id = have ? rec.id : -1;
		s->pid = have ? rec.pid : 0;
	} else if (have && rec.state == DOM_CRASHED) {
		s->state = DOM_CRASHED;
	} else if (have) {
		/* Killed (kill -9, OOM): it could not clean up. We hold its
		 * lock (shared), so no new VM process is writing these now. */
		log_debug("domain '%s': VM process %ld is gone; removing its run files", name,
			  (long)rec.pid);
		dom_run_clean(st, name);
	}
	close(fd);
	return 0;
}

int dom_run_next_id(const struct net_state *st)
{
	char p[PATH_MAX], text[32];
	int r = net_state_path(st, p, sizeof(p), "domains/run", "last-id", NULL);
	if (r)
		return r;
	long last = 0;
	if (read_small(p, text, sizeof(text)) == 0) {
		char *end;
		last = strtol(text, &end, 10);
		if (end == text || last < 0 || last >= ID_MAX)
			last = 0; /* damaged: start again; Ids of running VMs are in their records */
	}
	snprintf(text, sizeof(text), "%ld\n", last + 1);
	r = net_write_atomic(p, text, strlen(text));
	return r ?: (int)(last + 1);
}
