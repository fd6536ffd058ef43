/* The control socket's protocol (json-c): one JSON object per line each way.
 *   request  {"cmd":"status"|"pause"|"resume"|"shutdown"|"destroy"|"reboot"|"stats"|"console"}
 *   reply    {"ok":true, ...} or {"ok":false,"error":"..."}
 * status adds name, uuid, id, pid, state and nics [{ifname, mac}]; stats adds
 * cpu_time_ns, vcpus [{time_ns}], exits {total, KIND: N...}, disks [...] and
 * nics [...] (vm_get_stats). After console's ok the connection is the raw
 * console stream. Only building and parsing here: no sockets, no VM. */
#ifndef MINIVMM_VMM_LIFE_DOM_PROTO_H
#define MINIVMM_VMM_LIFE_DOM_PROTO_H

#include "vmm/life/domdef.h"
#include "vmm/vm_control.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A longer request line is refused (and the connection closed). */
#define DOM_PROTO_LINE_MAX 4096
/* A reply line (stats with every device) fits in this. */
#define DOM_PROTO_REPLY_MAX 65536

enum dom_cmd {
	DOM_CMD_STATUS,
	DOM_CMD_PAUSE,
	DOM_CMD_RESUME,
	DOM_CMD_SHUTDOWN,
	DOM_CMD_DESTROY,
	DOM_CMD_REBOOT,
	DOM_CMD_STATS,
	DOM_CMD_CONSOLE,
	DOM_CMD_COUNT
};

const char *dom_cmd_name(enum dom_cmd c);
/* LINE (without its newline) -> *CMD; -EINVAL with a reason in ERR
 * ("not JSON: ...", "unknown cmd 'x'", ...). */
int dom_proto_parse_request(const char *line, size_t len, enum dom_cmd *cmd, char *err,
			    size_t errsize);
/* The request line for C, newline included (static text). */
const char *dom_proto_request(enum dom_cmd c);

struct dom_proto_status {
	char name[DOM_NAME_MAX + 1];
	char uuid[37];
	char state[16]; /* dom_state_word(): "running", "paused" */
	int id;
	long pid;
	unsigned nnics;
	struct {
		char ifname[16];
		uint8_t mac[6];
	} nics[DOM_NICS_MAX];
};

/* Reply lines, newline included, malloc'd (NULL: out of memory). */
char *dom_proto_reply_ok(void);
char *dom_proto_reply_error(const char *msg);
char *dom_proto_reply_status(const struct dom_proto_status *s);
char *dom_proto_reply_stats(const struct vm_stats *s);

/* What a client reads back: OK, ERROR when not, and what it carried. */
struct dom_reply {
	bool ok;
	char error[256];
	bool has_status; /* status's fields */
	struct dom_proto_status status;
	bool has_cpu_time; /* stats' cpu_time_ns */
	uint64_t cpu_time_ns;
};
/* -EINVAL when LINE is no reply (ERR says why). */
int dom_proto_parse_reply(const char *line, size_t len, struct dom_reply *r, char *err,
			  size_t errsize);

#endif
