/* net start / stop / serve. */
#include "net/net_run.h"

#include "net/dhcp_serve.h"
#include "net/mdata_record.h"
#include "net/nft.h"
#include "net/nl.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define RESOLV_CONF "/etc/resolv.conf"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

bool net_active(const struct net_state *st, const struct netdef *d, struct net_run *r)
{
	struct net_run tmp;
	if (net_state_run_read(st, d->name, &tmp) < 0)
		return false;
	/* After a host reboot the run record is stale: the bridge is gone or
	 * another link took its index. */
	if (!tmp.ifindex || if_nametoindex(d->bridge) != tmp.ifindex)
		return false;
	if (r)
		*r = tmp;
	return true;
}

int net_check_conflicts(const struct net_state *st, const struct netdef *d)
{
	static char names[NET_NAMES_MAX][NETDEF_NAME_MAX + 1];
	int n = net_state_list(st, names, NET_NAMES_MAX);

	for (int i = 0; i < n; i++) {
		struct netdef o;
		if (!strcmp(names[i], d->name) || net_state_load(st, names[i], &o) < 0)
			continue;
		bool sub = netdef_overlaps(d, &o), br = !strcmp(d->bridge, o.bridge);
		netdef_free(&o);
		if (sub || br) {
			log_error("net %s: %s overlaps network %s", d->name,
				  sub ? "subnet" : "bridge name", names[i]);
			return -EEXIST;
		}
	}
	return 0;
}

static bool have_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ull << 12); /* CAP_NET_ADMIN */
}

/* An address already on the host in D's subnet would make routing
 * ambiguous; libvirt refuses the same way. */
static int check_host_addresses(const struct netdef *d)
{
	struct ifaddrs *ifs, *i;
	int r = 0;

	if (!d->has_ip || getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i && !r; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET)
			continue;
		struct netdef h = {.has_ip = true};
		h.addr = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
		h.prefix = (unsigned)__builtin_popcount(
		    ((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr);
		if (netdef_overlaps(d, &h)) {
			char a[16];
			log_error("net %s: subnet overlaps %s/%u on %s", d->name,
				  netdef_ipstr(h.addr, a), h.prefix, i->ifa_name);
			r = -EEXIST;
		}
	}
	freeifaddrs(ifs);
	return r;
}

static int read_forward(void)
{
	FILE *f = fopen(IP_FORWARD, "r");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_forward(const char *name, int v)
{
	int fd = open(IP_FORWARD, O_WRONLY | O_CLOEXEC);
	int r = fd < 0 || write(fd, v ? "1\n" : "0\n", 2) != 2 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r)
		log_error("net %s: setting %s: %s", name, IP_FORWARD, strerror(-r));
	return r;
}

struct helper {
	struct dhcp_server *dhcp;
	int fd;
	struct dns_fwd *dns;
	struct mdata_server *md;
	char mdata_dir[PATH_MAX];	/* run/mdata/BRIDGE: the VMs' records */
};

static void fill_cfg(const struct net_state *st, const struct netdef *d, bool fwd,
		     struct dhcp_server_cfg *c, char *lease_path, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->name = d->name;
	c->server_ip = d->addr;
	c->netmask = netdef_mask(d->prefix);
	c->router = d->forward != NET_FWD_NONE ? d->addr : 0;
	c->mdata_gateway = d->forward == NET_FWD_NONE ? d->addr : 0;
	if (fwd) {
		c->dns[0] = d->addr; /* the forwarder on the bridge address */
		c->ndns = 1;
	} else {
		c->ndns = dns_resolvers(RESOLV_CONF, false, c->dns, DHCP_DNS_MAX);
	}
	c->lease_secs = d->lease_secs;
	c->mtu = (uint16_t)d->mtu;
	/* Without a range only the static hosts are served. */
	c->pool.start = d->has_dhcp ? d->range_start : d->addr;
	c->pool.end = d->has_dhcp ? d->range_end : d->addr;
	c->pool.server_ip = d->addr;
	c->pool.hosts = d->hosts;
	c->pool.nhosts = d->nhosts;
	net_state_path(st, lease_path, size, "leases", d->name, ".leases");
	c->lease_path = lease_path;
}

static void helper_free(struct helper *h)
{
	if (h->fd >= 0)
		close(h->fd);
	mdata_serve_close(h->md);
	dhcp_server_free(h->dhcp);
	dns_fwd_close(h->dns);
}

/* The metadata service (every network's table routes 169.254.169.254 to
 * it; isolated networks' guests get a route there by DHCP). Without it the
 * network still runs, with a warning. */
static void mdata_setup(const struct net_state *st, const struct netdef *d, struct helper *h)
{
	if (mdata_record_dir(st->dir, d->bridge, h->mdata_dir, sizeof(h->mdata_dir)) < 0)
		return;
	struct mdata_serve_cfg cfg = { .listen_ip = d->addr, .port = MDATA_PORT,
				       .ifname = d->bridge, .record_dir = h->mdata_dir,
				       .leases = dhcp_server_leases(h->dhcp) };
	if (mdata_serve_open(&h->md, &cfg) < 0)
		log_warn("net %s: no metadata service on 169.254.169.254", d->name);
}

static int serve_setup(const struct net_state *st, const struct netdef *d, struct helper *h)
{
	struct dhcp_server_cfg cfg;
	char lease_path[PATH_MAX];
	uint32_t up = dns_fwd_upstream(RESOLV_CONF);
	int r = 0;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	if (!up)
		log_warn("net %s: no nameserver in %s; guests get no DNS server", d->name,
			 RESOLV_CONF);
	else if (dns_fwd_open(&h->dns, d->addr, 53, d->bridge, up, 53) < 0)
		log_warn("net %s: no DNS forwarder; guests get the host's non-loopback "
			 "resolvers from %s",
			 d->name, RESOLV_CONF);
	fill_cfg(st, d, h->dns != NULL, &cfg, lease_path, sizeof(lease_path));
	if (!r)
		r = dhcp_server_new(&h->dhcp, &cfg, time(NULL));
	if (!r && (h->fd = dhcp_serve_open(d->bridge)) < 0)
		r = h->fd;
	if (!r)
		mdata_setup(st, d, h);
	if (r)
		helper_free(h);
	return r;
}

static int serve_run(struct helper *h, const char *name, const char *bridge)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	log_info("dhcp %s: serving", name);
	int r = dhcp_serve_loop(h->dhcp, h->fd, h->dns, h->md, bridge, &stop_flag);
	if (h->md) {
		const struct mdata_stats *m = mdata_serve_stats(h->md);
		log_info("metadata %s: %llu connections, %llu requests, %llu refused, "
			 "%llu over the connection cap, %llu timed out",
			 name, m->conns, m->requests, m->errors, m->refused_full, m->timeouts);
	}
	const struct dhcp_stats *t = dhcp_server_stats(h->dhcp);
	log_info("dhcp %s: stopping; %llu received, %llu malformed, %llu offers, %llu acks, "
		 "%llu naks",
		 name, (unsigned long long)t->received, (unsigned long long)t->malformed,
		 (unsigned long long)t->offers, (unsigned long long)t->acks,
		 (unsigned long long)t->naks);
	helper_free(h);
	return r;
}

/* The helper's process name, "mvdhcp-NAME" cut to the kernel's 15 bytes. */
static void helper_comm(const char *name, char out[16])
{
	size_t n = strlen(name);
	memcpy(out, "mvdhcp-", 7);
	if (n > 8)
		n = 8;
	memcpy(out + 7, name, n);
	out[7 + n] = '\0';
}

/* The forked helper: detach, log to run/NAME.log (the log of the current or
 * last run: truncated here, kept after stop for its final counters and the
 * reason the helper stopped, removed by undefine), tell the parent through
 * READY whether the server is up ("" or the error), then serve. */
static void helper_main(struct net_state *st, const struct netdef *d, int ready)
{
	char p[PATH_MAX], comm[16];
	struct helper h;

	if (st->lock_fd >= 0)
		close(st->lock_fd); /* the state lock belongs to the CLI */
	setsid();
	helper_comm(d->name, comm);
	prctl(PR_SET_NAME, comm);
	net_state_path(st, p, sizeof(p), "run", d->name, ".log");
	int log = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 0);
	if (log >= 0) {
		dup2(log, 1);
		dup2(log, 2);
	}
	log_clear_last_error();
	int r = serve_setup(st, d, &h);
	const char *msg = r ? log_last_error() : "";
	if (write(ready, msg, strlen(msg) + 1) < 0 || r)
		_exit(1);
	close(ready);
	/* This process is a fork of the CLI: it ends here, never returning
	 * into the caller's code. */
	_exit(serve_run(&h, d->name, d->bridge) ? 1 : 0);
}

static int spawn_helper(struct net_state *st, const struct netdef *d, pid_t *pid)
{
	int pfd[2];
	char msg[512] = "";

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		int err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (*pid == 0) {
		close(pfd[0]);
		helper_main(st, d, pfd[1]);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	if (n > 0 && msg[0] == '\0')
		return 0;
	msg[n > 0 ? n : 0] = '\0';
	log_error("net %s: DHCP server did not start: %s", d->name, msg[0] ? msg : "no reason");
	waitpid(*pid, NULL, 0);
	*pid = 0;
	return -EIO;
}

/* Only signal a pid that is our helper: a stale record may name a pid that
 * now belongs to something else. */
static bool is_helper(pid_t pid, const char *name)
{
	char p[64], comm[32] = "", want[16];
	snprintf(p, sizeof(p), "/proc/%ld/comm", (long)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	helper_comm(name, want);
	return !strcmp(comm, want);
}

static bool gone(pid_t pid)
{
	char p[64], buf[256];
	snprintf(p, sizeof(p), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static void stop_helper(pid_t pid, const char *name)
{
	if (pid <= 0 || !is_helper(pid, name))
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 300 && !gone(pid); i++) {
		waitpid(pid, NULL, WNOHANG);
		usleep(10000);
	}
	if (!gone(pid)) {
		log_warn("net %s: DHCP helper %ld did not stop; killing it", name, (long)pid);
		kill(pid, SIGKILL);
	}
	waitpid(pid, NULL, WNOHANG);
}

/* Another active network that forwards, besides NAME? Its run record holds
 * the ip_forward value found before the first forwarding network started
 * (each one started while another was active copies it), so *PREV is that
 * value whichever of them started first or stops last. */
static bool other_forwarding(const struct net_state *st, const char *name, int *prev)
{
	static char names[NET_NAMES_MAX][NETDEF_NAME_MAX + 1];
	int n = net_state_list(st, names, NET_NAMES_MAX);
	bool any = false;

	for (int i = 0; i < n && !any; i++) {
		struct netdef o;
		struct net_run r;
		if (!strcmp(names[i], name) || net_state_load(st, names[i], &o) < 0)
			continue;
		any = o.forward != NET_FWD_NONE && net_active(st, &o, &r);
		if (any && prev)
			*prev = r.forward_prev;
		netdef_free(&o);
	}
	return any;
}

/* The metadata records of network D's VMs (run/mdata/BRIDGE) go. */
void net_mdata_remove(const struct net_state *st, const struct netdef *d)
{
	char dir[PATH_MAX];
	int r;

	if (mdata_record_dir(st->dir, d->bridge, dir, sizeof(dir)) == 0 &&
	    (r = mdata_record_dir_remove(dir)) < 0)
		log_warn("net %s: removing %s: %s", d->name, dir, strerror(-r));
}

/* Undo whatever R records, in reverse order; errors are logged, not fatal. */
static int teardown(struct net_state *st, const struct netdef *d, const struct net_run *r)
{
	int err = 0;

	stop_helper(r->pid, d->name);
	if (nft_net_del(d->name) < 0)
		err = -EIO;
	if (r->forward_prev == 0 && !other_forwarding(st, d->name, NULL))
		write_forward(d->name, 0);
	if (r->ifindex && if_nametoindex(d->bridge) == r->ifindex && nl_link_delete(d->bridge) < 0)
		err = -EIO;
	/* Keep the record while something is left behind, so that `net stop`
	 * can be tried again; without it nothing knows what to remove. */
	if (!err) {
		net_state_run_remove(st, d->name);
		net_mdata_remove(st, d);
	}
	return err;
}

/* A run record whose bridge is gone: the host rebooted, or someone deleted
 * the bridge (or its namespace). Remove what may be left: the helper, and
 * the nftables table; ip_forward is restored only when the table was still
 * there (after a reboot the recorded value is stale). */
static void clean_stale(struct net_state *st, const struct netdef *d)
{
	struct net_run old;

	if (net_state_run_read(st, d->name, &old) < 0) {
		net_state_run_remove(st, d->name);
		return;
	}
	stop_helper(old.pid, d->name);
	if (nft_net_exists(d->name)) {
		nft_net_del(d->name);
		if (d->forward != NET_FWD_NONE && old.forward_prev == 0 &&
		    !other_forwarding(st, d->name, NULL))
			write_forward(d->name, 0);
	}
	net_state_run_remove(st, d->name);
	net_mdata_remove(st, d);
}

static int bring_up(struct net_state *st, const struct netdef *d, struct net_run *run)
{
	int r = nl_bridge_create(d->bridge, d->stp, d->delay, d->has_mac ? d->mac : NULL, d->mtu);
	if (r < 0)
		return r;
	run->ifindex = if_nametoindex(d->bridge);
	if (d->has_ip && (r = nl_addr_add(d->bridge, d->addr, d->prefix)) < 0)
		return r;
	if ((r = nl_link_up(d->bridge)) < 0)
		return r;
	if (d->forward != NET_FWD_NONE) {
		/* The value to put back when the last forwarding network stops
		 * is the one found before the first started: an active one's
		 * record already holds it. */
		int prev = -1, now = read_forward();
		if (!other_forwarding(st, d->name, &prev))
			prev = now == 0 ? 0 : -1;
		if (now == 0 && (r = write_forward(d->name, 1)) < 0)
			return r;
		run->forward_prev = prev;
	}
	/* An isolated network's table only routes to the metadata service:
	 * without it (no nftables NAT on this host) the network still runs. */
	if ((r = nft_net_add(d)) < 0 && d->forward != NET_FWD_NONE)
		return r;
	if (r < 0)
		log_warn("net %s: isolated network started without its metadata route",
			 d->name);
	if (d->has_ip && (d->has_dhcp || d->nhosts) && (r = spawn_helper(st, d, &run->pid)) < 0)
		return r;
	return net_state_run_write(st, d->name, run);
}

int net_start(struct net_state *st, const char *name)
{
	struct netdef d;
	struct net_run run = {.pid = 0, .ifindex = 0, .forward_prev = -1};
	int r = net_state_load(st, name, &d);

	if (r < 0)
		return r;
	if (net_active(st, &d, NULL)) {
		log_error("net %s: network is already active", name);
		r = -EALREADY;
	} else if (!have_net_admin()) {
		log_error("net %s: starting a network needs root or CAP_NET_ADMIN", name);
		r = -EPERM;
	} else if (if_nametoindex(d.bridge)) {
		log_error("net %s: an interface named %s already exists", name, d.bridge);
		r = -EEXIST;
	} else if ((r = check_host_addresses(&d)) == 0) {
		clean_stale(st, &d);
		r = bring_up(st, &d, &run);
		if (r < 0)
			teardown(st, &d, &run);
	}
	netdef_free(&d);
	return r;
}

int net_stop(struct net_state *st, const char *name)
{
	struct netdef d;
	struct net_run run;
	int r = net_state_load(st, name, &d);

	if (r < 0)
		return r;
	if (!have_net_admin()) {
		log_error("net %s: stopping a network needs root or CAP_NET_ADMIN", name);
		netdef_free(&d);
		return -EPERM;
	}
	if (!net_active(st, &d, &run)) {
		clean_stale(st, &d);
		log_error("net %s: network is not active", name);
		netdef_free(&d);
		return -ENOENT;
	}
	r = teardown(st, &d, &run);
	netdef_free(&d);
	return r;
}

int net_serve(struct net_state *st, const char *name)
{
	struct netdef d;
	struct net_run run;
	struct helper h;
	int r = net_state_load(st, name, &d);

	if (r < 0)
		return r;
	if (!d.has_ip || (!d.has_dhcp && !d.nhosts)) {
		log_error("net %s: no DHCP range or hosts to serve", name);
		r = -EINVAL;
	} else if (nl_is_bridge(d.bridge) < 0) {
		log_error("net %s: bridge %s does not exist (start the network first)", name,
			  d.bridge);
		r = -ENODEV;
	} else if (net_active(st, &d, &run) && run.pid && is_helper(run.pid, d.name)) {
		log_error("net %s: already served by its DHCP helper, pid %ld", name,
			  (long)run.pid);
		r = -EBUSY;
	} else if ((r = serve_setup(st, &d, &h)) == 0) {
		net_state_close(st); /* do not hold the lock while serving */
		r = serve_run(&h, name, d.bridge);
	}
	netdef_free(&d);
	return r;
}

static int find_def(const struct net_state *st, const char *name, struct netdef *d)
{
	static char names[NET_NAMES_MAX][NETDEF_NAME_MAX + 1];
	int n;

	if (net_state_exists(st, name))
		return net_state_load(st, name, d);
	n = net_state_list(st, names, NET_NAMES_MAX);
	for (int i = 0; i < n; i++) {
		if (net_state_load(st, names[i], d) < 0)
			continue;
		if (!strcmp(d->name, name) || !strcmp(d->bridge, name))
			return 0;
		netdef_free(d);
	}
	return -ENOENT;
}

int net_resolve_network(const char *state_dir, const char *name, char bridge[16],
			char *mdata_dir, size_t size)
{
	struct net_state st;
	struct netdef d;
	struct net_run run = { 0 };

	if (size)
		mdata_dir[0] = '\0';
	if (net_state_open(&st, state_dir, false) < 0)
		return -EINVAL;
	int found = find_def(&st, name, &d);
	if (found < 0 && found != -ENOENT)
		return -ENODEV; /* a broken definition, reported by the loader */
	if (found == 0) {
		bool active = net_active(&st, &d, &run);
		snprintf(bridge, 16, "%s", d.bridge);
		/* the helper (run.pid) serves the records; none without it */
		if (active && run.pid && size &&
		    mdata_record_dir(st.dir, d.bridge, mdata_dir, size) < 0)
			mdata_dir[0] = '\0';
		netdef_free(&d);
		if (active)
			return 0;
		log_error("net %s: network is defined but not active (run `minivmm net start %s`)",
			  name, d.name);
		return -ENODEV;
	}
	if (strlen(name) < 16 && nl_is_bridge(name) == 0) {
		snprintf(bridge, 16, "%s", name);
		return 0; /* a bridge made by other means */
	}
	log_error("net: bridge %s does not exist and no network is defined for it", name);
	return -ENODEV;
}

int net_resolve_bridge(const char *state_dir, const char *name, char bridge[16])
{
	return net_resolve_network(state_dir, name, bridge, NULL, 0);
}
