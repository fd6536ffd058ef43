/* libxml2 reads the document (with DOCTYPE, CDATA and deep nesting refused
 * from its SAX callbacks, before anything is expanded); the result is copied
 * into the small tree of xml.h so callers never see libxml2 types. */
#include "xml/xml.h"

#include "vmm/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* What one parse has seen; reached through ctxt->_private. */
struct parse {
	const char *src;
	char msg[256]; /* the first error, "" while there is none */
	unsigned line;
	int depth;
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
};

static void note(struct parse *p, unsigned line, const char *what)
{
	if (p->msg[0])
		return; /* the first error is the one that explains the rest */
	snprintf(p->msg, sizeof(p->msg), "%s", what);
	p->line = line;
}

static void refuse(void *ctx, const char *what)
{
	xmlParserCtxtPtr c = ctx;
	note(c->_private, (unsigned)xmlSAX2GetLineNumber(c), what);
	xmlStopParser(c);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	(void)name, (void)ext, (void)sys;
	refuse(ctx, "DOCTYPE and CDATA are not supported");
}

static void on_cdata(void *ctx, const xmlChar *v, int len)
{
	(void)v, (void)len;
	refuse(ctx, "DOCTYPE and CDATA are not supported");
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
		     int nns, const xmlChar **ns, int nattrs, int ndef, const xmlChar **attrs)
{
	xmlParserCtxtPtr c = ctx;
	struct parse *p = c->_private;
	if (++p->depth > XML_MAX_DEPTH) {
		refuse(ctx, "elements nested too deeply");
		return;
	}
	p->start(ctx, local, prefix, uri, nns, ns, nattrs, ndef, attrs);
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr c = ctx;
	struct parse *p = c->_private;
	p->depth--;
	p->end(ctx, local, prefix, uri);
}

/* libxml2's error codes in the words minivmm has always used; libxml2's own
 * message follows in parentheses. */
static const char *phrase(int code)
{
	switch (code) {
	case XML_ERR_DOCUMENT_EMPTY:
		return "no root element";
	case XML_ERR_DOCUMENT_END:
		return "content after the root element";
	case XML_ERR_TAG_NAME_MISMATCH:
		return "mismatched closing tag";
	case XML_ERR_TAG_NOT_FINISHED:
		return "unexpected end of input: element not closed";
	case XML_ERR_ATTRIBUTE_REDEFINED:
		return "duplicate attribute";
	case XML_ERR_UNDECLARED_ENTITY:
	case XML_WAR_UNDECLARED_ENTITY:
		return "unknown entity";
	case XML_ERR_LT_IN_ATTRIBUTE:
		return "'<' or NUL in attribute value";
	case XML_ERR_ATTRIBUTE_NOT_STARTED:
		return "attribute value must be quoted";
	case XML_ERR_ATTRIBUTE_NOT_FINISHED:
		return "unterminated attribute value";
	case XML_ERR_ATTRIBUTE_WITHOUT_VALUE:
		return "expected '=' after attribute name";
	case XML_ERR_SPACE_REQUIRED:
		return "expected whitespace, '>' or '/>' in a start tag";
	case XML_ERR_COMMENT_NOT_FINISHED:
		return "unterminated comment";
	case XML_ERR_NAME_REQUIRED:
		return "expected a name";
	case XML_ERR_GT_REQUIRED:
		return "expected '>'";
	case XML_ERR_INVALID_HEX_CHARREF:
	case XML_ERR_INVALID_DEC_CHARREF:
	case XML_ERR_INVALID_CHARREF:
		return "bad character reference";
	case XML_ERR_INVALID_CHAR:
	case XML_ERR_INVALID_ENCODING:
		return "invalid character (the file must be UTF-8)";
	default:
		return NULL;
	}
}

static void on_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr c = ctx;
	char what[256], m[160];
	if (!c || !c->_private || e->level == XML_ERR_WARNING)
		return;
	snprintf(m, sizeof(m), "%s", e->message ? e->message : "");
	m[strcspn(m, "\n")] = '\0';
	const char *ph = strstr(m, "CharRef") ? "bad character reference" : phrase(e->code);
	if (ph)
		snprintf(what, sizeof(what), "%s (%s)", ph, m);
	else
		snprintf(what, sizeof(what), "%s", m[0] ? m : "malformed XML");
	note(c->_private, e->line > 0 ? (unsigned)e->line : 1, what);
}

static char *dup_name(const xmlChar *prefix, const xmlChar *name)
{
	char *s;
	if (prefix)
		return asprintf(&s, "%s:%s", prefix, name) < 0 ? NULL : s;
	return strdup((const char *)name);
}

static int add_attr_raw(struct xml_node *n, char *name, char *value)
{
	struct xml_attr *a = realloc(n->attrs, (n->nattrs + 1) * sizeof(*a));
	if (!name || !value || !a) {
		free(name);
		free(value);
		if (a)
			n->attrs = a;
		return -ENOMEM;
	}
	n->attrs = a;
	a[n->nattrs++] = (struct xml_attr){name, value};
	return 0;
}

static int append_text(struct xml_node *n, const char *t)
{
	size_t a = strlen(n->text), b = strlen(t);
	char *m = realloc(n->text, a + b + 1);
	if (!m)
		return -ENOMEM;
	memcpy(m + a, t, b + 1);
	n->text = m;
	return 0;
}

static struct xml_node *copy_tree(xmlNodePtr x)
{
	struct xml_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = dup_name(x->ns ? x->ns->prefix : NULL, x->name);
	n->text = calloc(1, 1);
	n->line = (unsigned)xmlGetLineNo(x);
	bool ok = n->name && n->text;
	for (xmlNsPtr ns = x->nsDef; ok && ns; ns = ns->next) {
		char *an = dup_name(ns->prefix ? (const xmlChar *)"xmlns" : NULL,
				    ns->prefix ? ns->prefix : (const xmlChar *)"xmlns");
		ok =
		    !add_attr_raw(n, an, strdup((const char *)(ns->href ? ns->href : BAD_CAST "")));
	}
	for (xmlAttrPtr a = x->properties; ok && a; a = a->next) {
		xmlChar *v = xmlNodeListGetString(x->doc, a->children, 1);
		ok = !add_attr_raw(n, dup_name(a->ns ? a->ns->prefix : NULL, a->name),
				   strdup(v ? (const char *)v : ""));
		xmlFree(v);
	}
	for (xmlNodePtr k = x->children; ok && k; k = k->next) {
		if (k->type == XML_ELEMENT_NODE) {
			struct xml_node *kid = copy_tree(k);
			ok = kid && !xml_insert(n, n->nkids, kid);
			if (!ok)
				xml_free(kid);
		} else if (k->type == XML_TEXT_NODE && k->content) {
			ok = !append_text(n, (const char *)k->content);
		}
	}
	if (!ok) {
		xml_free(n);
		return NULL;
	}
	return n;
}

static xmlDocPtr read_doc(xmlParserCtxtPtr c, struct parse *p, const char *buf, size_t len)
{
	/* No entity substitution, no DTD loading or attribute defaults, no
	 * network; errors come to on_error only. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			 XML_PARSE_BIG_LINES | XML_PARSE_NOXINCNODE;
	p->start = c->sax->startElementNs;
	p->end = c->sax->endElementNs;
	c->sax->startElementNs = on_start;
	c->sax->endElementNs = on_end;
	c->sax->internalSubset = on_doctype;
	c->sax->externalSubset = on_doctype;
	c->sax->cdataBlock = on_cdata;
	c->sax->serror = on_error;
	c->_private = p;
	return xmlCtxtReadMemory(c, buf, (int)len, NULL, "UTF-8", opts);
}

int xml_parse(const char *buf, size_t len, const char *src, struct xml_node **root)
{
	struct parse p = {.src = src};

	*root = NULL;
	if (len > XML_MAX_SIZE) {
		log_error("%s: file too large (%zu bytes, at most %u)", src, len, XML_MAX_SIZE);
		return -EINVAL;
	}
	if (len == 0) {
		log_error("%s:1: no root element", src);
		return -EINVAL;
	}
	xmlParserCtxtPtr c = xmlNewParserCtxt();
	if (!c) {
		log_error("%s: out of memory", src);
		return -ENOMEM;
	}
	xmlDocPtr doc = read_doc(c, &p, buf, len);
	if (!p.msg[0] && (!doc || !c->wellFormed))
		note(&p, 1, "malformed XML");
	if (!p.msg[0] && !xmlDocGetRootElement(doc))
		note(&p, 1, "no root element");
	int r = 0;
	if (p.msg[0]) {
		log_error("%s:%u: %s", src, p.line, p.msg);
		r = -EINVAL;
	} else if (!(*root = copy_tree(xmlDocGetRootElement(doc)))) {
		log_error("%s: out of memory", src);
		r = -ENOMEM;
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(c);
	return r;
}

int xml_read_file(const char *who, const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		log_error("%s: %s: %s", who, path, strerror(e));
		return -e;
	}
	struct stat st;
	/* fread on a directory fails with EISDIR, which ferror() cannot tell;
	 * pipes (/dev/stdin, <(...)) are read as files. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		log_error("%s: %s: is a directory", who, path);
		return -EISDIR;
	}
	char *b = malloc(XML_MAX_SIZE + 2);
	size_t n = b ? fread(b, 1, XML_MAX_SIZE + 1, f) : 0;
	int err = ferror(f);
	fclose(f);
	if (!b || err || n > XML_MAX_SIZE) {
		free(b);
		int e = !b ? ENOMEM : err ? EIO : EFBIG;
		log_error("%s: %s: %s", who, path,
			  e == EFBIG ? "file too large (at most 1 MiB)" : strerror(e));
		return -e;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

void xml_free(struct xml_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nattrs; i++) {
		free(n->attrs[i].name);
		free(n->attrs[i].value);
	}
	for (size_t i = 0; i < n->nkids; i++)
		xml_free(n->kids[i]);
	free(n->attrs);
	free(n->kids);
	free(n->text);
	free(n->name);
	free(n);
}

const char *xml_attr(const struct xml_node *n, const char *name)
{
	for (size_t i = 0; i < n->nattrs; i++)
		if (!strcmp(n->attrs[i].name, name))
			return n->attrs[i].value;
	return NULL;
}

struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i]->name, name))
			return n->kids[i];
	return NULL;
}

int xml_text_trim(const struct xml_node *n, char *buf, size_t size)
{
	const char *t = n->text + strspn(n->text, " \t\r\n");
	size_t len = strlen(t);
	while (len && strchr(" \t\r\n", t[len - 1]))
		len--;
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, t, len);
	buf[len] = '\0';
	return 0;
}

struct xml_node *xml_new(const char *name, const char *text)
{
	struct xml_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	n->text = strdup(text ? text : "");
	if (!n->name || !n->text) {
		xml_free(n);
		return NULL;
	}
	return n;
}

int xml_set_attr(struct xml_node *n, const char *name, const char *value)
{
	for (size_t i = 0; i < n->nattrs; i++) {
		if (strcmp(n->attrs[i].name, name))
			continue;
		char *v = strdup(value);
		if (!v)
			return -ENOMEM;
		free(n->attrs[i].value);
		n->attrs[i].value = v;
		return 0;
	}
	return add_attr_raw(n, strdup(name), strdup(value));
}

int xml_set_text(struct xml_node *n, const char *text)
{
	char *t = strdup(text);
	if (!t)
		return -ENOMEM;
	free(n->text);
	n->text = t;
	return 0;
}

int xml_insert(struct xml_node *parent, size_t at, struct xml_node *kid)
{
	struct xml_node **k = realloc(parent->kids, (parent->nkids + 1) * sizeof(*k));
	if (!k)
		return -ENOMEM;
	parent->kids = k;
	if (at > parent->nkids)
		at = parent->nkids;
	memmove(k + at + 1, k + at, (parent->nkids - at) * sizeof(*k));
	k[at] = kid;
	parent->nkids++;
	return 0;
}

void xml_remove(struct xml_node *parent, size_t at)
{
	if (at >= parent->nkids)
		return;
	xml_free(parent->kids[at]);
	memmove(parent->kids + at, parent->kids + at + 1,
		(parent->nkids - at - 1) * sizeof(*parent->kids));
	parent->nkids--;
}

static void put_escaped(FILE *f, const char *s, bool attr)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '\'':
			fputs(attr ? "&apos;" : "'", f);
			break;
		case '"':
			fputs(attr ? "&quot;" : "\"", f);
			break;
		/* A parser normalises a raw LF/CR/tab in an attribute to a space
		 * and a CR anywhere to LF: character references survive. */
		case '\n':
			fputs(attr ? "&#10;" : "\n", f);
			break;
		case '\t':
			fputs(attr ? "&#9;" : "\t", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void format_node(FILE *f, const struct xml_node *n, int depth)
{
	bool blank = n->text[strspn(n->text, " \t\r\n")] == '\0';
	fprintf(f, "%*s<%s", 2 * depth, "", n->name);
	for (size_t i = 0; i < n->nattrs; i++) {
		fprintf(f, " %s='", n->attrs[i].name);
		put_escaped(f, n->attrs[i].value, true);
		fputc('\'', f);
	}
	if (!n->nkids && blank) {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	if (!n->nkids) {
		put_escaped(f, n->text, false);
	} else {
		fputc('\n', f);
		if (!blank) { /* mixed content is not libvirt's: keep the words, trimmed */
			const char *t = n->text + strspn(n->text, " \t\r\n");
			size_t len = strlen(t);
			while (len && strchr(" \t\r\n", t[len - 1]))
				len--;
			char *words = strndup(t, len);
			fprintf(f, "%*s", 2 * depth + 2, "");
			put_escaped(f, words ? words : "", false);
			fputc('\n', f);
			free(words);
		}
		for (size_t i = 0; i < n->nkids; i++)
			format_node(f, n->kids[i], depth + 1);
		fprintf(f, "%*s", 2 * depth, "");
	}
	fprintf(f, "</%s>\n", n->name);
}

int xml_format(const struct xml_node *root, char **out)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	format_node(f, root, 0);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
