/* Domain definitions in the state directory; see dom_store.h. */
#include "vmm/life/dom_store.h"

#include "vmm/life/dom_run.h"

#include "vmm/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SUBDIRS[] = {"domains", "domains/autostart", "domains/run"};

int dom_store_open(struct net_state *st, const char *dir, bool write)
{
	char p[PATH_MAX];
	int r = net_state_open(st, dir, write);
	for (size_t i = 0; !r && write && i < sizeof(SUBDIRS) / sizeof(SUBDIRS[0]); i++) {
		net_state_path(st, p, sizeof(p), SUBDIRS[i], NULL, NULL);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			log_error("domain: state directory %s: %s", p, strerror(errno));
			net_state_close(st);
		}
	}
	return r;
}

static int def_path(const struct net_state *st, const char *name, char *p, size_t size)
{
	if (!domdef_name_ok(name)) {
		log_error("domain: '%s' is not a valid domain name", name);
		return -EINVAL;
	}
	return net_state_path(st, p, size, "domains", name, ".xml");
}

static int parse_stored(const char *p, struct domdef *d)
{
	char *buf;
	size_t len;
	int r = xml_read_file("domain", p, &buf, &len);
	if (r)
		return r;
	int lvl = log_get_level();
	log_set_level(LOG_ERROR); /* its warnings were shown when it was defined */
	r = domdef_from_xml(buf, len, p, d);
	log_set_level(lvl);
	free(buf);
	return r;
}

int dom_store_load(const struct net_state *st, const char *name, struct domdef *d)
{
	char p[PATH_MAX];
	int r = def_path(st, name, p, sizeof(p));
	if (r)
		return r;
	if (access(p, F_OK) < 0 && errno == ENOENT) {
		log_error("failed to get domain '%s'", name);
		return -ENOENT;
	}
	return parse_stored(p, d);
}

bool dom_store_exists(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	return domdef_name_ok(name) && !def_path(st, name, p, sizeof(p)) && access(p, F_OK) == 0;
}

int dom_store_save(const struct net_state *st, const struct domdef *d)
{
	char p[PATH_MAX], *xml;
	int r = def_path(st, d->name, p, sizeof(p)) ?: domdef_to_xml(d, &xml);
	if (r)
		return r;
	r = net_write_atomic(p, xml, strlen(xml));
	free(xml);
	return r;
}

int dom_store_remove(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	int r = def_path(st, name, p, sizeof(p));
	if (r)
		return r;
	/* The definition first: a failure after it leaves at worst a stray
	 * autostart mark, which list and autostart ignore without a definition. */
	if (unlink(p) < 0) {
		r = -errno;
		log_error("domain: removing %s: %s", p, strerror(errno));
		return r;
	}
	dom_store_set_autostart(st, name, false);
	return 0;
}

static int cmp_names(const void *a, const void *b) { return strcasecmp(a, b) ?: strcmp(a, b); }

/* SUB/NAME.xml names appended to NAMES[N..MAX). */
static int list_xml(const struct net_state *st, const char *sub, char (*names)[DOM_NAME_MAX + 1],
		    size_t n, size_t max)
{
	char p[PATH_MAX];
	net_state_path(st, p, sizeof(p), sub, NULL, NULL);
	DIR *dir = opendir(p);
	if (!dir)
		return errno == ENOENT ? (int)n : -errno;
	for (struct dirent *e; (e = readdir(dir)) && n < max;) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".xml") || len - 4 > DOM_NAME_MAX)
			continue;
		memcpy(names[n], e->d_name, len - 4);
		names[n][len - 4] = '\0';
		if (domdef_name_ok(names[n]))
			n++;
	}
	closedir(dir);
	return (int)n;
}

int dom_store_list(const struct net_state *st, char (*names)[DOM_NAME_MAX + 1], size_t max)
{
	int n = list_xml(st, "domains", names, 0, max);
	if (n > 0)
		qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	return n;
}

int dom_store_list_all(const struct net_state *st, char (*names)[DOM_NAME_MAX + 1], size_t max)
{
	int n = list_xml(st, "domains", names, 0, max);
	if (n >= 0)
		n = list_xml(st, "domains/run", names, (size_t)n, max);
	if (n <= 0)
		return n;
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	size_t out = 1;
	for (size_t i = 1; i < (size_t)n; i++)
		if (strcmp(names[i], names[out - 1]))
			memcpy(names[out++], names[i], sizeof(names[0]));
	return (int)out;
}

int dom_store_load_active(const struct net_state *st, const char *name, struct domdef *d)
{
	char p[PATH_MAX];
	struct dom_status s;
	if (dom_store_exists(st, name) || dom_store_status(st, name, &s) ||
	    (s.state != DOM_RUNNING && s.state != DOM_PAUSED) ||
	    net_state_path(st, p, sizeof(p), "domains/run", name, ".xml") ||
	    access(p, F_OK) < 0)
		return dom_store_load(st, name, d);
	return parse_stored(p, d);
}

bool dom_store_autostart(const struct net_state *st, const char *name)
{
	char p[PATH_MAX];
	return domdef_name_ok(name) &&
	       !net_state_path(st, p, sizeof(p), "domains/autostart", name, NULL) &&
	       access(p, F_OK) == 0;
}

int dom_store_set_autostart(const struct net_state *st, const char *name, bool on)
{
	char p[PATH_MAX];
	int r = domdef_name_ok(name)
		    ? net_state_path(st, p, sizeof(p), "domains/autostart", name, NULL)
		    : -EINVAL;
	if (r)
		return r;
	if (on)
		return net_write_atomic(p, "", 0);
	return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
}

int dom_store_status(const struct net_state *st, const char *name, struct dom_status *s)
{
	if (!domdef_name_ok(name))
		return -EINVAL;
	int r = dom_run_status(st, name, s);
	s->transient = !r && s->id >= 0 && !dom_store_exists(st, name);
	return r;
}

const char *dom_state_word(enum dom_run_state s)
{
	static const char *const words[] = {"no state",	   "running",  "idle",	  "paused",
					    "in shutdown", "shut off", "crashed", "pmsuspended"};
	return (unsigned)s < sizeof(words) / sizeof(words[0]) ? words[s] : "no state";
}
