/* A small XML reader for network definitions: elements, attributes, text,
 * comments, the <?xml?> declaration and the five predefined entities plus
 * character references. No DTDs, CDATA, namespaces or encodings other than
 * UTF-8/ASCII: those are rejected with the line they are on. */
#ifndef MINIVMM_NET_XML_H
#define MINIVMM_NET_XML_H

#include <stddef.h>

#define XML_MAX_SIZE (1u << 20)
#define XML_MAX_DEPTH 32

struct xml_attr {
	char *name;
	char *value;
};

struct xml_node {
	char *name;
	unsigned line;
	struct xml_attr *attrs;
	size_t nattrs;
	struct xml_node **kids;
	size_t nkids;
	char *text; /* character data directly inside, "" if none */
};

/* Parse BUF (LEN bytes). SRC names the input in error messages
 * ("net: vbr.xml:3: ..."). Returns 0 and the root element, or -EINVAL. */
int xml_parse(const char *buf, size_t len, const char *src, struct xml_node **root);
void xml_free(struct xml_node *n);
/* The value of attribute NAME, or NULL. */
const char *xml_attr(const struct xml_node *n, const char *name);

#endif
