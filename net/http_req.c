/* HTTP/1.1 request heads, hostile input assumed (limits in http_req.h).
 * Limits are enforced as soon as they are exceeded; any other error is
 * remembered (the first one wins) and reported once the head is complete,
 * so the client has finished sending when it gets its error reply. */
#include "net/http_req.h"
#include "vmm/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TARGET_MAX 1024	/* raw request-target, query included */

struct head_state {
	struct http_req *req;
	int minor;		/* HTTP/1.minor */
	unsigned hosts, headers;
	bool conn_close, conn_keep_alive;
	int err_status;		/* first error seen; 0: none */
	const char *err_why;
};

static void fail(struct head_state *h, int status, const char *why)
{
	if (!h->err_status) {
		h->err_status = status;
		h->err_why = why;
	}
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Percent-decodes the path part of target into req->path, refusing what
 * could step outside the tree or smuggle a separator. */
static void decode_path(struct head_state *h, const char *t, size_t n)
{
	char *out = h->req->path;
	size_t o = 0;

	for (size_t i = 0; i < n && t[i] != '?'; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '%') {
			int hi = i + 2 < n ? hex_digit_value(t[i + 1]) : -1;
			int lo = hi < 0 ? -1 : hex_digit_value(t[i + 2]);
			if (hi < 0 || lo < 0) {
				fail(h, 400, "malformed percent-escape in the path");
				return;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '.' || c == '/' || c == '\\' || c == '%' || c < 0x20 || c >= 0x7f) {
				fail(h, 400, "encoded dot, slash or control byte in the path");
				return;
			}
		} else if (c == '\\' || c == '#' || c < 0x21 || c >= 0x7f) {
			fail(h, 400, "backslash, '#' or non-ASCII byte in the path");
			return;
		}
		if (o + 1 >= HTTP_PATH_MAX) {
			fail(h, 414, "path too long");
			return;
		}
		out[o++] = (char)c;
	}
	out[o] = 0;
	/* "." and ".." segments name something outside the path as written. */
	for (const char *seg = out; seg; seg = strchr(seg + 1, '/')) {
		const char *s = seg + 1;
		size_t len = strcspn(s, "/");
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
			fail(h, 400, "'.' or '..' in the path");
			return;
		}
	}
}

/* origin-form "/path?query", or absolute-form "http://authority/path". */
static void parse_target(struct head_state *h, const char *t, size_t n)
{
	if (n > TARGET_MAX) {
		fail(h, 414, "request target too long");
		return;
	}
	if (n > 7 && !strncasecmp(t, "http://", 7)) {
		const char *slash = memchr(t + 7, '/', n - 7);
		if (!slash) {
			fail(h, 400, "absolute request target without a path");
			return;
		}
		n -= (size_t)(slash - t);
		t = slash;
	}
	if (n == 0 || t[0] != '/') {
		fail(h, 400, "request target is not a path");
		return;
	}
	decode_path(h, t, n);
}

static void parse_request_line(struct head_state *h, const char *l, size_t n)
{
	const char *sp1 = memchr(l, ' ', n);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)) : NULL;
	if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - l))) {
		fail(h, 400, "request line is not METHOD TARGET VERSION");
		return;
	}
	size_t mlen = (size_t)(sp1 - l), vlen = n - (size_t)(sp2 + 1 - l);
	const char *v = sp2 + 1;

	if (vlen == 8 && !memcmp(v, "HTTP/1.", 7) && (v[7] == '0' || v[7] == '1')) {
		h->minor = v[7] - '0';
	} else {
		bool other = vlen == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' &&
			     v[6] == '.' && v[7] >= '0' && v[7] <= '9';
		fail(h, other ? 505 : 400,
		     other ? "HTTP version not supported" : "malformed HTTP version");
		return;
	}
	if (!is_token(l, mlen)) {
		fail(h, 400, "malformed method");
		return;
	}
	if (mlen == 3 && !memcmp(l, "GET", 3))
		h->req->method = HTTP_GET;
	else if (mlen == 4 && !memcmp(l, "HEAD", 4))
		h->req->method = HTTP_HEAD;
	else
		fail(h, 405, "method not allowed (only GET and HEAD)");
	parse_target(h, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

/* Connection: a comma-separated list of tokens. */
static void parse_connection(struct head_state *h, const char *v, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n && v[i] != ',')
			i++;
		size_t end = i++;
		while (start < end && (v[start] == ' ' || v[start] == '\t'))
			start++;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == 5 && !strncasecmp(v + start, "close", 5))
			h->conn_close = true;
		if (end - start == 10 && !strncasecmp(v + start, "keep-alive", 10))
			h->conn_keep_alive = true;
	}
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(name, want, n);
}

static void parse_header(struct head_state *h, const char *l, size_t n)
{
	if (l[0] == ' ' || l[0] == '\t') {
		fail(h, 400, "obsolete header line folding");
		return;
	}
	const char *colon = memchr(l, ':', n);
	if (!colon || !is_token(l, (size_t)(colon - l))) {
		fail(h, 400, "malformed header line");
		return;
	}
	size_t nlen = (size_t)(colon - l);
	const char *v = colon + 1;
	size_t vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (name_is(l, nlen, "Host"))
		h->hosts++;
	else if (name_is(l, nlen, "Connection"))
		parse_connection(h, v, vlen);
	else if (name_is(l, nlen, "Content-Length") && !(vlen == 1 && v[0] == '0'))
		fail(h, 400, "a request body (Content-Length) on GET/HEAD");
	else if (name_is(l, nlen, "Transfer-Encoding"))
		fail(h, 501, "Transfer-Encoding is not supported");
}

/* Bytes a line may hold: visible ASCII, space, tab, obs-text (>= 0x80). */
static bool line_bytes_ok(const char *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static enum http_parse_result finish(struct head_state *h, size_t head_len)
{
	struct http_req *req = h->req;

	if (h->minor == 1 && h->hosts != 1)
		fail(h, 400, h->hosts ? "more than one Host header" : "HTTP/1.1 without Host");
	else if (h->hosts > 1)
		fail(h, 400, "more than one Host header");
	req->head_len = head_len;
	req->keep_alive = !h->conn_close && (h->minor == 1 || h->conn_keep_alive);
	if (!h->err_status)
		return HTTP_PARSE_DONE;
	req->status = h->err_status;
	req->why = h->err_why;
	req->keep_alive = false;
	return HTTP_PARSE_ERROR;
}

static enum http_parse_result limit(struct http_req *req, int status, const char *why)
{
	req->status = status;
	req->why = why;
	req->keep_alive = false;
	return HTTP_PARSE_ERROR;
}

enum http_parse_result http_req_parse(const char *buf, size_t len, struct http_req *req)
{
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	struct head_state h = { .req = req };

	memset(req, 0, sizeof(*req));
	for (size_t pos = 0, line = 0;; line++) {
		const char *l = buf + pos;
		const char *nl = memchr(l, '\n', scan - pos);
		size_t room = scan - pos;
		if (!nl) {
			if (room >= HTTP_LINE_MAX)
				return limit(req, line ? 431 : 414, line ? "header line too long"
									 : "request line too long");
			if (len >= HTTP_HEAD_MAX)
				return limit(req, 431, "request head too large");
			return HTTP_PARSE_MORE;
		}
		size_t n = (size_t)(nl - l), next = pos + n + 1;
		if (n + 1 > HTTP_LINE_MAX)
			return limit(req, line ? 431 : 414, line ? "header line too long"
								 : "request line too long");
		if (n && l[n - 1] == '\r')
			n--;	/* CRLF; a bare LF is accepted too (RFC 9112 2.2) */
		if (!line_bytes_ok(l, n))
			fail(&h, 400, "control byte (CR, NUL, ...) in the request head");
		else if (line == 0)
			parse_request_line(&h, l, n);
		else if (n == 0)
			return finish(&h, next);
		else if (++h.headers > HTTP_HEADERS_MAX)
			return limit(req, 431, "too many headers");
		else
			parse_header(&h, l, n);
		pos = next;
	}
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

int http_resp_head(char *buf, size_t cap, int status, const char *content_type,
		   size_t body_len, bool keep_alive)
{
	int n = snprintf(buf, cap,
			 "HTTP/1.1 %d %s\r\nServer: minivmm\r\n%s%s%sContent-Length: %zu\r\n"
			 "Connection: %s\r\n%s\r\n",
			 status, http_reason(status), content_type ? "Content-Type: " : "",
			 content_type ? content_type : "", content_type ? "\r\n" : "", body_len,
			 keep_alive ? "keep-alive" : "close",
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
