/* Recursive-descent XML reader; see xml.h for the subset. */
#include "net/xml.h"

#include "vmm/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const char *p, *end;
	const char *src;
	unsigned line;
	bool failed;
};

static int fail(struct rd *r, const char *what)
{
	if (!r->failed)
		log_error("net: %s:%u: %s", r->src, r->line, what);
	r->failed = true;
	return -EINVAL;
}

static bool at(const struct rd *r, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(r->end - r->p) >= n && !memcmp(r->p, s, n);
}

static void adv(struct rd *r, size_t n)
{
	for (size_t i = 0; i < n && r->p < r->end; i++, r->p++)
		if (*r->p == '\n')
			r->line++;
}

static void skip_ws(struct rd *r)
{
	while (r->p < r->end && strchr(" \t\r\n", *r->p) && *r->p)
		adv(r, 1);
}

/* Skip past the terminator TERM; error if it never comes. */
static int skip_past(struct rd *r, const char *term, const char *what)
{
	size_t n = strlen(term);
	while (r->p < r->end && !at(r, term))
		adv(r, 1);
	if (r->p >= r->end)
		return fail(r, what);
	adv(r, n);
	return 0;
}

/* Comments, the XML declaration and whitespace between elements. */
static int skip_misc(struct rd *r)
{
	for (;;) {
		skip_ws(r);
		if (at(r, "<!--")) {
			if (skip_past(r, "-->", "unterminated comment"))
				return -EINVAL;
		} else if (at(r, "<?")) {
			if (skip_past(r, "?>", "unterminated <? ?>"))
				return -EINVAL;
		} else if (at(r, "<!")) {
			return fail(r, "DOCTYPE and CDATA are not supported");
		} else {
			return 0;
		}
	}
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':')
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static char *read_name(struct rd *r)
{
	const char *s = r->p;
	while (r->p < r->end && name_char(*r->p, r->p == s))
		r->p++;
	if (r->p == s) {
		fail(r, "expected a name");
		return NULL;
	}
	char *n = strndup(s, (size_t)(r->p - s));
	if (!n)
		fail(r, "out of memory");
	return n;
}

/* Decode one entity at r->p ('&'); append to OUT at *n. */
static int entity(struct rd *r, char *out, size_t *n)
{
	static const struct {
		const char *e;
		char c;
	} ents[] = {
	    {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
	};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if (at(r, ents[i].e)) {
			out[(*n)++] = ents[i].c;
			adv(r, strlen(ents[i].e));
			return 0;
		}
	}
	if (at(r, "&#")) {
		/* Digits parsed by hand: the input need not be NUL-terminated. */
		const char *q = r->p + 2;
		bool hex = q < r->end && *q == 'x';
		long v = 0;
		int digits = 0;
		for (q += hex; q < r->end && *q != ';' && digits < 8; q++, digits++) {
			int d = (*q >= '0' && *q <= '9')		      ? *q - '0'
				: hex && (*q | 32) >= 'a' && (*q | 32) <= 'f' ? (*q | 32) - 'a' + 10
									      : -1;
			if (d < 0)
				break;
			v = v * (hex ? 16 : 10) + d;
		}
		if (q >= r->end || *q != ';' || digits == 0 || v <= 0 || v > 127)
			return fail(r, "bad or non-ASCII character reference");
		out[(*n)++] = (char)v;
		adv(r, (size_t)(q + 1 - r->p));
		return 0;
	}
	return fail(r, "unknown entity");
}

/* Read characters until STOP (a quote, or '<'); decode entities. */
static char *read_chars(struct rd *r, char stop)
{
	const char *s = r->p;
	while (r->p < r->end && *r->p != stop)
		r->p++;
	size_t max = (size_t)(r->p - s);
	r->p = s;
	char *out = malloc(max + 1);
	size_t n = 0;
	if (!out) {
		fail(r, "out of memory");
		return NULL;
	}
	while (r->p < r->end && *r->p != stop) {
		if (*r->p == '&') {
			if (entity(r, out, &n)) {
				free(out);
				return NULL;
			}
		} else if (*r->p == '<' || *r->p == '\0') {
			free(out);
			fail(r, "'<' or NUL in attribute value");
			return NULL;
		} else {
			out[n++] = *r->p;
			adv(r, 1);
		}
	}
	out[n] = '\0';
	return out;
}

static int add_attr(struct rd *r, struct xml_node *n)
{
	char *name = read_name(r);
	if (!name)
		return -EINVAL;
	if (xml_attr(n, name)) {
		free(name);
		return fail(r, "duplicate attribute");
	}
	struct xml_attr *a = realloc(n->attrs, (n->nattrs + 1) * sizeof(*a));
	if (!a) {
		free(name);
		return fail(r, "out of memory");
	}
	n->attrs = a;
	a[n->nattrs].name = name;
	a[n->nattrs].value = NULL;
	n->nattrs++;
	skip_ws(r);
	if (!at(r, "="))
		return fail(r, "expected '=' after attribute name");
	adv(r, 1);
	skip_ws(r);
	if (r->p >= r->end || (*r->p != '"' && *r->p != '\''))
		return fail(r, "attribute value must be quoted");
	char q = *r->p;
	adv(r, 1);
	a[n->nattrs - 1].value = read_chars(r, q);
	if (!a[n->nattrs - 1].value)
		return -EINVAL;
	if (r->p >= r->end)
		return fail(r, "unterminated attribute value");
	adv(r, 1);
	return 0;
}

static int parse_element(struct rd *r, struct xml_node **out, int depth);

static int add_kid(struct rd *r, struct xml_node *n, int depth)
{
	struct xml_node *kid = NULL;
	int e = parse_element(r, &kid, depth + 1);
	if (e) {
		xml_free(kid);
		return e;
	}
	struct xml_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));
	if (!k) {
		xml_free(kid);
		return fail(r, "out of memory");
	}
	n->kids = k;
	k[n->nkids++] = kid;
	return 0;
}

static int append_text(struct rd *r, struct xml_node *n)
{
	char *t = read_chars(r, '<');
	if (!t)
		return -EINVAL;
	size_t a = strlen(n->text), b = strlen(t);
	char *m = realloc(n->text, a + b + 1);
	if (!m) {
		free(t);
		return fail(r, "out of memory");
	}
	memcpy(m + a, t, b + 1);
	n->text = m;
	free(t);
	return 0;
}

static int parse_content(struct rd *r, struct xml_node *n, int depth)
{
	for (;;) {
		if (r->p >= r->end)
			return fail(r, "unexpected end of input: element not closed");
		if (at(r, "<!--")) {
			if (skip_past(r, "-->", "unterminated comment"))
				return -EINVAL;
		} else if (at(r, "</")) {
			adv(r, 2);
			char *name = read_name(r);
			if (!name)
				return -EINVAL;
			bool same = !strcmp(name, n->name);
			free(name);
			skip_ws(r);
			if (!same || !at(r, ">"))
				return fail(r, "mismatched closing tag");
			adv(r, 1);
			return 0;
		} else if (at(r, "<!") || at(r, "<?")) {
			return fail(r, "CDATA and processing instructions are not supported");
		} else if (at(r, "<")) {
			if (add_kid(r, n, depth))
				return -EINVAL;
		} else if (append_text(r, n)) {
			return -EINVAL;
		}
	}
}

static int parse_element(struct rd *r, struct xml_node **out, int depth)
{
	if (depth > XML_MAX_DEPTH)
		return fail(r, "elements nested too deeply");
	if (!at(r, "<"))
		return fail(r, "expected an element");
	struct xml_node *n = calloc(1, sizeof(*n));
	if (!n)
		return fail(r, "out of memory");
	*out = n;
	n->line = r->line;
	n->text = calloc(1, 1);
	adv(r, 1);
	n->name = read_name(r);
	if (!n->text || !n->name)
		return fail(r, "bad element");
	for (;;) {
		bool ws = r->p < r->end && strchr(" \t\r\n", *r->p) && *r->p;
		skip_ws(r);
		if (at(r, "/>")) {
			adv(r, 2);
			return 0;
		}
		if (at(r, ">")) {
			adv(r, 1);
			return parse_content(r, n, depth);
		}
		if (!ws)
			return fail(r, "expected whitespace, '>' or '/>' in a start tag");
		if (add_attr(r, n))
			return -EINVAL;
	}
}

int xml_parse(const char *buf, size_t len, const char *src, struct xml_node **root)
{
	struct rd r = {.p = buf, .end = buf + len, .src = src, .line = 1};

	*root = NULL;
	if (len > XML_MAX_SIZE)
		return fail(&r, "file too large");
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		r.p += 3;
	if (skip_misc(&r))
		return -EINVAL;
	if (r.p >= r.end)
		return fail(&r, "no root element");
	if (parse_element(&r, root, 0) || skip_misc(&r) ||
	    (r.p < r.end && fail(&r, "content after the root element"))) {
		xml_free(*root);
		*root = NULL;
		return -EINVAL;
	}
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
