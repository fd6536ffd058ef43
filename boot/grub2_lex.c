/* GRUB 2 script words and conditions: quoting ('...', "...", backslash), $name and
 * ${name} expansion, comments, line continuation. */
#include "boot/grub2_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

bool g2_is_name(const char *s, size_t len)
{
	if (len == 0 || len >= G2_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

const char *g2_var_get(const struct g2_vars *vars, const char *name)
{
	for (unsigned i = 0; i < vars->n; i++)
		if (strcmp(vars->v[i].name, name) == 0)
			return vars->v[i].value;
	return NULL;
}

int g2_var_set(struct g2_vars *vars, const char *name, const char *value)
{
	if (strlen(name) >= G2_NAME_MAX || strlen(value) >= G2_VALUE_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < vars->n; i++)
		if (strcmp(vars->v[i].name, name) == 0) {
			strcpy(vars->v[i].value, value);
			return 0;
		}
	if (vars->n == G2_VARS_MAX)
		return -E2BIG;
	strcpy(vars->v[vars->n].name, name);
	strcpy(vars->v[vars->n].value, value);
	vars->n++;
	return 0;
}

static int lex_fail(struct g2_lex *lx, const char *why)
{
	snprintf(lx->err, sizeof(lx->err), "%s", why);
	return -EINVAL;
}

static int peek(const struct g2_lex *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->s[lx->pos + ahead] : -1;
}

static int put(struct g2_lex *lx, struct g2_cmd *c, char ch)
{
	if (c->used + 1 >= sizeof(c->buf))
		return lex_fail(lx, "command too long");
	c->buf[c->used++] = ch;
	return 0;
}

/* After '$': appends the variable's value (a lone '$' stays literal). */
static int expand(struct g2_lex *lx, struct g2_cmd *c)
{
	char name[G2_NAME_MAX];
	size_t n = 0;
	if (peek(lx, 0) == '{') {
		lx->pos++;
		int ch;
		while ((ch = peek(lx, 0)) != '}') {
			if (ch < 0 || ch == '\n' || n + 1 >= sizeof(name))
				return lex_fail(lx, "unterminated ${...}");
			name[n++] = (char)ch;
			lx->pos++;
		}
		lx->pos++;
	} else {
		int ch = peek(lx, 0);
		if (ch == '?' || ch == '#' || ch == '@' || ch == '*') {
			name[n++] = (char)ch;
			lx->pos++;
		}
		while (n == 0 || g2_is_name(name, n)) {
			ch = peek(lx, 0);
			if (ch < 0 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					(ch >= '0' && ch <= '9') || ch == '_') || n + 1 >= sizeof(name))
				break;
			name[n++] = (char)ch;
			lx->pos++;
		}
		if (n == 0)
			return put(lx, c, '$');
	}
	name[n] = '\0';
	const char *v = g2_var_get(lx->vars, name);
	for (; v && *v; v++)
		if (put(lx, c, *v))
			return -EINVAL;
	return 0;
}

static int word_single(struct g2_lex *lx, struct g2_cmd *c)
{
	for (;;) {
		int ch = peek(lx, 0);
		if (ch < 0)
			return lex_fail(lx, "unterminated '...'");
		lx->pos++;
		if (ch == '\'')
			return 0;
		if (ch == '\n')
			lx->line++;
		if (put(lx, c, (char)ch))
			return -EINVAL;
	}
}

static int word_double(struct g2_lex *lx, struct g2_cmd *c)
{
	for (;;) {
		int ch = peek(lx, 0);
		if (ch < 0)
			return lex_fail(lx, "unterminated \"...\"");
		lx->pos++;
		if (ch == '"')
			return 0;
		int r = 0;
		if (ch == '$') {
			r = expand(lx, c);
		} else if (ch == '\\' && strchr("$\"\\\n", peek(lx, 0) < 0 ? 'x' : peek(lx, 0))) {
			ch = peek(lx, 0);
			lx->pos++;
			if (ch == '\n')
				lx->line++;
			else
				r = put(lx, c, (char)ch);
		} else {
			if (ch == '\n')
				lx->line++;
			r = put(lx, c, (char)ch);
		}
		if (r)
			return r;
	}
}

static bool is_break(int ch)
{
	return ch < 0 || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';';
}

/* One word into c->buf (NUL-terminated); *quoted if any part was. */
static int read_word(struct g2_lex *lx, struct g2_cmd *c, bool *quoted)
{
	*quoted = false;
	while (!is_break(peek(lx, 0))) {
		int ch = peek(lx, 0), r = 0;
		lx->pos++;
		if (ch == '\'') {
			*quoted = true;
			r = word_single(lx, c);
		} else if (ch == '"') {
			*quoted = true;
			r = word_double(lx, c);
		} else if (ch == '$') {
			r = expand(lx, c);
		} else if (ch == '\\') {
			int next = peek(lx, 0);
			if (next >= 0) {
				lx->pos++;
				if (next == '\n') {
					lx->line++;
				} else {
					*quoted = true;
					r = put(lx, c, (char)next);
				}
			}
		} else {
			r = put(lx, c, (char)ch);
		}
		if (r)
			return r;
	}
	return put(lx, c, '\0');
}

static bool ends_command(const char *w)
{
	static const char *const kw[] = { "then", "else", "do", "fi", "done" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strcmp(w, kw[i]) == 0)
			return true;
	return false;
}

/* Skips blanks, comments and line continuations; false at the end. */
static void skip_blanks(struct g2_lex *lx)
{
	for (;;) {
		int ch = peek(lx, 0);
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			lx->pos++;
		} else if (ch == '\\' && peek(lx, 1) == '\n') {
			lx->pos += 2;
			lx->line++;
		} else if (ch == '#') {
			while (peek(lx, 0) >= 0 && peek(lx, 0) != '\n')
				lx->pos++;
		} else {
			return;
		}
	}
}

int g2_read_cmd(struct g2_lex *lx, struct g2_cmd *c)
{
	c->argc = 0;
	c->used = 0;
	for (;;) {
		skip_blanks(lx);
		int ch = peek(lx, 0);
		c->term = G2_EOF;
		if (ch < 0)
			return 0;
		if (ch == '\n' || ch == ';') {
			lx->pos++;
			if (ch == '\n')
				lx->line++;
			if (c->argc) {
				c->term = G2_SEP;
				return 0;
			}
			continue;
		}
		if (c->argc == 0)
			c->line = lx->line;
		size_t start = c->used;
		bool quoted;
		if (read_word(lx, c, &quoted))
			return -EINVAL;
		char *w = c->buf + start;
		if (!quoted && (strcmp(w, "{") == 0 || strcmp(w, "}") == 0)) {
			c->used = start;
			c->term = w[0] == '{' ? G2_LBRACE : G2_RBRACE;
			return 0;
		}
		if (!quoted && !*w) {
			c->used = start;	/* an unquoted expansion to nothing */
			continue;
		}
		if (c->argc == G2_ARGS_MAX)
			return lex_fail(lx, "too many words in a command");
		c->quoted[c->argc] = quoted;
		c->argv[c->argc++] = w;
		if (c->argc == 1 && !quoted && ends_command(w)) {
			c->term = G2_SEP;
			return 0;
		}
	}
}

/* ---- conditions ---- */

bool g2_is_number(const char *s, long *v)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	*v = strtol(s, &end, 10);
	return !*end && !errno;
}

/* `[ ... ]` / `test ...` with n arguments (brackets removed). */
static bool g2_test_args(char **a, unsigned n)
{
	long x, y;
	if (n >= 1 && strcmp(a[0], "!") == 0)
		return !g2_test_args(a + 1, n - 1);
	if (n == 1)
		return a[0][0] != '\0';
	if (n == 2)
		return strcmp(a[0], "-n") == 0 ? a[1][0] != '\0' :
		       strcmp(a[0], "-z") == 0 ? a[1][0] == '\0' : false;	/* -s/-f/-e/-d: no files here */
	if (n != 3)
		return false;
	if (!strcmp(a[1], "=") || !strcmp(a[1], "=="))
		return strcmp(a[0], a[2]) == 0;
	if (!strcmp(a[1], "!="))
		return strcmp(a[0], a[2]) != 0;
	if (!g2_is_number(a[0], &x) || !g2_is_number(a[2], &y))
		return false;
	return !strcmp(a[1], "-eq") ? x == y : !strcmp(a[1], "-ne") ? x != y :
	       !strcmp(a[1], "-lt") ? x < y : !strcmp(a[1], "-gt") ? x > y :
	       !strcmp(a[1], "-le") ? x <= y : !strcmp(a[1], "-ge") ? x >= y : false;
}

bool g2_condition(const struct g2_cmd *c, unsigned first)
{
	if (c->argc <= first)
		return false;
	char *const *a = c->argv + first;
	unsigned n = c->argc - first;
	if (strcmp(a[0], "[") == 0 && n >= 2 && strcmp(a[n - 1], "]") == 0)
		return g2_test_args((char **)a + 1, n - 2);
	if (strcmp(a[0], "test") == 0)
		return g2_test_args((char **)a + 1, n - 1);
	return strcmp(a[0], "true") == 0;
}
