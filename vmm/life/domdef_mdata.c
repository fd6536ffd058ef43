/* minivmm's own element in a domain's <metadata> (issue 12): what the
 * network's metadata service hands the guest.
 *
 *   <metadata>
 *     <minivmm:instance xmlns:minivmm='https://minivmm.dev/xmlns/domain/1'>
 *       <minivmm:hostname>web1</minivmm:hostname>
 *       <minivmm:ssh-key file='/home/t/.ssh/id_ed25519.pub'/>
 *       <minivmm:user-data file='/srv/lab/web1.sh'/>
 *     </minivmm:instance>
 *   </metadata>
 *
 * Found by its namespace URI (any prefix, or a default xmlns=), as libvirt
 * keeps applications' metadata; everything else in <metadata> is kept as
 * it is, unread. The files are absolute paths, read when the VM starts (as
 * disk sources are). */
#include "vmm/life/domdef_internal.h"

#include "net/mdata_record.h"
#include "vmm/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The namespace URI declared for N's prefix (PFX, PLEN bytes; 0: the
 * default namespace) on N or its parent or grandparent (metadata, domain). */
static const char *ns_of(const struct xml_node *const *chain, int depth, const char *pfx,
			 size_t plen)
{
	char attr[80];
	if (plen >= sizeof(attr) - 7)
		return NULL;
	snprintf(attr, sizeof(attr), plen ? "xmlns:%.*s" : "xmlns", (int)plen, pfx);
	for (int i = 0; i < depth; i++) {
		const char *v = xml_attr(chain[i], attr);
		if (v)
			return v;
	}
	return NULL;
}

/* N's local name when its namespace is minivmm's, else NULL. */
static const char *ours(const struct xml_node *const *chain, int depth)
{
	const char *name = chain[0]->name, *colon = strchr(name, ':');
	size_t plen = colon ? (size_t)(colon - name) : 0;
	const char *uri = ns_of(chain, depth, name, plen);
	return uri && !strcmp(uri, DOM_MDATA_NS) ? (colon ? colon + 1 : name) : NULL;
}

static int set_path(struct dom_ctx *c, struct xml_node *n, const char *local, char **out)
{
	static const char *const attrs[] = {"file", NULL};
	const char *f = xml_attr(n, "file");
	dom_attrs(c, n, attrs);
	if (*out)
		return dom_fail(c, n, "only one <%s> in minivmm's <instance>", local);
	if (!f || f[0] != '/' || strlen(f) >= PATH_MAX || n->nkids)
		return dom_fail(c, n, "<%s>: needs file='/absolute/path' (read when the VM starts)",
				n->name);
	return (*out = strdup(f)) ? 0 : -ENOMEM;
}

static int set_hostname(struct dom_ctx *c, struct xml_node *n)
{
	char t[MDATA_ID_MAX + 1];
	if (c->d->hostname)
		return dom_fail(c, n, "only one <hostname> in minivmm's <instance>");
	if (n->nkids || xml_text_trim(n, t, sizeof(t)) || !mdata_hostname_ok(t))
		return dom_fail(c, n, "<%s>%.70s</%s>: want a host name, 1..63 of [0-9A-Za-z.-], "
				"labels between dots not empty and not starting or ending with '-'",
				n->name, n->text, n->name);
	return (c->d->hostname = strdup(t)) ? 0 : -ENOMEM;
}

static int read_instance(struct dom_ctx *c, const struct xml_node *const *chain)
{
	const struct xml_node *inst = chain[0];
	if (inst->text[strspn(inst->text, " \t\r\n")])
		return dom_fail(c, inst, "text inside <%s> is not expected", inst->name);
	for (size_t i = 0; i < inst->nkids; i++) {
		struct xml_node *k = inst->kids[i];
		const struct xml_node *kc[4] = {k, chain[0], chain[1], chain[2]};
		const char *local = ours(kc, 4);
		int r;
		if (local && !strcmp(local, "hostname"))
			r = set_hostname(c, k);
		else if (local && !strcmp(local, "ssh-key"))
			r = set_path(c, k, local, &c->d->ssh_key_file);
		else if (local && !strcmp(local, "user-data"))
			r = set_path(c, k, local, &c->d->user_data_file);
		else
			r = dom_fail(c, k, "<%s> in minivmm's <instance> is not supported (hostname, "
				     "ssh-key, user-data)", k->name);
		if (r)
			return r;
	}
	return 0;
}

int dom_read_metadata(struct dom_ctx *c, struct xml_node *n)
{
	const struct xml_node *root = c->d->xml;
	bool seen = false;
	for (size_t i = 0; i < n->nkids; i++) {
		const struct xml_node *chain[3] = {n->kids[i], n, root};
		const char *local = ours(chain, 3);
		if (!local)
			continue;	/* another application's: kept, unread */
		if (strcmp(local, "instance"))
			return dom_fail(c, n->kids[i], "<%s>: minivmm's metadata element is "
					"<instance>", n->kids[i]->name);
		if (seen)
			return dom_fail(c, n->kids[i], "only one minivmm <instance> in <metadata>");
		seen = true;
		if (read_instance(c, chain))
			return -EINVAL;
	}
	return 0;
}

static void put_attr_esc(FILE *f, const char *s)
{
	for (; *s; s++)
		if (*s == '&' || *s == '<' || *s == '>' || *s == '\'')
			fprintf(f, "&#%d;", *s);
		else
			fputc(*s, f);
}

/* One --ssh-key/--user-data FILE: its real path (a definition is started
 * from anywhere). */
static int put_file(FILE *f, const char *flag, const char *path, const char *elem)
{
	char real[PATH_MAX];
	if (!path)
		return 0;
	if (!realpath(path, real)) {
		int e = errno;
		log_error("%s %s: %s", flag, path, strerror(e));
		return -e;
	}
	fprintf(f, "      <minivmm:%s file='", elem);
	put_attr_esc(f, real);
	fputs("'/>\n", f);
	return 0;
}

int dom_flags_metadata(FILE *f, const char *hostname, const char *ssh_key, const char *user_data)
{
	const struct mdata_files md = {.hostname = hostname, .ssh_key_path = ssh_key,
				       .user_data_path = user_data};
	if (!hostname && !ssh_key && !user_data)
		return 0;
	if (mdata_files_check(&md) < 0)	/* errors name the flag and the value */
		return -EINVAL;
	fprintf(f, "  <metadata>\n    <minivmm:instance xmlns:minivmm='%s'>\n", DOM_MDATA_NS);
	if (hostname)	/* checked: nothing to escape */
		fprintf(f, "      <minivmm:hostname>%s</minivmm:hostname>\n", hostname);
	int r = put_file(f, "--ssh-key", ssh_key, "ssh-key");
	if (!r)
		r = put_file(f, "--user-data", user_data, "user-data");
	fputs("    </minivmm:instance>\n  </metadata>\n", f);
	return r;
}
