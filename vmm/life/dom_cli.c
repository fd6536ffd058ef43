/* `minivmm define/list/dominfo/...`: virsh's domain verbs on the state
 * directory, with virsh's messages and a blank line after each command. */
#include "vmm/life/dom_cli.h"

#include "vmm/life/dom_cli_run.h"
#include "vmm/life/dom_define.h"
#include "vmm/life/dom_print.h"
#include "vmm/life/dom_store.h"
#include "vmm/cli.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 64

static const char USAGE[] =
    "usage: minivmm VERB [--state-dir DIR] [-q] ...   (VMs, as virsh)\n"
    "  define FILE.xml          define a VM from libvirt domain XML\n"
    "  define --name NAME [--disk FILE[,readonly][,format=raw|qcow2]]...\n"
    "         [--bridge BR[,mac=MAC]]... [--network NET[,mac=MAC]]...\n"
    "         [--memory SIZE] [--cpus N] [--kernel FILE [--initrd FILE] [--cmdline TEXT]]\n"
    "         [--hostname NAME] [--ssh-key FILE] [--user-data FILE]  (as `minivmm --help`)\n"
    "                           define a VM from flags (defaults: 512M, 1 vCPU)\n"
    "  undefine NAME            forget a VM (its disk images stay)\n"
    "  list [--all|--inactive] [--name]\n"
    "  dominfo NAME | domblklist NAME [--details] | domiflist NAME | dumpxml NAME\n"
    "  edit NAME                edit the XML in $VISUAL/$EDITOR (vi), validated before saving\n"
    "  autostart [--disable] NAME\n"
    "  start NAME               run the VM in the background (log: domains/run/NAME.log)\n"
    "  console NAME             attach to its serial console (Ctrl+] detaches)\n"
    "  shutdown NAME [--timeout SECONDS]   press the power button (then destroy)\n"
    "  reboot NAME | destroy NAME | suspend NAME | resume NAME\n"
    "  autostart-all            start autostart networks, then autostart VMs (at boot)\n"
    "-q: no table header, messages or trailing blank line. state directory: --state-dir,\n"
    "else $MINIVMM_STATE_DIR, else " NET_STATE_DEFAULT " (shared with `minivmm net`)\n";

struct args {
	char *pos[ARGS_MAX]; /* positional arguments */
	int npos;
	char *opt[ARGS_MAX]; /* --options, with their values */
	int nopt;
	bool quiet;
	struct dom_child child; /* a verb returned in the forked VM process */
};

struct verb {
	const char *name;
	int (*fn)(struct net_state *st, struct args *a);
	int nargs; /* positional arguments required */
	int maxargs;
	bool write; /* takes the state lock */
};

static bool has_opt(const struct args *a, const char *name)
{
	for (int i = 0; i < a->nopt; i++)
		if (!strcmp(a->opt[i], name))
			return true;
	return false;
}

static int unknown_opts(const struct args *a, const char *verb, const char *const *known)
{
	for (int i = 0; i < a->nopt; i++) {
		const char *const *k = known;
		while (*k && strcmp(*k, a->opt[i]))
			k++;
		if (!*k) {
			log_error("%s: unknown option '%s' (see `minivmm --help`)", verb,
				  a->opt[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* virsh's vshPrintExtra: what -q silences. */
__attribute__((format(printf, 2, 3))) static void say(const struct args *a, const char *fmt, ...)
{
	va_list ap;
	if (a->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static int cmd_define(struct net_state *st, struct args *a)
{
	struct domdef d;
	if (a->npos > 0) {
		char *buf;
		size_t len;
		static const char *const none[] = {"--validate", NULL};
		int r = unknown_opts(a, "define", none)
			    ?: xml_read_file("define", a->pos[0], &buf, &len);
		if (r)
			return r;
		r = domdef_from_xml(buf, len, a->pos[0], &d);
		free(buf);
		if (r)
			return r;
		if (!(r = dom_define(st, &d)))
			say(a, "Domain '%s' defined from %s\n", d.name, a->pos[0]);
		domdef_free(&d);
		return r;
	}
	struct dom_flags fl = {0};
	for (int i = 0; i < a->nopt; i++) {
		const char *o = a->opt[i], *v = i + 1 < a->nopt ? a->opt[i + 1] : NULL;
		const char **dst =
		    !strcmp(o, "--name")				? &fl.name
		    : !strcmp(o, "--memory")				? &fl.memory
		    : !strcmp(o, "--cpus")				? &fl.cpus
		    : !strcmp(o, "--kernel")				? &fl.kernel
		    : !strcmp(o, "--initrd")				? &fl.initrd
		    : !strcmp(o, "--cmdline")				? &fl.cmdline
		    : !strcmp(o, "--hostname")				? &fl.hostname
		    : !strcmp(o, "--ssh-key")				? &fl.ssh_key
		    : !strcmp(o, "--user-data")				? &fl.user_data
		    : !strcmp(o, "--disk") && fl.ndisks < DOM_DISKS_MAX ? &fl.disks[fl.ndisks++]
		    : (!strcmp(o, "--bridge") || !strcmp(o, "--network")) && fl.nnics < DOM_NICS_MAX
			? &fl.nics[fl.nnics]
			: NULL;
		if (!dst || !v || !strncmp(v, "--", 2)) {
			log_error("define: unknown, repeated too often or incomplete option '%s'",
				  o);
			return -EINVAL;
		}
		if (dst == &fl.nics[fl.nnics])
			fl.nic_is_network[fl.nnics++] = !strcmp(o, "--network");
		*dst = v;
		i++;
	}
	if (!fl.name) {
		log_error("define: FILE.xml or --name NAME is required (see `minivmm --help`)");
		return -EINVAL;
	}
	int r = domdef_from_flags(&fl, &d);
	if (r)
		return r;
	if (!(r = dom_define(st, &d)))
		say(a, "Domain '%s' defined\n", d.name);
	domdef_free(&d);
	return r;
}

/* Undefine and autostart need the name only: a definition that no longer
 * parses can still be removed. */
static int must_exist(const struct net_state *st, const char *name)
{
	if (dom_store_exists(st, name))
		return 0;
	if (domdef_name_ok(name))
		log_error("failed to get domain '%s'", name);
	else
		log_error("domain: '%s' is not a valid domain name", name);
	return -ENOENT;
}

static int cmd_undefine(struct net_state *st, struct args *a)
{
	int r = must_exist(st, a->pos[0]);
	if (r)
		return r;
	/* A running VM keeps running, as with virsh: it has its own copy
	 * (domains/run/NAME.xml) and shows in list until it stops. */
	r = dom_store_remove(st, a->pos[0]);
	if (!r)
		say(a, "Domain '%s' has been undefined\n", a->pos[0]);
	return r;
}

static int cmd_autostart(struct net_state *st, struct args *a)
{
	static const char *const known[] = {"--disable", NULL};
	bool off = has_opt(a, "--disable");
	int r = unknown_opts(a, "autostart", known) ?: must_exist(st, a->pos[0]);
	if (r)
		return r;
	r = dom_store_set_autostart(st, a->pos[0], !off);
	if (!r)
		say(a, "Domain '%s' %s as autostarted\n", a->pos[0], off ? "unmarked" : "marked");
	return r;
}

static int by_id_then_name(const void *x, const void *y)
{
	const struct dom_list_row *a = x, *b = y;
	if ((a->status.id >= 0) != (b->status.id >= 0))
		return a->status.id >= 0 ? -1 : 1;
	return a->status.id >= 0 ? a->status.id - b->status.id : 0;
}

static int cmd_list(struct net_state *st, struct args *a)
{
	static const char *const known[] = {"--all", "--inactive", "--name", NULL};
	static char names[DOM_NAMES_MAX][DOM_NAME_MAX + 1];
	static struct dom_list_row rows[DOM_NAMES_MAX];
	bool all = has_opt(a, "--all"), inactive = has_opt(a, "--inactive");
	int n = unknown_opts(a, "list", known) ?: dom_store_list_all(st, names, DOM_NAMES_MAX);
	size_t nrows = 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct dom_status s;
		if (dom_store_status(st, names[i], &s))
			continue;
		/* by state: a VM process still setting up has no Id yet */
		bool active = s.state == DOM_RUNNING || s.state == DOM_PAUSED;
		if (all || (inactive && !active) || (!inactive && active))
			rows[nrows++] = (struct dom_list_row){names[i], s};
	}
	/* Stable: inactive rows keep the name order of dom_store_list. */
	for (size_t i = 1; i < nrows; i++)
		for (size_t j = i; j > 0 && by_id_then_name(&rows[j - 1], &rows[j]) > 0; j--) {
			struct dom_list_row t = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	if (has_opt(a, "--name")) {
		for (size_t i = 0; i < nrows; i++)
			printf("%s\n", rows[i].name);
		return 0;
	}
	return dom_print_list(stdout, rows, nrows, a->quiet);
}

static int cmd_show(struct net_state *st, struct args *a, const char *verb)
{
	static const char *const known[] = {"--details", "--inactive", "--security-info", NULL};
	struct domdef d;
	struct dom_status s;
	char ifnames[DOM_NICS_MAX][16] = {{0}};
	const char *ifptrs[DOM_NICS_MAX];
	int r = unknown_opts(a, verb, known) ?: dom_store_load_active(st, a->pos[0], &d);
	if (r)
		return r;
	r = dom_store_status(st, d.name, &s);
	if (!r && strcmp(verb, "domblklist") && strcmp(verb, "dumpxml"))
		dom_running_details(st, d.name, &s, ifnames, d.nnics);
	for (unsigned i = 0; i < d.nnics; i++)
		ifptrs[i] = ifnames[i][0] ? ifnames[i] : NULL;
	if (r)
		;
	else if (!strcmp(verb, "dominfo"))
		dom_print_dominfo(stdout, &d, &s, dom_store_autostart(st, d.name));
	else if (!strcmp(verb, "domblklist"))
		r = dom_print_blklist(stdout, &d, has_opt(a, "--details"), a->quiet);
	else if (!strcmp(verb, "domiflist"))
		r = dom_print_iflist(stdout, &d, ifptrs, a->quiet);
	else {
		char *xml;
		if (!(r = domdef_to_xml(&d, &xml)))
			fputs(xml, stdout);
		free(xml);
	}
	domdef_free(&d);
	return r;
}

static int cmd_dominfo(struct net_state *st, struct args *a) { return cmd_show(st, a, "dominfo"); }
static int cmd_domblklist(struct net_state *st, struct args *a)
{
	return cmd_show(st, a, "domblklist");
}
static int cmd_domiflist(struct net_state *st, struct args *a)
{
	return cmd_show(st, a, "domiflist");
}
static int cmd_dumpxml(struct net_state *st, struct args *a) { return cmd_show(st, a, "dumpxml"); }
static int cmd_edit(struct net_state *st, struct args *a)
{
	return dom_edit(st, a->pos[0], a->quiet);
}

static int cmd_start(struct net_state *st, struct args *a)
{
	return unknown_opts(a, "start", (const char *const[]){NULL})
		   ?: dom_verb_start(st, a->pos[0], a->quiet, &a->child);
}

static int cmd_console(struct net_state *st, struct args *a)
{
	static const char *const known[] = {"--force", NULL};
	return unknown_opts(a, "console", known) ?: dom_verb_console(st, a->pos[0]);
}

static int cmd_shutdown(struct net_state *st, struct args *a)
{
	unsigned timeout = 0;
	int r = 0;
	for (int i = 0; !r && i < a->nopt; i++) {
		if (strcmp(a->opt[i], "--timeout")) {
			log_error("shutdown: unknown option '%s' (see `minivmm --help`)", a->opt[i]);
			r = -EINVAL;
		} else if (i + 1 >= a->nopt) {
			log_error("shutdown: --timeout needs SECONDS");
			r = -EINVAL;
		} else {
			r = cli_parse_uint("--timeout", a->opt[++i], 1, 86400, &timeout);
		}
	}
	return r ?: dom_verb_shutdown(st, a->pos[0], timeout, a->quiet);
}

static int cmd_control(struct net_state *st, struct args *a, const char *verb)
{
	return unknown_opts(a, verb, (const char *const[]){NULL})
		   ?: dom_verb_control(st, verb, a->pos[0], a->quiet);
}
static int cmd_reboot(struct net_state *st, struct args *a) { return cmd_control(st, a, "reboot"); }
static int cmd_destroy(struct net_state *st, struct args *a)
{
	return cmd_control(st, a, "destroy");
}
static int cmd_suspend(struct net_state *st, struct args *a)
{
	return cmd_control(st, a, "suspend");
}
static int cmd_resume(struct net_state *st, struct args *a) { return cmd_control(st, a, "resume"); }

static const struct verb VERBS[] = {
    {"start", cmd_start, 1, 1, true}, /* the lock: two shells start it once */
    {"console", cmd_console, 1, 1, false},     {"shutdown", cmd_shutdown, 1, 1, false},
    {"reboot", cmd_reboot, 1, 1, false},       {"destroy", cmd_destroy, 1, 1, false},
    {"suspend", cmd_suspend, 1, 1, false},     {"resume", cmd_resume, 1, 1, false},
    {"autostart-all", NULL, 0, 0, false}, /* dom_main: it locks in two steps */
    {"define", cmd_define, 0, 1, true},	       {"undefine", cmd_undefine, 1, 1, true},
    {"autostart", cmd_autostart, 1, 1, true},  {"list", cmd_list, 0, 0, false},
    {"dominfo", cmd_dominfo, 1, 1, false},     {"domblklist", cmd_domblklist, 1, 1, false},
    {"domiflist", cmd_domiflist, 1, 1, false}, {"dumpxml", cmd_dumpxml, 1, 1, false},
    {"edit", cmd_edit, 1, 1, false}, /* locks only to save */
};

static const struct verb *find(const char *word)
{
	for (size_t i = 0; i < sizeof(VERBS) / sizeof(VERBS[0]); i++)
		if (!strcmp(VERBS[i].name, word))
			return &VERBS[i];
	return NULL;
}

bool dom_cli_is_verb(const char *word) { return word && find(word); }

/* Options taking a value keep it next to them in opt[]. */
static bool takes_value(const char *verb, const char *opt)
{
	static const char *const with[] = {"--name",	"--disk", "--bridge", "--network",
					   "--memory",	"--cpus", "--kernel", "--initrd",
					   "--cmdline", "--hostname", "--ssh-key", "--user-data",
					   NULL};
	if (!strcmp(verb, "shutdown"))
		return !strcmp(opt, "--timeout");
	if (strcmp(verb, "define"))
		return false;
	for (const char *const *w = with; *w; w++)
		if (!strcmp(*w, opt))
			return true;
	return false;
}

static int split_args(int argc, char **argv, struct args *a, const char **dir)
{
	for (int i = 1; i < argc; i++) {
		char *s = argv[i];
		if (!strcmp(s, "--state-dir") && i + 1 < argc)
			*dir = argv[++i];
		else if (!strncmp(s, "--state-dir=", 12))
			*dir = s + 12;
		else if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
			a->quiet = true;
		else if (a->nopt >= ARGS_MAX - 1 || a->npos >= ARGS_MAX)
			return -E2BIG;
		else if (s[0] == '-' && s[1] == '-') {
			a->opt[a->nopt++] = s;
			if (takes_value(argv[0], s) && i + 1 < argc &&
			    strncmp(argv[i + 1], "--", 2))
				a->opt[a->nopt++] = argv[++i];
		} else
			a->pos[a->npos++] = s;
	}
	return 0;
}

int dom_main(int argc, char **argv)
{
	const struct verb *v = find(argv[0]);
	struct args a = {0};
	const char *dir = NULL;
	struct net_state st;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(USAGE, stdout);
			return 0;
		}
	}
	if (!v || split_args(argc, argv, &a, &dir)) {
		log_error("%s: unknown command or too many arguments", argv[0]);
		return 1;
	}
	if (a.npos < v->nargs || a.npos > v->maxargs) {
		log_error("%s: expected %s (see `minivmm define --help`)", v->name,
			  v->nargs     ? "one domain name"
			  : v->maxargs ? "FILE.xml or flags"
				       : "no argument");
		return 1;
	}
	int r;
	if (!v->fn) {
		r = dom_verb_autostart_all(dir, a.quiet, &a.child);
	} else {
		if (dom_store_open(&st, dir, v->write) < 0)
			return 1;
		r = v->fn(&st, &a);
		net_state_close(&st);
	}
	if (a.child.in_child)
		return a.child.exit_status; /* the VM process, after its VM ended */
	if (!a.quiet)
		putchar('\n'); /* virsh ends every command's output with a blank line */
	return r < 0 ? 1 : 0;
}
