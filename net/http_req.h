/* A bounded HTTP/1.1 request parser (RFC 9112) and response head writer for
 * the metadata service. Every byte comes from a guest: the request head
 * (request line and headers) must fit HTTP_HEAD_MAX bytes, a line
 * HTTP_LINE_MAX, at most HTTP_HEADERS_MAX headers; only GET and HEAD are
 * served; the path is percent-decoded and refused when it could name
 * anything outside the tree ("." or ".." segments, encoded dots or
 * slashes, backslashes, control bytes). Bodies are never read: a request
 * announcing one is refused. Time limits are the caller's (the server's
 * per-connection deadline). */
#ifndef MINIVMM_NET_HTTP_REQ_H
#define MINIVMM_NET_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX    8192	/* request line + headers + blank line */
#define HTTP_LINE_MAX    2048	/* one line, CRLF included */
#define HTTP_HEADERS_MAX 48
#define HTTP_PATH_MAX    256	/* decoded path with its NUL */

enum http_method { HTTP_GET, HTTP_HEAD };

struct http_req {
	enum http_method method;
	char path[HTTP_PATH_MAX];	/* decoded, starts with '/', no query */
	bool keep_alive;		/* HTTP/1.1 without "Connection: close",
					 * or 1.0 with "Connection: keep-alive" */
	size_t head_len;		/* bytes of buf the head took */
	/* When http_req_parse() returns HTTP_PARSE_ERROR: the status to answer
	 * (400, 404, 405, 414, 431, 501, 505) and why, for the log. */
	int status;
	const char *why;
};

enum http_parse_result {
	HTTP_PARSE_MORE = 0,	/* incomplete: read more (the caller's timeout applies) */
	HTTP_PARSE_DONE = 1,	/* *req holds a servable request */
	HTTP_PARSE_ERROR = -1,	/* answer req->status and close */
};

/* Parses the request head at the start of buf[0..len) (bytes after it are
 * the next pipelined request). len may exceed HTTP_HEAD_MAX: only the
 * first HTTP_HEAD_MAX bytes are looked at, and a head not complete within
 * them is an error (431, or 414 for the request line). */
enum http_parse_result http_req_parse(const char *buf, size_t len, struct http_req *req);

/* The reason phrase of a status this module produces ("OK", "Not Found",
 * ...; "Error" for others). */
const char *http_reason(int status);

/* Writes a response head: status line, Content-Type (if not NULL),
 * Content-Length, Connection (keep-alive or close), Allow for 405, and
 * the blank line. Returns its length, or -ENOSPC when cap is too small. */
int http_resp_head(char *buf, size_t cap, int status, const char *content_type,
		   size_t body_len, bool keep_alive);

#endif
