/* The verbs on running VMs; see dom_cli_run.h. */
#include "vmm/life/dom_cli_run.h"

#include "net/net_cli.h"
#include "vmm/life/dom_ctl.h"
#include "vmm/life/dom_start.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool active(const struct net_state *st, const char *name)
{
	struct dom_status s;
	return dom_store_status(st, name, &s) == 0 &&
	       (s.state == DOM_RUNNING || s.state == DOM_PAUSED);
}

/* Until NAME's VM process is gone or SECONDS passed; true: gone. */
static bool wait_gone(const struct net_state *st, const char *name, unsigned seconds)
{
	struct timespec tick = {0, 100 * 1000 * 1000};
	for (unsigned i = 0; i < seconds * 10; i++) {
		if (!active(st, name))
			return true;
		nanosleep(&tick, NULL);
	}
	return !active(st, name);
}

static int known(const struct net_state *st, const char *name)
{
	if (dom_store_exists(st, name) || active(st, name))
		return 0;
	log_error("failed to get domain '%s'", name);
	return -ENOENT;
}

int dom_verb_start(struct net_state *st, const char *name, bool quiet, struct dom_child *child)
{
	struct domdef d;
	struct dom_start_result res;
	int r = dom_store_load(st, name, &d);
	if (r)
		return r;
	r = dom_start(st, &d, &res);
	domdef_free(&d);
	if (res.in_child) {
		*child = (struct dom_child){true, res.exit_status};
		return 0;
	}
	if (!r && !quiet)
		printf("Domain '%s' started\n", name);
	return r;
}

/* One request; the VM's refusal is logged as virsh would ("Failed to ..."). */
static int ask(const struct net_state *st, const char *name, enum dom_cmd c, const char *verb,
	       struct dom_reply *r)
{
	int e = known(st, name);
	if (e)
		return e;
	if (!active(st, name)) {
		log_error("Failed to %s domain '%s': Requested operation is not valid: domain is "
			  "not running", verb, name);
		return -ENOTCONN;
	}
	if ((e = dom_ctl_request(st, name, c, r)))
		return e;
	if (!r->ok) {
		log_error("Failed to %s domain '%s': %s", verb, name, r->error);
		return -EPERM;
	}
	return 0;
}

int dom_verb_control(struct net_state *st, const char *verb, const char *name, bool quiet)
{
	static const struct {
		const char *verb, *done;
		enum dom_cmd cmd;
	} verbs[] = {{"reboot", "is being rebooted", DOM_CMD_REBOOT},
		     {"destroy", "destroyed", DOM_CMD_DESTROY},
		     {"suspend", "suspended", DOM_CMD_PAUSE},
		     {"resume", "resumed", DOM_CMD_RESUME}};
	struct dom_reply r;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i].verb))
			continue;
		int e = ask(st, name, verbs[i].cmd, verb, &r);
		if (e)
			return e;
		/* virsh destroy returns once the VM is gone. */
		if (verbs[i].cmd == DOM_CMD_DESTROY && !wait_gone(st, name, DOM_DESTROY_WAIT)) {
			log_error("Failed to destroy domain '%s': still running after %d s", name,
				  DOM_DESTROY_WAIT);
			return -ETIMEDOUT;
		}
		if (!quiet)
			printf("Domain '%s' %s\n", name, verbs[i].done);
		return 0;
	}
	return -EINVAL;
}

int dom_verb_shutdown(struct net_state *st, const char *name, unsigned timeout_s, bool quiet)
{
	struct dom_reply r;
	int e = ask(st, name, DOM_CMD_SHUTDOWN, "shutdown", &r);
	if (e)
		return e;
	if (!quiet)
		printf("Domain '%s' is being shutdown\n", name);
	if (!timeout_s || wait_gone(st, name, timeout_s))
		return 0;
	fflush(stdout);
	log_warn("domain '%s' still running %u s after the power button: destroying it", name,
		 timeout_s);
	return dom_verb_control(st, "destroy", name, quiet);
}

int dom_verb_console(struct net_state *st, const char *name)
{
	bool ended;
	int e = known(st, name);
	if (e)
		return e;
	if (!active(st, name)) {
		log_error("Requested operation is not valid: domain '%s' is not running", name);
		return -ENOTCONN;
	}
	e = dom_ctl_console(st, name, STDIN_FILENO, STDOUT_FILENO, &ended);
	if (!e && ended)
		printf("\r\n(domain '%s' stopped)\r\n", name);
	return e;
}

int dom_verb_autostart_all(const char *dir, bool quiet, struct dom_child *child)
{
	static char names[DOM_NAMES_MAX][DOM_NAME_MAX + 1];
	char *net_argv[] = {"net", "--state-dir", (char *)dir, "start", "--autostart", NULL};
	struct net_state st;
	/* Networks first: the domains' bridges are theirs. net_main takes the
	 * state lock itself. */
	int r = dir ? net_main(5, net_argv)
		    : net_main(3, (char *[]){"net", "start", "--autostart", NULL});
	fflush(stdout);
	if (dom_store_open(&st, dir, true) < 0)
		return -EIO;
	int n = dom_store_list(&st, names, DOM_NAMES_MAX);
	for (int i = 0; i < n && !child->in_child; i++) {
		if (!dom_store_autostart(&st, names[i]) || active(&st, names[i]))
			continue;
		if (dom_verb_start(&st, names[i], quiet, child) < 0)
			r = -EIO; /* reported; the others still start */
		fflush(stdout);
	}
	net_state_close(&st);
	return n < 0 ? n : r ? -EIO : 0;
}

void dom_running_details(const struct net_state *st, const char *name, struct dom_status *s,
			 char ifnames[][16], unsigned nnics)
{
	struct dom_reply r;
	for (unsigned i = 0; i < nnics; i++)
		ifnames[i][0] = '\0';
	if (s->state != DOM_RUNNING && s->state != DOM_PAUSED)
		return;
	bool quiet = log_get_quiet();
	log_set_quiet(true); /* a VM stopping meanwhile is no error here */
	if (dom_ctl_request(st, name, DOM_CMD_STATS, &r) == 0 && r.ok && r.has_cpu_time) {
		s->has_cpu_time = true;
		s->cpu_time_ns = r.cpu_time_ns;
	}
	if (dom_ctl_request(st, name, DOM_CMD_STATUS, &r) == 0 && r.ok)
		for (unsigned i = 0; i < nnics && i < r.status.nnics; i++)
			snprintf(ifnames[i], 16, "%s", r.status.nics[i].ifname);
	log_set_quiet(quiet);
}
