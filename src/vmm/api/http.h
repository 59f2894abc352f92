/* HTTP/1.1 requests as the API socket gets them, from an untrusted peer:
 * one validating parser with bounded sizes (header section, body), a
 * Content-Length for every body, no chunked or other transfer encodings,
 * and a clear reason for every refusal. Plus the response formatter. */
#ifndef VS_VMM_API_HTTP_H
#define VS_VMM_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define VS_HTTP_MAX_HEADER 8192   /* request line + headers + blank line */
#define VS_HTTP_MAX_BODY 51200    /* Firecracker's default payload limit */
#define VS_HTTP_MAX_PATH 256

typedef enum { VS_HTTP_GET, VS_HTTP_PUT, VS_HTTP_PATCH } vs_http_method;

typedef struct vs_http_req {
	vs_http_method method;
	char path[VS_HTTP_MAX_PATH]; /* the request target, "/..." */
	const char *body;            /* into the parsed buffer; NULL if none */
	size_t body_len;
	bool keep_alive;             /* HTTP/1.1 without "Connection: close" */
} vs_http_req;

/* Parse the request at the start of buf[0, len). Returns its length once
 * it is complete, 0 if more bytes are needed, -1 if it is malformed: then
 * *status is the HTTP status to answer (400, 413) and err says why. */
long vs_http_parse(const char *buf, size_t len, vs_http_req *req, int *status, vs_err *err);

/* "HTTP/1.1 <status> <reason>" with a JSON body (or none if NULL) into
 * buf; returns the length, or -1 if it does not fit. */
long vs_http_response(char *buf, size_t cap, int status, const char *json_body, bool keep_alive);

const char *vs_http_method_name(vs_http_method m);

#endif
