/* The one XML layer of minivmm (network and domain definitions), on libxml2.
 *
 * A document is read into a small tree of elements, attributes and text.
 * Hostile input is refused rather than interpreted: no DOCTYPE (so no DTD,
 * entity declarations or external entities), no CDATA, no network access,
 * at most XML_MAX_SIZE bytes and XML_MAX_DEPTH levels of elements. Errors are
 * logged once as "SRC:LINE: what is wrong". The tree can be edited and
 * written back (xml_format), which is how generated values are stored. */
#ifndef MINIVMM_XML_XML_H
#define MINIVMM_XML_XML_H

#include <stddef.h>

#define XML_MAX_SIZE (1u << 20)
#define XML_MAX_DEPTH 32

struct xml_attr {
	char *name; /* "prefix:name" for a namespaced attribute; "xmlns:p" declarations too */
	char *value;
};

struct xml_node {
	char *name; /* "prefix:name" for a namespaced element */
	unsigned line;
	struct xml_attr *attrs;
	size_t nattrs;
	struct xml_node **kids;
	size_t nkids;
	char *text; /* character data directly inside, "" if none */
};

/* Parse BUF (LEN bytes, need not be NUL-terminated). SRC names the input in
 * error messages ("vbr.xml:3: ..."). Returns 0 and the root element, or
 * -EINVAL (-ENOMEM) after logging the error. */
int xml_parse(const char *buf, size_t len, const char *src, struct xml_node **root);
/* Read PATH whole (at most XML_MAX_SIZE bytes) into a malloc'd, NUL-terminated
 * buffer. -errno (-EFBIG when too large), logged with WHO as prefix. */
int xml_read_file(const char *who, const char *path, char **buf, size_t *len);
void xml_free(struct xml_node *n);

/* The value of attribute NAME, or NULL. */
const char *xml_attr(const struct xml_node *n, const char *name);
/* The first child element called NAME, or NULL. */
struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* TEXT without leading and trailing white space, in BUF (SIZE bytes);
 * -ENAMETOOLONG when it does not fit. */
int xml_text_trim(const struct xml_node *n, char *buf, size_t size);

/* Editing: a new element NAME with TEXT (NULL: none); NULL when out of memory. */
struct xml_node *xml_new(const char *name, const char *text);
/* Set (add or replace) attribute NAME; set the text. 0 or -ENOMEM. */
int xml_set_attr(struct xml_node *n, const char *name, const char *value);
int xml_set_text(struct xml_node *n, const char *text);
/* Insert KID as child number AT (clamped to nkids); on success PARENT owns it. */
int xml_insert(struct xml_node *parent, size_t at, struct xml_node *kid);
/* Remove and free child number AT. */
void xml_remove(struct xml_node *parent, size_t at);

/* The tree as an XML document, indented by two spaces per level as libvirt
 * writes it, with a trailing newline (malloc'd). 0 or -ENOMEM. */
int xml_format(const struct xml_node *root, char **out);

#endif
