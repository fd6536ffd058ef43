/* The EC2 and NoCloud trees (layout in mdata_tree.h). */
#include "net/mdata_tree.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT  "text/plain"
#define BYTES "application/octet-stream"

struct text {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->overflow || n >= t->cap - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* Key number `index` (0-based) of the authorized_keys text: its bytes
 * without the line end. Lines that are blank, comments, or hold bytes no
 * key has (controls other than tab) are skipped. */
static bool key_at(const struct mdata_vm *vm, unsigned index, const char **key, size_t *len)
{
	size_t total = vm->ssh_keys && vm->ssh_keys_len < MDATA_KEYS_BYTES ? vm->ssh_keys_len
			: vm->ssh_keys ? MDATA_KEYS_BYTES : 0;
	unsigned found = 0;

	for (size_t pos = 0; pos < total && found < MDATA_KEYS_MAX;) {
		const char *l = vm->ssh_keys + pos;
		const char *nl = memchr(l, '\n', total - pos);
		size_t n = nl ? (size_t)(nl - l) : total - pos;
		pos += n + 1;
		if (n && l[n - 1] == '\r')
			n--;
		bool ok = n > 0 && l[0] != '#';
		for (size_t i = 0; i < n && ok; i++)
			ok = ((unsigned char)l[i] >= 0x20 || l[i] == '\t') && l[i] != 0x7f;
		if (ok && found++ == index) {
			*key = l;
			*len = n;
			return true;
		}
	}
	return false;
}

static unsigned key_count(const struct mdata_vm *vm)
{
	const char *k;
	size_t n;
	unsigned i = 0;
	while (key_at(vm, i, &k, &n))
		i++;
	return i;
}

/* A YAML double-quoted scalar. */
static void put_yaml_string(struct text *t, const char *s, size_t n)
{
	put(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			put(t, "\\", 1);
		put(t, s + i, 1);
	}
	put(t, "\"", 1);
}

static void reply(struct mdata_reply *out, int status, const char *type, const char *body,
		  size_t len)
{
	out->status = status;
	out->content_type = type;
	out->body = body;
	out->body_len = len;
}

static void not_found(struct mdata_reply *out)
{
	static const char msg[] = "not found\n";
	reply(out, 404, TEXT, msg, sizeof(msg) - 1);
}

static void from_text(struct mdata_reply *out, struct text *t)
{
	static const char msg[] = "reply too large\n";
	if (t->overflow)
		reply(out, 500, TEXT, msg, sizeof(msg) - 1);
	else
		reply(out, 200, TEXT, t->buf, t->len);
}

static void value(struct mdata_reply *out, const char *s)
{
	if (!s[0]) {
		not_found(out);
		return;
	}
	reply(out, 200, TEXT, s, strlen(s));
}

/* path equals name, or name followed by a trailing slash */
static bool is_dir(const char *path, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(path, name, n) && (!path[n] || !strcmp(path + n, "/"));
}

/* meta-data/public-keys/REST */
static void ec2_keys(const struct mdata_vm *vm, const char *rest, struct mdata_reply *out)
{
	struct text t = { out->scratch, sizeof(out->scratch), 0, false };
	const char *key;
	size_t len;

	if (!*rest) {
		unsigned n = key_count(vm);
		for (unsigned i = 0; i < n; i++) {
			char line[32];
			snprintf(line, sizeof(line), "%s%u=minivmm-%u", i ? "\n" : "", i, i);
			puts_(&t, line);
		}
		if (n)
			from_text(out, &t);
		else
			not_found(out);
		return;
	}
	char *end;
	if (rest[0] < '0' || rest[0] > '9' || (rest[0] == '0' && rest[1] >= '0' && rest[1] <= '9')) {
		not_found(out);
		return;
	}
	unsigned long idx = strtoul(rest, &end, 10);
	if (idx >= MDATA_KEYS_MAX || !key_at(vm, (unsigned)idx, &key, &len)) {
		not_found(out);
		return;
	}
	if (!*end || !strcmp(end, "/")) {
		puts_(&t, "openssh-key");
		from_text(out, &t);
		return;
	}
	if (strcmp(end, "/openssh-key")) {
		not_found(out);
		return;
	}
	put(&t, key, len);
	put(&t, "\n", 1);
	from_text(out, &t);
}

static void ec2_meta(const struct mdata_vm *vm, const char *rest, struct mdata_reply *out)
{
	struct text t = { out->scratch, sizeof(out->scratch), 0, false };

	if (!*rest || !strcmp(rest, "/")) {
		puts_(&t, "hostname\ninstance-id\nlocal-hostname");
		if (vm->local_ipv4[0])
			puts_(&t, "\nlocal-ipv4");
		if (key_count(vm))
			puts_(&t, "\npublic-keys/");
		from_text(out, &t);
		return;
	}
	if (!strcmp(rest, "/instance-id")) {
		/* EC2's form, i-...: CirrOS takes an id without the prefix for a
		 * failed try and polls on (20 tries, 2 s apart). */
		if (!strncmp(vm->instance_id, "i-", 2) || !vm->instance_id[0]) {
			value(out, vm->instance_id);
			return;
		}
		puts_(&t, "i-");
		puts_(&t, vm->instance_id);
		from_text(out, &t);
		return;
	}
	if (!strcmp(rest, "/hostname") || !strcmp(rest, "/local-hostname")) {
		value(out, vm->hostname);
		return;
	}
	if (!strcmp(rest, "/local-ipv4")) {
		value(out, vm->local_ipv4);
		return;
	}
	if (is_dir(rest, "/public-keys")) {
		ec2_keys(vm, "", out);
		return;
	}
	if (!strncmp(rest, "/public-keys/", 13)) {
		ec2_keys(vm, rest + 13, out);
		return;
	}
	not_found(out);
}

/* REST after /2009-04-04 or /latest */
static void ec2(const struct mdata_vm *vm, const char *rest, struct mdata_reply *out)
{
	static const char with_ud[] = "meta-data/\nuser-data", without_ud[] = "meta-data/";

	if (!*rest || !strcmp(rest, "/")) {
		if (vm->user_data) {
			reply(out, 200, TEXT, with_ud, sizeof(with_ud) - 1);
			return;
		}
		reply(out, 200, TEXT, without_ud, sizeof(without_ud) - 1);
		return;
	}
	if (!strcmp(rest, "/user-data")) {
		if (!vm->user_data) {
			not_found(out);
			return;
		}
		reply(out, 200, BYTES, vm->user_data, vm->user_data_len);
		return;
	}
	if (!strncmp(rest, "/meta-data", 10) && (!rest[10] || rest[10] == '/')) {
		ec2_meta(vm, rest + 10, out);
		return;
	}
	not_found(out);
}

static void nocloud_meta(const struct mdata_vm *vm, struct mdata_reply *out)
{
	struct text t = { out->scratch, sizeof(out->scratch), 0, false };
	unsigned n = key_count(vm);
	const char *key;
	size_t len;

	puts_(&t, "instance-id: ");
	put_yaml_string(&t, vm->instance_id, strlen(vm->instance_id));
	puts_(&t, "\nlocal-hostname: ");
	put_yaml_string(&t, vm->hostname, strlen(vm->hostname));
	puts_(&t, "\n");
	if (n)
		puts_(&t, "public-keys:\n");
	for (unsigned i = 0; i < n && key_at(vm, i, &key, &len); i++) {
		puts_(&t, "  - ");
		put_yaml_string(&t, key, len);
		puts_(&t, "\n");
	}
	from_text(out, &t);
}

static void nocloud(const struct mdata_vm *vm, const char *rest, struct mdata_reply *out)
{
	static const char list[] = "meta-data\nuser-data\nvendor-data";

	if (!*rest || !strcmp(rest, "/")) {
		reply(out, 200, TEXT, list, sizeof(list) - 1);
		return;
	}
	if (!strcmp(rest, "/meta-data")) {
		nocloud_meta(vm, out);
		return;
	}
	if (!strcmp(rest, "/user-data")) {
		reply(out, 200, BYTES, vm->user_data ? vm->user_data : "",
		      vm->user_data ? vm->user_data_len : 0);
		return;
	}
	if (!strcmp(rest, "/vendor-data")) {
		reply(out, 200, BYTES, vm->vendor_data ? vm->vendor_data : "",
		      vm->vendor_data ? vm->vendor_data_len : 0);
		return;
	}
	not_found(out);
}

/* path starts with prefix at a segment boundary: returns what follows */
static const char *under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

void mdata_tree_get(const struct mdata_vm *vm, const char *path, struct mdata_reply *out)
{
	static const char versions[] = "2009-04-04\nlatest";
	const char *rest;

	if (!strcmp(path, "/")) {
		reply(out, 200, TEXT, versions, sizeof(versions) - 1);
		return;
	}
	if ((rest = under(path, "/2009-04-04")) || (rest = under(path, "/latest"))) {
		ec2(vm, rest, out);
		return;
	}
	if ((rest = under(path, "/nocloud"))) {
		nocloud(vm, rest, out);
		return;
	}
	not_found(out);
}
