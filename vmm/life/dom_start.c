/* The background VM process and the CLI's side of `start`; see dom_start.h. */
#include "vmm/life/dom_start.h"

#include "vmm/life/dom_config.h"
#include "vmm/life/dom_run.h"
#include "vmm/life/dom_server.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_control.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The VM process's state, shared by its hooks and the server's ops. */
struct vm_proc {
	const struct net_state *st;
	const struct domdef *d;
	struct dom_run_record rec;
	struct dom_server *server;
	int ready_fd; /* to the CLI until the first start; -1 after */
	enum vm_stop_reason why;
	bool reboot_asked; /* "reboot": the guest's power-off restarts it */
	bool server_failed;
};

static void record(struct vm_proc *p, enum dom_run_state state)
{
	p->rec.state = state;
	dom_run_write(p->st, p->d->name, &p->rec);
}

static void on_paused(void *opaque, bool paused)
{
	record(opaque, paused ? DOM_PAUSED : DOM_RUNNING);
}

static void on_reboot(void *opaque) { ((struct vm_proc *)opaque)->reboot_asked = true; }

static void started(void *opaque, struct vm *vm)
{
	struct vm_proc *p = opaque;
	char sock[PATH_MAX];
	struct dom_proto_status ident = {.id = p->rec.id, .pid = (long)p->rec.pid};
	struct dom_server_ops ops = {on_paused, on_reboot, p};
	snprintf(ident.name, sizeof(ident.name), "%s", p->d->name);
	snprintf(ident.uuid, sizeof(ident.uuid), "%s", p->d->uuid);
	/* Before the server: a pause at once writes the record too (one writer at a time). */
	record(p, DOM_RUNNING);
	if (dom_run_path(p->st, p->d->name, ".sock", sock, sizeof(sock)) ||
	    dom_server_start(sock, vm, &ident, &ops, &p->server)) {
		/* Unreachable, it cannot be stopped but by kill: not worth running. */
		p->server_failed = true;
		vm_destroy_now(vm);
		return;
	}
	if (p->ready_fd >= 0) {
		if (write(p->ready_fd, "R", 1) != 1)
			log_warn("start: telling the CLI: %s", strerror(errno));
		close(p->ready_fd);
		p->ready_fd = -1;
	}
	log_info("domain '%s' running (Id %d, pid %ld)", p->d->name, p->rec.id, (long)p->rec.pid);
}

static void stopping(void *opaque, struct vm *vm, enum vm_stop_reason why)
{
	(void)vm;
	struct vm_proc *p = opaque;
	p->why = why;
	dom_server_stop(p->server);
	p->server = NULL;
}

static bool restarts(const struct vm_proc *p)
{
	if (p->d->on_reboot != DOM_ACT_RESTART || p->server_failed)
		return false;
	return p->why == VM_STOP_RESET || (p->why == VM_STOP_POWEROFF && p->reboot_asked);
}

static int write_pid_and_def(const struct vm_proc *p)
{
	char path[PATH_MAX], text[32], *xml = NULL;
	int n = snprintf(text, sizeof(text), "%ld\n", (long)p->rec.pid);
	int r = dom_run_path(p->st, p->d->name, ".pid", path, sizeof(path)) ?:
		net_write_atomic(path, text, (size_t)n);
	/* A copy of what runs: dominfo and domiflist still work after undefine. */
	if (!r && !(r = dom_run_path(p->st, p->d->name, ".xml", path, sizeof(path))) &&
	    !(r = domdef_to_xml(p->d, &xml)))
		r = net_write_atomic(path, xml, strlen(xml));
	free(xml);
	return r;
}

/* The VM process, from the lock to the end of the last run. */
static int vm_process(const struct net_state *st, const struct domdef *d, int id, int ready_fd)
{
	struct vm_proc p = {.st = st, .d = d, .rec = {id, getpid(), DOM_RUNNING}, .ready_fd = ready_fd};
	struct vm_run_hooks hooks = {started, stopping, &p};
	struct dom_config dc;
	char log_path[PATH_MAX];
	int lock_fd, status;

	int r = dom_run_lock(st, d->name, &lock_fd);
	if (r == -EBUSY)
		log_error("Requested operation is not valid: domain '%s' is already active "
			  "(started from another shell)", d->name);
	if (r)
		return 1;
	dom_run_clean(st, d->name); /* what a killed VM process left */
	if (dom_config_from_def(d, &dc) || write_pid_and_def(&p) ||
	    dom_run_path(st, d->name, ".log", log_path, sizeof(log_path))) {
		dom_run_clean(st, d->name);
		return 1;
	}
	dc.cfg.console = VM_CONSOLE_DETACHED;
	dc.cfg.console_log = log_path;
	dc.cfg.hooks = &hooks;
	for (;;) {
		p.why = VM_STOP_USER;
		p.reboot_asked = false;
		status = vm_run(&dc.cfg);
		if (p.ready_fd >= 0 || !restarts(&p))
			break;
		log_info("domain '%s': rebooting (on_reboot restart)", d->name);
	}
	dom_run_clean(st, d->name);
	if (p.why == VM_STOP_ERROR && p.ready_fd < 0)
		record(&p, DOM_CRASHED); /* shown as crashed until the next start */
	log_info("domain '%s': VM process ends (status %d)", d->name, status);
	close(lock_fd);
	return status;
}

/* The child: its own session, stdio to the log, the state lock left to the CLI. */
static int become_vm_process(struct net_state *st, const struct domdef *d, int id, int log_fd,
			     int ready_fd)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
	    dup2(log_fd, 2) < 0)
		return 1;
	close(null_fd);
	close(log_fd);
	/* --bridge NETWORK is resolved in this state directory too. */
	setenv("MINIVMM_STATE_DIR", st->dir, 1);
	return vm_process(st, d, id, ready_fd);
}

/* The VM process's lines since OFFSET (its errors) to the CLI's stderr. */
static void copy_log(const char *path, off_t offset)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0 || lseek(fd, offset, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stderr) != (size_t)n)
			break;
	close(fd);
}

/* After a failed start: which running domain holds one of D's disks (the
 * disk layer's lock says only "another process"). */
static void name_disk_holders(const struct net_state *st, const struct domdef *d)
{
	static char names[DOM_NAMES_MAX][DOM_NAME_MAX + 1];
	int n = dom_store_list_all(st, names, DOM_NAMES_MAX);
	for (int i = 0; i < n; i++) {
		struct dom_status s;
		struct domdef other;
		if (!strcmp(names[i], d->name) || dom_store_status(st, names[i], &s) ||
		    (s.state != DOM_RUNNING && s.state != DOM_PAUSED) ||
		    dom_store_load_active(st, names[i], &other))
			continue;
		for (unsigned a = 0; a < d->ndisks; a++)
			for (unsigned b = 0; b < other.ndisks; b++)
				if (!strcmp(d->disks[a].source, other.disks[b].source))
					log_error("disk %s is in use by running domain '%s' (pid %ld)",
						  d->disks[a].source, names[i], (long)s.pid);
		domdef_free(&other);
	}
}

/* SIGTERM, then SIGKILL if CHILD is still there after 5 s; reaped. */
static void stop_child(pid_t child)
{
	kill(child, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(child, NULL, WNOHANG) == child)
			return;
		usleep(100 * 1000);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* 'R' from the VM process, or why not. */
static int wait_ready(int fd, pid_t child, const char *name, const char *log_path, off_t offset)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c = 0;
	int n = poll(&p, 1, DOM_START_TIMEOUT * 1000);
	if (n == 1 && read(fd, &c, 1) == 1 && c == 'R')
		return 0;
	if (n == 0) {
		/* Not left behind half-started: it would hold the lock and disks. */
		stop_child(child);
		copy_log(log_path, offset);
		log_error("Failed to start domain '%s': not running after %d s, VM process %ld "
			  "killed; see %s",
			  name, DOM_START_TIMEOUT, (long)child, log_path);
		return -ETIMEDOUT;
	}
	int status = 0;
	waitpid(child, &status, 0);
	copy_log(log_path, offset);
	log_error("Failed to start domain '%s' (the VM process exited with status %d; log: %s)",
		  name, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), log_path);
	return -EIO;
}

int dom_start(struct net_state *st, const struct domdef *d, struct dom_start_result *res)
{
	struct dom_status s;
	struct dom_config dc;
	char log_path[PATH_MAX];
	int pipefd[2];
	*res = (struct dom_start_result){.id = -1};

	int r = dom_store_status(st, d->name, &s);
	if (!r && (s.state == DOM_RUNNING || s.state == DOM_PAUSED)) {
		log_error("Requested operation is not valid: domain '%s' is already active", d->name);
		return -EEXIST;
	}
	/* Errors in the definition are the CLI's to print, before forking. */
	if (r || (r = dom_config_from_def(d, &dc)) ||
	    (r = dom_run_path(st, d->name, ".log", log_path, sizeof(log_path))))
		return r;
	int id = dom_run_next_id(st);
	if (id < 0)
		return id;
	int log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	off_t offset = log_fd < 0 ? 0 : lseek(log_fd, 0, SEEK_END);
	if (log_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		log_error("start: %s: %s", log_path, strerror(errno));
		if (log_fd >= 0)
			close(log_fd);
		return r;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child == 0) {
		close(pipefd[0]);
		*res = (struct dom_start_result){true, become_vm_process(st, d, id, log_fd, pipefd[1]), id};
		return 0;
	}
	r = child < 0 ? -errno : 0;
	close(pipefd[1]);
	close(log_fd);
	if (child < 0)
		log_error("start: fork: %s", strerror(-r));
	else if (!(r = wait_ready(pipefd[0], child, d->name, log_path, offset)))
		res->id = id;
	else
		name_disk_holders(st, d);
	close(pipefd[0]);
	return r;
}
