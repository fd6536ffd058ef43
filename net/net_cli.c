/* The `minivmm net` command line, modelled on virsh net-*. */
#include "net/net_cli.h"

#include "net/net_run.h"
#include "net/nft.h"
#include "vmm/log.h"
#include "xml/xml.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE[] =
    "usage: minivmm net [--state-dir DIR] COMMAND ...\n"
    "  define FILE.xml          define a network from libvirt network XML\n"
    "  create NAME --subnet ADDR/PREFIX [--dhcp START-END] [--nat|--route|--isolated]\n"
    "         [--bridge BR] [--no-start]   define and start a network\n"
    "  start NAME | start --autostart      start a network / all autostart ones\n"
    "  stop NAME                stop a network (alias: destroy)\n"
    "  list                     list defined networks\n"
    "  info NAME                show a network\n"
    "  dumpxml NAME             print a network's XML\n"
    "  leases NAME              list a network's DHCP leases\n"
    "  autostart NAME [--disable]\n"
    "  undefine NAME            forget a stopped network\n"
    "  serve NAME               run a network's DHCP server in the foreground\n"
    "state directory: --state-dir, else $MINIVMM_STATE_DIR, else " NET_STATE_DEFAULT "\n";

struct cmd {
	const char *name;
	int (*fn)(struct net_state *st, int argc, char **argv);
	int nargs;  /* positional arguments required */
	bool write; /* takes the state lock */
};

static int define_def(struct net_state *st, struct netdef *d)
{
	struct netdef old;
	int r = net_check_conflicts(st, d);

	if (r < 0)
		return r;
	if (net_state_exists(st, d->name) && net_state_load(st, d->name, &old) == 0) {
		bool active = net_active(st, &old, NULL);
		netdef_free(&old);
		if (active) {
			log_error("net %s: network is active; stop it before redefining it",
				  d->name);
			return -EBUSY;
		}
	}
	return net_state_save(st, d);
}

static int cmd_define(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	char *buf;
	size_t n;
	(void)argc;
	int r = xml_read_file("net", argv[0], &buf, &n);
	if (r)
		return r;
	r = netdef_from_xml(buf, n, argv[0], &d);
	free(buf);
	if (!r && !(r = define_def(st, &d)))
		printf("Network %s defined from %s\n", d.name, argv[0]);
	netdef_free(&d);
	return r;
}

static int cmd_create(struct net_state *st, int argc, char **argv)
{
	const char *subnet = NULL, *range = NULL, *bridge = NULL;
	enum net_forward fwd = NET_FWD_NAT;
	bool start = true;
	struct netdef d;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = !strcmp(a, "--subnet")   ? &subnet
				   : !strcmp(a, "--dhcp")   ? &range
				   : !strcmp(a, "--bridge") ? &bridge
							    : NULL;
		if (val && i + 1 < argc)
			*val = argv[++i];
		else if (!strcmp(a, "--nat") || !strcmp(a, "--route") || !strcmp(a, "--isolated"))
			fwd = a[2] == 'n'   ? NET_FWD_NAT
			      : a[2] == 'r' ? NET_FWD_ROUTE
					    : NET_FWD_NONE;
		else if (!strcmp(a, "--no-start"))
			start = false;
		else {
			log_error("net create: unknown or incomplete option '%s'", a);
			return -EINVAL;
		}
	}
	int r = netdef_from_args(&d, argv[0], subnet, range, fwd, bridge);
	if (!r && net_state_exists(st, d.name)) {
		log_error("net %s: a network of that name is already defined", d.name);
		r = -EEXIST;
	}
	if (!r)
		r = define_def(st, &d);
	if (!r && start && (r = net_start(st, d.name)) < 0)
		net_state_remove(st, d.name); /* nothing half-created */
	if (!r)
		printf("Network %s %s\n", d.name, start ? "created and started" : "defined");
	netdef_free(&d);
	return r;
}

static int cmd_start(struct net_state *st, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "--autostart")) {
		int r = net_start(st, argv[0]);
		if (!r)
			printf("Network %s started\n", argv[0]);
		return r;
	}
	static char names[NET_NAMES_MAX][NETDEF_NAME_MAX + 1];
	int n = net_state_list(st, names, NET_NAMES_MAX), r = 0;
	for (int i = 0; i < n; i++) {
		struct netdef d;
		if (!net_state_autostart(st, names[i]) || net_state_load(st, names[i], &d) < 0)
			continue;
		bool active = net_active(st, &d, NULL);
		netdef_free(&d);
		if (active)
			continue;
		if (net_start(st, names[i]) < 0)
			r = -EIO; /* reported; go on with the others */
		else
			printf("Network %s started\n", names[i]);
	}
	return r;
}

static int cmd_stop(struct net_state *st, int argc, char **argv)
{
	(void)argc;
	int r = net_stop(st, argv[0]);
	if (!r)
		printf("Network %s stopped\n", argv[0]);
	return r;
}

static int cmd_undefine(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	(void)argc;
	int r = net_state_load(st, argv[0], &d);
	if (r < 0)
		return r;
	bool active = net_active(st, &d, NULL);
	if (active) {
		netdef_free(&d);
		log_error("net %s: network is active; stop it first", argv[0]);
		return -EBUSY;
	}
	net_mdata_remove(st, &d);	/* records a killed VM left */
	netdef_free(&d);
	r = net_state_remove(st, argv[0]);
	if (!r)
		printf("Network %s has been undefined\n", argv[0]);
	return r;
}

static int cmd_autostart(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	bool off = argc > 1 && !strcmp(argv[1], "--disable");
	int r = net_state_load(st, argv[0], &d);
	if (r < 0)
		return r;
	netdef_free(&d);
	r = net_state_set_autostart(st, argv[0], !off);
	if (!r)
		printf("Network %s %s\n", argv[0],
		       off ? "unmarked as autostarted" : "marked as autostarted");
	return r;
}

static int cmd_list(struct net_state *st, int argc, char **argv)
{
	static char names[NET_NAMES_MAX][NETDEF_NAME_MAX + 1];
	(void)argc;
	(void)argv;
	int n = net_state_list(st, names, NET_NAMES_MAX);
	if (n < 0) {
		log_error("net: listing %s: %s", st->dir, strerror(-n));
		return n;
	}
	printf(" %-16s %-9s %-10s %s\n", "Name", "State", "Autostart", "Persistent");
	printf("----------------------------------------------------\n");
	for (int i = 0; i < n; i++) {
		struct netdef d;
		if (net_state_load(st, names[i], &d) < 0)
			continue;
		printf(" %-16s %-9s %-10s %s\n", names[i],
		       net_active(st, &d, NULL) ? "active" : "inactive",
		       net_state_autostart(st, names[i]) ? "yes" : "no", "yes");
		netdef_free(&d);
	}
	return 0;
}

static int cmd_info(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	struct net_run run;
	char a[16], b[16];
	(void)argc;
	int r = net_state_load(st, argv[0], &d);
	if (r < 0)
		return r;
	bool active = net_active(st, &d, &run);
	printf("Name:           %s\n", d.name);
	if (d.uuid[0])
		printf("UUID:           %s\n", d.uuid);
	printf("Active:         %s\n", active ? "yes" : "no");
	printf("Persistent:     yes\n");
	printf("Autostart:      %s\n", net_state_autostart(st, d.name) ? "yes" : "no");
	printf("Bridge:         %s (stp %s, delay %u)\n", d.bridge, d.stp ? "on" : "off", d.delay);
	printf("Forward:        %s\n", netdef_forward_name(d.forward));
	if (d.has_ip)
		printf("Address:        %s/%u\n", netdef_ipstr(d.addr, a), d.prefix);
	if (d.has_dhcp)
		printf("DHCP range:     %s - %s, lease %u s\n", netdef_ipstr(d.range_start, a),
		       netdef_ipstr(d.range_end, b), d.lease_secs);
	if (d.nhosts)
		printf("DHCP hosts:     %zu\n", d.nhosts);
	if (d.forward != NET_FWD_NONE)
		printf("nftables table: ip minivmm-%s\n", d.name);
	if (active && run.pid)
		printf("DHCP server:    pid %ld\n", (long)run.pid);
	netdef_free(&d);
	return 0;
}

static int cmd_dumpxml(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	char *xml;
	(void)argc;
	int r = net_state_load(st, argv[0], &d);
	if (r < 0)
		return r;
	r = netdef_to_xml(&d, &xml);
	if (!r) {
		fputs(xml, stdout);
		free(xml);
	}
	netdef_free(&d);
	return r;
}

static int cmd_leases(struct net_state *st, int argc, char **argv)
{
	struct netdef d;
	struct dhcp_leases *l;
	struct dhcp_pool pool;
	char path[PATH_MAX];
	(void)argc;
	int r = net_state_load(st, argv[0], &d);
	if (r < 0)
		return r;
	pool = (struct dhcp_pool){.start = d.has_dhcp ? d.range_start : d.addr,
				  .end = d.has_dhcp ? d.range_end : d.addr,
				  .server_ip = d.addr,
				  .hosts = d.hosts,
				  .nhosts = d.nhosts};
	net_state_path(st, path, sizeof(path), "leases", d.name, ".leases");
	r = dhcp_leases_open(&l, &pool, path, time(NULL));
	if (!r) {
		printf(" %-20s %-18s %-16s %s\n", "Expiry", "MAC", "IP", "Hostname");
		printf("--------------------------------------------------------------------\n");
		for (size_t i = 0; i < dhcp_leases_count(l); i++) {
			struct dhcp_lease e;
			char when[32] = "-", mac[18], ip[16];
			time_t t;
			dhcp_leases_get(l, i, &e);
			t = e.expiry;
			if (e.expiry)
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			dhcp_mac_format(e.mac, mac);
			printf(" %-20s %-18s %-16s %s\n", when, mac, netdef_ipstr(e.ip, ip),
			       e.hostname[0] ? e.hostname : "-");
		}
		dhcp_leases_close(l);
	}
	netdef_free(&d);
	return r;
}

static int cmd_serve(struct net_state *st, int argc, char **argv)
{
	(void)argc;
	return net_serve(st, argv[0]);
}

static const struct cmd CMDS[] = {
    {"define", cmd_define, 1, true},	   {"create", cmd_create, 1, true},
    {"start", cmd_start, 1, true},	   {"stop", cmd_stop, 1, true},
    {"destroy", cmd_stop, 1, true},	   {"undefine", cmd_undefine, 1, true},
    {"autostart", cmd_autostart, 1, true}, {"list", cmd_list, 0, false},
    {"info", cmd_info, 1, false},	   {"dumpxml", cmd_dumpxml, 1, false},
    {"leases", cmd_leases, 1, false},	   {"serve", cmd_serve, 1, true},
};

int net_main(int argc, char **argv)
{
	const char *dir = NULL;
	char *args[64];
	int n = 0;

	/* --state-dir may come anywhere; the rest is COMMAND ARGS... */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strncmp(argv[i], "--state-dir=", 12))
			dir = argv[i] + 12;
		else if (n < 63)
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n == 0 || !strcmp(args[0], "-h") || !strcmp(args[0], "--help") ||
	    !strcmp(args[0], "help")) {
		fputs(USAGE, n ? stdout : stderr);
		return n ? 0 : 1;
	}
	for (size_t i = 0; i < sizeof(CMDS) / sizeof(CMDS[0]); i++) {
		const struct cmd *c = &CMDS[i];
		if (strcmp(args[0], c->name))
			continue;
		if (n - 1 < c->nargs) {
			log_error("net %s: missing argument (see `minivmm net --help`)", c->name);
			return 1;
		}
		struct net_state st;
		if (net_state_open(&st, dir, c->write) < 0)
			return 1;
		int r = c->fn(&st, n - 1, args + 1);
		net_state_close(&st);
		return r < 0 ? 1 : 0;
	}
	log_error("net: unknown command '%s' (see `minivmm net --help`)", args[0]);
	return 1;
}
