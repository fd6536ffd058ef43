/* The control socket's JSON lines; see dom_proto.h. */
#include "vmm/life/dom_proto.h"

#include "devices/virtio/net_mac.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMDS[DOM_CMD_COUNT] = {"status",  "pause",  "resume", "shutdown",
						"destroy", "reboot", "stats",  "console"};

const char *dom_cmd_name(enum dom_cmd c) { return (unsigned)c < DOM_CMD_COUNT ? CMDS[c] : "?"; }

const char *dom_proto_request(enum dom_cmd c)
{
	static const char *const lines[DOM_CMD_COUNT] = {
	    "{\"cmd\":\"status\"}\n",  "{\"cmd\":\"pause\"}\n",	 "{\"cmd\":\"resume\"}\n",
	    "{\"cmd\":\"shutdown\"}\n", "{\"cmd\":\"destroy\"}\n", "{\"cmd\":\"reboot\"}\n",
	    "{\"cmd\":\"stats\"}\n",	"{\"cmd\":\"console\"}\n"};
	return (unsigned)c < DOM_CMD_COUNT ? lines[c] : NULL;
}

/* LINE (at most MAX bytes: requests and replies have their own bound) as
 * one JSON object and nothing else; NULL with ERR set. */
static struct json_object *parse_object(const char *line, size_t len, size_t max, char *err,
					size_t errsize)
{
	if (len > max || memchr(line, '\0', len)) {
		snprintf(err, errsize, len > max ? "line longer than %zu bytes" : "NUL byte in the line",
			 max);
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || je != json_tokener_success) {
		snprintf(err, errsize, "not JSON: %s",
			 je == json_tokener_continue ? "incomplete" : json_tokener_error_desc(je));
		json_object_put(o);
		return NULL;
	}
	while (end < len && strchr(" \t\r", line[end]))
		end++;
	if (end != len || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsize, end != len ? "text after the JSON object"
						  : "not a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

int dom_proto_parse_request(const char *line, size_t len, enum dom_cmd *cmd, char *err,
			    size_t errsize)
{
	struct json_object *o = parse_object(line, len, DOM_PROTO_LINE_MAX, err, errsize), *c;
	if (!o)
		return -EINVAL;
	int r = -EINVAL;
	if (!json_object_object_get_ex(o, "cmd", &c) || !json_object_is_type(c, json_type_string)) {
		snprintf(err, errsize, "no \"cmd\" string in the request");
		goto out;
	}
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (strcmp(key, "cmd")) {
			snprintf(err, errsize, "unknown member \"%.64s\"", key);
			goto out;
		}
	}
	const char *name = json_object_get_string(c);
	for (unsigned i = 0; i < DOM_CMD_COUNT; i++)
		if (!strcmp(name, CMDS[i])) {
			*cmd = (enum dom_cmd)i;
			r = 0;
			goto out;
		}
	snprintf(err, errsize, "unknown cmd \"%.64s\" (status, pause, resume, shutdown, destroy, "
			       "reboot, stats, console)", name);
out:
	json_object_put(o);
	return r;
}

/* O as one line, consumed; NULL on ENOMEM. */
static char *finish(struct json_object *o)
{
	char *line = NULL;
	if (o) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (s && asprintf(&line, "%s\n", s) < 0)
			line = NULL;
	}
	json_object_put(o);
	return line;
}

static struct json_object *ok_object(bool ok)
{
	struct json_object *o = json_object_new_object();
	if (o)
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static void add_mac(struct json_object *o, const uint8_t mac[6])
{
	char text[NET_MAC_STRLEN];
	add_str(o, "mac", net_mac_format(mac, text));
}

char *dom_proto_reply_ok(void) { return finish(ok_object(true)); }

char *dom_proto_reply_error(const char *msg)
{
	struct json_object *o = ok_object(false);
	if (o)
		add_str(o, "error", msg);
	return finish(o);
}

char *dom_proto_reply_status(const struct dom_proto_status *s)
{
	struct json_object *o = ok_object(true), *nics = json_object_new_array();
	if (!o || !nics) {
		json_object_put(nics);
		json_object_put(o);
		return NULL;
	}
	add_str(o, "name", s->name);
	add_str(o, "uuid", s->uuid);
	add_str(o, "state", s->state);
	json_object_object_add(o, "id", json_object_new_int(s->id));
	json_object_object_add(o, "pid", json_object_new_int64(s->pid));
	for (unsigned i = 0; i < s->nnics && i < DOM_NICS_MAX; i++) {
		struct json_object *n = json_object_new_object();
		if (!n)
			continue;
		add_str(n, "ifname", s->nics[i].ifname);
		add_mac(n, s->nics[i].mac);
		json_object_array_add(nics, n);
	}
	json_object_object_add(o, "nics", nics);
	return finish(o);
}

static struct json_object *stats_devices(const struct vm_stats *s, bool disks)
{
	struct json_object *a = json_object_new_array();
	unsigned n = disks ? s->ndisks : s->nnics;
	for (unsigned i = 0; a && i < n && i < VM_STATS_MAX_DEVS; i++) {
		struct json_object *d = json_object_new_object();
		if (!d)
			continue;
		if (disks) {
			char target[sizeof(s->disks[i].target) + 1] = "";
			memcpy(target, s->disks[i].target, sizeof(s->disks[i].target));
			add_str(d, "target", target);
			add_u64(d, "rd_reqs", s->disks[i].rd_reqs);
			add_u64(d, "rd_bytes", s->disks[i].rd_bytes);
			add_u64(d, "wr_reqs", s->disks[i].wr_reqs);
			add_u64(d, "wr_bytes", s->disks[i].wr_bytes);
			add_u64(d, "flush_reqs", s->disks[i].flush_reqs);
			add_u64(d, "errors", s->disks[i].errors);
		} else {
			char ifname[sizeof(s->nics[i].ifname) + 1] = "";
			memcpy(ifname, s->nics[i].ifname, sizeof(s->nics[i].ifname));
			add_str(d, "ifname", ifname);
			add_mac(d, s->nics[i].mac);
			add_u64(d, "rx_frames", s->nics[i].rx_frames);
			add_u64(d, "rx_bytes", s->nics[i].rx_bytes);
			add_u64(d, "tx_frames", s->nics[i].tx_frames);
			add_u64(d, "tx_bytes", s->nics[i].tx_bytes);
			add_u64(d, "rx_dropped", s->nics[i].rx_dropped);
			add_u64(d, "tx_dropped", s->nics[i].tx_dropped);
		}
		json_object_array_add(a, d);
	}
	return a;
}

char *dom_proto_reply_stats(const struct vm_stats *s)
{
	struct json_object *o = ok_object(true), *vcpus = json_object_new_array(),
			   *exits = json_object_new_object();
	uint64_t total = 0;
	if (!o || !vcpus || !exits) {
		json_object_put(vcpus);
		json_object_put(exits);
		json_object_put(o);
		return NULL;
	}
	for (unsigned i = 0; i < s->nvcpus && i < VM_STATS_MAX_VCPUS; i++) {
		struct json_object *v = json_object_new_object();
		total += s->vcpu_time_ns[i];
		if (v) {
			add_u64(v, "time_ns", s->vcpu_time_ns[i]);
			json_object_array_add(vcpus, v);
		}
	}
	add_u64(exits, "total", s->exits_total);
	for (unsigned i = 0; i < s->nexit_kinds && i < VM_STATS_EXIT_KINDS; i++)
		if (s->exits[i].kind && strcmp(s->exits[i].kind, "total"))
			add_u64(exits, s->exits[i].kind, s->exits[i].count);
	add_u64(o, "cpu_time_ns", total);
	json_object_object_add(o, "vcpus", vcpus);
	json_object_object_add(o, "exits", exits);
	json_object_object_add(o, "disks", stats_devices(s, true));
	json_object_object_add(o, "nics", stats_devices(s, false));
	return finish(o);
}

static void copy_str(struct json_object *o, const char *key, char *dst, size_t size)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, size, "%s", json_object_get_string(v));
}

static void parse_status(struct json_object *o, struct dom_proto_status *s)
{
	struct json_object *v, *nics;
	copy_str(o, "name", s->name, sizeof(s->name));
	copy_str(o, "uuid", s->uuid, sizeof(s->uuid));
	copy_str(o, "state", s->state, sizeof(s->state));
	if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int))
		s->id = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid", &v) && json_object_is_type(v, json_type_int))
		s->pid = (long)json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "nics", &nics) ||
	    !json_object_is_type(nics, json_type_array))
		return;
	size_t n = json_object_array_length(nics);
	for (size_t i = 0; i < n && s->nnics < DOM_NICS_MAX; i++) {
		struct json_object *nic = json_object_array_get_idx(nics, i);
		char mac[NET_MAC_STRLEN] = "";
		unsigned k = s->nnics;
		if (!json_object_is_type(nic, json_type_object))
			continue;
		copy_str(nic, "ifname", s->nics[k].ifname, sizeof(s->nics[k].ifname));
		copy_str(nic, "mac", mac, sizeof(mac));
		const char *why;
		if (net_mac_parse(mac, s->nics[k].mac, &why) < 0)
			memset(s->nics[k].mac, 0, 6);
		s->nnics++;
	}
}

int dom_proto_parse_reply(const char *line, size_t len, struct dom_reply *r, char *err,
			  size_t errsize)
{
	struct json_object *o = parse_object(line, len, DOM_PROTO_REPLY_MAX, err, errsize), *v;
	*r = (struct dom_reply){.status.id = -1};
	if (!o)
		return -EINVAL;
	if (!json_object_object_get_ex(o, "ok", &v) || !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errsize, "no \"ok\" boolean in the reply");
		json_object_put(o);
		return -EINVAL;
	}
	r->ok = json_object_get_boolean(v);
	copy_str(o, "error", r->error, sizeof(r->error));
	if (!r->ok && !r->error[0])
		snprintf(r->error, sizeof(r->error), "the VM gave no reason");
	if (json_object_object_get_ex(o, "state", &v)) {
		r->has_status = true;
		parse_status(o, &r->status);
	}
	if (json_object_object_get_ex(o, "cpu_time_ns", &v) && json_object_is_type(v, json_type_int)) {
		r->has_cpu_time = true;
		r->cpu_time_ns = json_object_get_uint64(v);
	}
	json_object_put(o);
	return 0;
}
