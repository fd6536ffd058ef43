/* GRUB 2 script: the lexer and variables grub2.c's interpreter runs on
 * (boot/ only). */
#ifndef MINIVMM_BOOT_GRUB2_INTERNAL_H
#define MINIVMM_BOOT_GRUB2_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define G2_VARS_MAX 128
#define G2_NAME_MAX 64
#define G2_VALUE_MAX 1024
#define G2_ARGS_MAX 64
#define G2_CMD_BUF 8192

struct g2_var {
	char name[G2_NAME_MAX];
	char value[G2_VALUE_MAX];
};

struct g2_vars {
	unsigned n;
	struct g2_var v[G2_VARS_MAX];
};

/* NULL when unset. */
const char *g2_var_get(const struct g2_vars *vars, const char *name);
/* -E2BIG when name or value is too long or the table is full (ignored by
 * the caller, as GRUB would run out of memory much later). */
int g2_var_set(struct g2_vars *vars, const char *name, const char *value);
bool g2_is_name(const char *s, size_t len);

enum g2_term { G2_SEP, G2_LBRACE, G2_RBRACE, G2_EOF };

/* One command: its words after quoting and $variable expansion, and what
 * ended it. A word that expanded to nothing without quotes is dropped. */
struct g2_cmd {
	unsigned argc;
	char *argv[G2_ARGS_MAX];
	bool quoted[G2_ARGS_MAX];	/* any part of the word was quoted */
	enum g2_term term;
	unsigned line;
	size_t used;
	char buf[G2_CMD_BUF];
};

struct g2_lex {
	const char *s;
	size_t len, pos;
	unsigned line;
	const struct g2_vars *vars;
	char err[128];		/* why the last read failed */
};

/* Reads the next command. Newlines and ';' separate commands, a lone '{'
 * or '}' ends one (term says which); 'then', 'else', 'do', 'fi' and 'done'
 * are commands of their own even when more words follow on the line.
 * 0 or -EINVAL (lx->err says why). */
int g2_read_cmd(struct g2_lex *lx, struct g2_cmd *c);

/* A decimal number (strtol), the whole string. */
bool g2_is_number(const char *s, long *v);
/* The truth of the condition c->argv[first..]: `[ ... ]`/`test ...`
 * (= == != -n -z -eq -ne -lt -gt -le -ge, !), `true`; file tests and any
 * other command are false (nothing is run). */
bool g2_condition(const struct g2_cmd *c, unsigned first);

#endif
