/* libFuzzer: arbitrary bytes as a metadata request head, then the path it
 * yields through the EC2/NoCloud tree. Asserts what the server relies on:
 * a parsed head lies inside the input, a path starts with '/', holds no
 * "." or ".." segment and fits HTTP_PATH_MAX; errors carry a 4xx/5xx. */
#include "net/http_req.h"
#include "net/mdata_tree.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool dot_segment(const char *p)
{
	for (const char *s = p; s; s = strchr(s + 1, '/')) {
		size_t n = strcspn(s + 1, "/");
		if ((n == 1 && s[1] == '.') || (n == 2 && s[1] == '.' && s[2] == '.'))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdata_reply rep;
	static const char keys[] = "ssh-ed25519 AAAA a@b\n# c\nssh-rsa BBBB \"q\"\n";
	struct mdata_vm vm = { .instance_id = "i-1", .hostname = "h", .local_ipv4 = "10.0.0.2",
			       .ssh_keys = keys, .ssh_keys_len = sizeof(keys) - 1,
			       .user_data = "ud", .user_data_len = 2 };
	struct http_req req;
	enum http_parse_result r = http_req_parse((const char *)data, size, &req);

	if (r == HTTP_PARSE_ERROR && (req.status < 400 || req.status > 599 || !req.why))
		abort();
	if (r != HTTP_PARSE_DONE)
		return 0;
	if (req.head_len > size || req.path[0] != '/' || strlen(req.path) >= HTTP_PATH_MAX ||
	    dot_segment(req.path))
		abort();
	mdata_tree_get(&vm, req.path, &rep);
	if ((rep.status != 200 && rep.status != 404) || !rep.body || !rep.content_type)
		abort();
	char head[512];
	if (http_resp_head(head, sizeof(head), rep.status, rep.content_type, rep.body_len,
			   req.keep_alive) <= 0)
		abort();
	return 0;
}
