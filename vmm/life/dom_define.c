/* define's uniqueness rules and `edit`; see dom_define.h. */
#include "vmm/life/dom_define.h"

#include "vmm/life/dom_store.h"
#include "vmm/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* D redefines OLD from a document without uuid: keep what was generated. */
static int adopt(struct domdef *d, const struct domdef *old)
{
	int r = domdef_set_uuid(d, old->uuid);
	for (unsigned i = 0; !r && i < d->nnics && i < old->nnics; i++)
		if (d->nics[i].mac_generated)
			r = domdef_set_mac(d, i, old->nics[i].mac);
	return r;
}

int dom_define(const struct net_state *st, struct domdef *d)
{
	static char names[DOM_NAMES_MAX][DOM_NAME_MAX + 1];
	int n = dom_store_list(st, names, DOM_NAMES_MAX);
	if (n < 0) {
		log_error("domain: listing %s/domains: %s", st->dir, strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct domdef old;
		if (dom_store_load(st, names[i], &old))
			continue; /* a damaged definition holds no name or uuid */
		bool same_name = !strcmp(old.name, d->name), same_uuid = !strcmp(old.uuid, d->uuid);
		int r = 0;
		if (same_name && !same_uuid && d->uuid_generated)
			r = adopt(d, &old), same_uuid = true;
		if (!r && same_name != same_uuid) {
			log_error("domain '%s' already exists with uuid %s", old.name, old.uuid);
			r = -EEXIST;
		}
		domdef_free(&old);
		if (r)
			return r;
	}
	return dom_store_save(st, d);
}

static int run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	/* As virsh: the variable may carry arguments ("vim -n"); the path is
	 * quoted for the shell. */
	char *cmd = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&cmd, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s '", ed);
	for (const char *p = path; *p; p++)
		*p == '\'' ? fputs("'\\''", f) : fputc(*p, f);
	fputc('\'', f);
	if (fclose(f)) {
		free(cmd);
		return -ENOMEM;
	}
	int st = system(cmd);
	free(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		log_error("edit: the editor '%s' failed (status %d)", ed,
			  st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -EIO;
	}
	return 0;
}

static bool ask_again(void)
{
	char line[16];
	for (;;) {
		fputs("Failed. Try again? [y,n,?]: ", stdout);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return false;
		if (line[0] == 'y' || line[0] == 'Y')
			return true;
		if (line[0] == 'n' || line[0] == 'N')
			return false;
		fputs("y - open the editor again\nn - do not define the domain\n? - this help\n",
		      stdout);
	}
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	return write(fd, s, len) == (ssize_t)len ? 0 : -EIO;
}

static int save_edited(const struct net_state *st, const char *name, const char *path,
		       const char *before, bool quiet, bool *again)
{
	char *buf;
	size_t len;
	struct domdef d;
	int r = xml_read_file("edit", path, &buf, &len);
	*again = false;
	if (r)
		return r;
	if (!strcmp(buf, before)) {
		free(buf);
		if (!quiet)
			printf("Domain '%s' XML configuration not changed.\n", name);
		return 1;
	}
	r = domdef_from_xml(buf, len, path, &d);
	free(buf);
	if (!r) {
		struct net_state w;
		r = dom_store_open(&w, st->dir, true);
		if (!r) {
			r = dom_define(&w, &d);
			net_state_close(&w);
		}
		if (!r && !quiet)
			printf("Domain '%s' XML configuration edited.\n", d.name);
		domdef_free(&d);
	}
	if (r && r != -ENOMEM)
		*again = ask_again();
	return r;
}

int dom_edit(const struct net_state *st, const char *name, bool quiet)
{
	struct domdef d;
	char *xml = NULL, path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(path, sizeof(path), "%s/minivmm-%sXXXXXX.xml", tmp && *tmp ? tmp : "/tmp",
			 name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	int r = dom_store_load(st, name, &d);
	if (r)
		return r;
	r = domdef_to_xml(&d, &xml);
	domdef_free(&d);
	if (r)
		return r;
	int fd = mkstemps(path, 4);
	if (fd < 0 || write_all(fd, xml) || close(fd)) {
		r = -errno;
		if (fd >= 0)
			unlink(path);
		log_error("edit: %s: %s", path, strerror(errno));
		free(xml);
		return r ? r : -EIO;
	}
	bool again;
	do {
		r = run_editor(path);
		if (!r)
			r = save_edited(st, name, path, xml, quiet, &again);
	} while (r < 0 && r != -EIO && again);
	unlink(path);
	free(xml);
	return r < 0 ? r : 0;
}
