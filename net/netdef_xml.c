/* libvirt network XML <-> struct netdef. Anything outside the subset is an
 * error naming the element or attribute and its line, so a user never
 * believes a setting took effect when it did not. */
#include "net/netdef.h"
#include "xml/xml.h"

#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	const char *src;
	struct netdef *d;
};

static bool in_list(const char *s, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static bool blank(const char *s) { return s[strspn(s, " \t\r\n")] == '\0'; }

/* Attributes and children allowed on N; each child element at most once
 * unless it is listed in MULTI. */
static int check_node(const struct ctx *c, const struct xml_node *n, const char *const *attrs,
		      const char *const *kids, const char *const *multi, bool text)
{
	for (size_t i = 0; i < n->nattrs; i++) {
		if (!in_list(n->attrs[i].name, attrs)) {
			log_error("net: %s:%u: attribute '%s' of <%s> is not supported", c->src,
				  n->line, n->attrs[i].name, n->name);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n->nkids; i++) {
		const struct xml_node *k = n->kids[i];
		if (!in_list(k->name, kids)) {
			log_error("net: %s:%u: element <%s> in <%s> is not supported", c->src,
				  k->line, k->name, n->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i && !in_list(k->name, multi); j++) {
			if (!strcmp(n->kids[j]->name, k->name)) {
				log_error("net: %s:%u: only one <%s> in <%s> is supported", c->src,
					  k->line, k->name, n->name);
				return -EINVAL;
			}
		}
	}
	if (!text && !blank(n->text)) {
		log_error("net: %s:%u: text inside <%s> is not expected", c->src, n->line, n->name);
		return -EINVAL;
	}
	return 0;
}

static int bad_value(const struct ctx *c, const struct xml_node *n, const char *attr, const char *v,
		     const char *want)
{
	log_error("net: %s:%u: <%s %s='%s'>: expected %s", c->src, n->line, n->name, attr,
		  v ? v : "", want);
	return -EINVAL;
}

static int get_uint(const struct ctx *c, const struct xml_node *n, const char *attr, unsigned max,
		    unsigned *out)
{
	const char *v = xml_attr(n, attr);
	char *end;
	if (!v)
		return 0;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *end || x > max || v[0] == '-')
		return bad_value(c, n, attr, v, "a number");
	*out = (unsigned)x;
	return 0;
}

static int get_ip(const struct ctx *c, const struct xml_node *n, const char *attr, uint32_t *ip)
{
	const char *v = xml_attr(n, attr);
	if (!v)
		return bad_value(c, n, attr, v, "an IPv4 address (attribute missing)");
	if (netdef_parse_ip(v, ip))
		return bad_value(c, n, attr, v, "an IPv4 address");
	return 0;
}

static int do_forward(struct ctx *c, const struct xml_node *n)
{
	static const char *const attrs[] = {"mode", NULL};
	const char *m = xml_attr(n, "mode");
	if (check_node(c, n, attrs, NULL, NULL, false))
		return -EINVAL;
	if (!m || !strcmp(m, "nat"))
		c->d->forward = NET_FWD_NAT; /* libvirt's default mode */
	else if (!strcmp(m, "route"))
		c->d->forward = NET_FWD_ROUTE;
	else if (!strcmp(m, "none"))
		c->d->forward = NET_FWD_NONE;
	else
		return bad_value(c, n, "mode", m, "nat, route or none");
	return 0;
}

static int do_bridge(struct ctx *c, const struct xml_node *n)
{
	static const char *const attrs[] = {"name", "stp", "delay", NULL};
	const char *name = xml_attr(n, "name"), *stp = xml_attr(n, "stp");
	if (check_node(c, n, attrs, NULL, NULL, false) || get_uint(c, n, "delay", 30, &c->d->delay))
		return -EINVAL;
	if (stp && strcmp(stp, "on") && strcmp(stp, "off"))
		return bad_value(c, n, "stp", stp, "on or off");
	c->d->stp = !stp || !strcmp(stp, "on");
	if (name && strlen(name) >= sizeof(c->d->bridge))
		return bad_value(c, n, "name", name, "at most 15 characters");
	if (name)
		snprintf(c->d->bridge, sizeof(c->d->bridge), "%s", name);
	return 0;
}

static int do_range(struct ctx *c, const struct xml_node *n)
{
	static const char *const attrs[] = {"start", "end", NULL};
	static const char *const kids[] = {"lease", NULL};
	static const char *const lattrs[] = {"expiry", "unit", NULL};
	if (check_node(c, n, attrs, kids, NULL, false) ||
	    get_ip(c, n, "start", &c->d->range_start) || get_ip(c, n, "end", &c->d->range_end))
		return -EINVAL;
	c->d->has_dhcp = true;
	if (n->nkids == 0)
		return 0;
	const struct xml_node *l = n->kids[0];
	unsigned v = 0, mult = 60;
	const char *unit = xml_attr(l, "unit");
	if (check_node(c, l, lattrs, NULL, NULL, false) || get_uint(c, l, "expiry", 1000000, &v))
		return -EINVAL;
	if (unit && !strcmp(unit, "seconds"))
		mult = 1;
	else if (unit && !strcmp(unit, "hours"))
		mult = 3600;
	else if (unit && strcmp(unit, "minutes"))
		return bad_value(c, l, "unit", unit, "seconds, minutes or hours");
	if (v == 0)
		return bad_value(c, l, "expiry", xml_attr(l, "expiry"), "a lease time above 0");
	c->d->lease_secs = v * mult;
	return 0;
}

static int do_host(struct ctx *c, const struct xml_node *n)
{
	static const char *const attrs[] = {"mac", "ip", "name", NULL};
	struct netdef *d = c->d;
	const char *mac = xml_attr(n, "mac"), *name = xml_attr(n, "name");
	if (check_node(c, n, attrs, NULL, NULL, false))
		return -EINVAL;
	if (d->nhosts >= DHCP_HOSTS_MAX) {
		log_error("net: %s:%u: more than %d <host> entries", c->src, n->line,
			  DHCP_HOSTS_MAX);
		return -EINVAL;
	}
	struct dhcp_host *h = &d->hosts[d->nhosts];
	memset(h, 0, sizeof(*h));
	if (!mac || dhcp_mac_parse(mac, h->mac))
		return bad_value(c, n, "mac", mac, "a MAC address like 52:54:00:12:34:56");
	if (get_ip(c, n, "ip", &h->ip))
		return -EINVAL;
	if (name && (!*name || strlen(name) >= sizeof(h->name) ||
		     name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-_.")]))
		return bad_value(c, n, "name", name, "a host name");
	if (name)
		snprintf(h->name, sizeof(h->name), "%s", name);
	d->nhosts++;
	return 0;
}

static int do_dhcp(struct ctx *c, const struct xml_node *n)
{
	static const char *const kids[] = {"range", "host", NULL};
	static const char *const multi[] = {"host", NULL};
	if (check_node(c, n, NULL, kids, multi, false))
		return -EINVAL;
	c->d->hosts = calloc(DHCP_HOSTS_MAX, sizeof(*c->d->hosts));
	if (!c->d->hosts)
		return -ENOMEM;
	for (size_t i = 0; i < n->nkids; i++) {
		const struct xml_node *k = n->kids[i];
		if ((!strcmp(k->name, "range") ? do_range : do_host)(c, k))
			return -EINVAL;
	}
	return 0;
}

static int do_ip(struct ctx *c, const struct xml_node *n)
{
	static const char *const attrs[] = {"address", "netmask", "prefix", "family", NULL};
	static const char *const kids[] = {"dhcp", NULL};
	const char *fam = xml_attr(n, "family"), *mask = xml_attr(n, "netmask");
	struct netdef *d = c->d;
	if (check_node(c, n, attrs, kids, NULL, false) || get_ip(c, n, "address", &d->addr))
		return -EINVAL;
	if (fam && strcmp(fam, "ipv4"))
		return bad_value(c, n, "family", fam, "ipv4 (IPv6 is not supported)");
	if (mask && xml_attr(n, "prefix"))
		return bad_value(c, n, "prefix", xml_attr(n, "prefix"),
				 "netmask or prefix, not both");
	if (mask) {
		uint32_t m;
		if (get_ip(c, n, "netmask", &m) || (m && (~m & (~m + 1))))
			return bad_value(c, n, "netmask", mask, "a contiguous netmask");
		d->prefix = (unsigned)__builtin_popcount(m);
	} else if (!xml_attr(n, "prefix")) {
		return bad_value(c, n, "prefix", NULL, "a netmask or prefix");
	} else if (get_uint(c, n, "prefix", 32, &d->prefix)) {
		return -EINVAL;
	}
	d->has_ip = true;
	return n->nkids ? do_dhcp(c, n->kids[0]) : 0;
}

static int do_text(struct ctx *c, const struct xml_node *n, char *dst, size_t size)
{
	const char *t = n->text + strspn(n->text, " \t\r\n");
	size_t len = strcspn(t, " \t\r\n");
	if (check_node(c, n, NULL, NULL, NULL, true) || len == 0 || len >= size ||
	    !blank(t + len)) {
		log_error("net: %s:%u: <%s> wants one word of at most %zu characters", c->src,
			  n->line, n->name, size - 1);
		return -EINVAL;
	}
	memcpy(dst, t, len);
	dst[len] = '\0';
	return 0;
}

static int do_network(struct ctx *c, const struct xml_node *root)
{
	static const char *const kids[] = {"name", "uuid", "forward", "bridge",
					   "mac",  "mtu",  "ip",      NULL};
	static const char *const mac_attrs[] = {"address", NULL};
	static const char *const mtu_attrs[] = {"size", NULL};
	struct netdef *d = c->d;
	char buf[64];

	if (strcmp(root->name, "network")) {
		log_error("net: %s:%u: root element is <%s>, expected <network>", c->src,
			  root->line, root->name);
		return -EINVAL;
	}
	if (check_node(c, root, NULL, kids, NULL, false))
		return -EINVAL;
	for (size_t i = 0; i < root->nkids; i++) {
		const struct xml_node *k = root->kids[i];
		int r = 0;
		if (!strcmp(k->name, "name"))
			r = do_text(c, k, buf, NETDEF_NAME_MAX + 1) ?: (strcpy(d->name, buf), 0);
		else if (!strcmp(k->name, "uuid"))
			r = do_text(c, k, d->uuid, sizeof(d->uuid));
		else if (!strcmp(k->name, "forward"))
			r = do_forward(c, k);
		else if (!strcmp(k->name, "bridge"))
			r = do_bridge(c, k);
		else if (!strcmp(k->name, "mac"))
			r = check_node(c, k, mac_attrs, NULL, NULL, false)
				?: ((d->has_mac =
					 !dhcp_mac_parse(xml_attr(k, "address") ?: "", d->mac))
					? 0
					: bad_value(c, k, "address", xml_attr(k, "address"),
						    "a MAC address"));
		else if (!strcmp(k->name, "mtu"))
			r = check_node(c, k, mtu_attrs, NULL, NULL, false)
				?: get_uint(c, k, "size", 65535, &d->mtu);
		else
			r = do_ip(c, k);
		if (r)
			return r;
	}
	if (!d->name[0]) {
		log_error("net: %s: <name> is missing", c->src);
		return -EINVAL;
	}
	if (!d->bridge[0] && strlen(d->name) < sizeof(d->bridge))
		strcpy(d->bridge, d->name); /* libvirt would invent virbrN */
	return 0;
}

int netdef_from_xml(const char *buf, size_t len, const char *src, struct netdef *out)
{
	struct xml_node *root;
	struct ctx c = {.src = src, .d = out};

	memset(out, 0, sizeof(*out));
	out->stp = true;
	out->lease_secs = NETDEF_DEFAULT_LEASE;
	if (xml_parse(buf, len, src, &root))
		return -EINVAL;
	int r = do_network(&c, root);
	xml_free(root);
	if (!r)
		r = netdef_validate(out);
	if (r) {
		netdef_free(out);
		return r < 0 ? r : -EINVAL;
	}
	return 0;
}

int netdef_to_xml(const struct netdef *d, char **out)
{
	char *buf = NULL, a[16], b[16], m[18];
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	fprintf(f, "<network>\n  <name>%s</name>\n", d->name);
	if (d->uuid[0])
		fprintf(f, "  <uuid>%s</uuid>\n", d->uuid);
	if (d->forward != NET_FWD_NONE)
		fprintf(f, "  <forward mode='%s'/>\n", netdef_forward_name(d->forward));
	fprintf(f, "  <bridge name='%s' stp='%s' delay='%u'/>\n", d->bridge, d->stp ? "on" : "off",
		d->delay);
	if (d->has_mac) {
		dhcp_mac_format(d->mac, m);
		fprintf(f, "  <mac address='%s'/>\n", m);
	}
	if (d->mtu)
		fprintf(f, "  <mtu size='%u'/>\n", d->mtu);
	if (d->has_ip) {
		fprintf(f, "  <ip address='%s' prefix='%u'", netdef_ipstr(d->addr, a), d->prefix);
		if (!d->has_dhcp && !d->nhosts) {
			fprintf(f, "/>\n");
		} else {
			fprintf(f, ">\n    <dhcp>\n");
			if (d->has_dhcp)
				fprintf(f,
					"      <range start='%s' end='%s'>\n"
					"        <lease expiry='%u' unit='seconds'/>\n"
					"      </range>\n",
					netdef_ipstr(d->range_start, a),
					netdef_ipstr(d->range_end, b), d->lease_secs);
			for (size_t i = 0; i < d->nhosts; i++) {
				dhcp_mac_format(d->hosts[i].mac, m);
				fprintf(f, "      <host mac='%s' ip='%s'", m,
					netdef_ipstr(d->hosts[i].ip, a));
				if (d->hosts[i].name[0])
					fprintf(f, " name='%s'", d->hosts[i].name);
				fprintf(f, "/>\n");
			}
			fprintf(f, "    </dhcp>\n  </ip>\n");
		}
	}
	fprintf(f, "</network>\n");
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
