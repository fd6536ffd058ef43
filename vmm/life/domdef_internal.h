/* Shared by the domain XML reader's files (domdef*.c); not for callers. */
#ifndef MINIVMM_VMM_LIFE_DOMDEF_INTERNAL_H
#define MINIVMM_VMM_LIFE_DOMDEF_INTERNAL_H

#include "vmm/life/domdef.h"

#include <stdio.h>

#define DOM_MEMORY_MAX_KIB (1ULL << 30) /* 1 TiB */

struct dom_ctx {
	const char *src;
	struct domdef *d;
	unsigned serials, consoles;
};

/* How an element is treated: read by FN, accepted as it is, ignored with a
 * warning giving WHY, or refused with an error giving WHY. */
enum dom_kind { READ, SILENT, WARN, FAIL };
struct dom_rule {
	const char *name;
	enum dom_kind kind;
	int (*fn)(struct dom_ctx *c, struct xml_node *n);
	const char *why;
};

/* Each child of N by RULES (ending with a NULL name); an element no rule
 * names is an error. */
int dom_walk(struct dom_ctx *c, struct xml_node *n, const struct dom_rule *rules);
/* Log "domain: SRC:LINE: " + FMT; returns -EINVAL. */
int dom_fail(const struct dom_ctx *c, const struct xml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An attribute's value for a message: "" when it is missing. */
#define DOM_S(s) ((s) ? (s) : "")
void dom_warn(const struct dom_ctx *c, const struct xml_node *n, const char *what, const char *why);
/* Warn about each attribute of N not in KNOWN (NULL-terminated). */
void dom_attrs(const struct dom_ctx *c, const struct xml_node *n, const char *const *known);
/* N's trimmed text, non-empty, no child elements. */
int dom_text(const struct dom_ctx *c, const struct xml_node *n, char *buf, size_t size);

/* minivmm's element in <metadata> (domdef_mdata.c), by its namespace. */
#define DOM_MDATA_NS "https://minivmm.dev/xmlns/domain/1"
int dom_read_metadata(struct dom_ctx *c, struct xml_node *n);
/* define --hostname/--ssh-key/--user-data: the <metadata> element (none
 * when all are NULL), values checked as `minivmm --hostname ...` checks. */
int dom_flags_metadata(FILE *f, const char *hostname, const char *ssh_key, const char *user_data);

int dom_read_os(struct dom_ctx *c, struct xml_node *n);
int dom_read_devices(struct dom_ctx *c, struct xml_node *n);
/* After the walk: defaults, generated uuid and MACs, written back. */
int dom_complete(struct dom_ctx *c);

int dom_scale_unit(const char *unit, uint64_t *scale);
/* Rewrite a <memory>/<currentMemory> element as "<X unit='KiB'>KIB</X>". */
int dom_set_kib(struct xml_node *n, uint64_t kib);
/* 52:54:00 and three random bytes, as libvirt generates. */
void dom_random_mac(uint8_t mac[6]);
/* Hex digits with or without dashes into canonical form OUT (37 bytes). */
int dom_uuid_parse(const char *text, char out[37]);

#endif
