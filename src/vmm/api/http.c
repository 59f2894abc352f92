/* The HTTP/1.1 subset Firecracker's clients use (curl, its Go SDK):
 * request line, headers, a Content-Length body. Everything else is refused
 * with 400 (413 for a body over the limit) before it reaches a handler. */
#include "vmm/api/http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	vs_http_method m;
} methods[] = {{"GET", VS_HTTP_GET}, {"PUT", VS_HTTP_PUT}, {"PATCH", VS_HTTP_PATCH}};

const char *vs_http_method_name(vs_http_method m)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "?";
}

static long bad(int *status, int code, vs_err *err, const char *msg)
{
	*status = code;
	vs_fail(err, VS_EINVAL_CONFIG, "%s", msg);
	return -1;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the header section (after CRLF CRLF), or 0 if not there yet. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return i + 4;
	return 0;
}

static long request_line(const char *l, size_t n, vs_http_req *req, bool *http10, int *status, vs_err *err)
{
	const char *sp1 = memchr(l, ' ', n);
	if (!sp1)
		return bad(status, 400, err, "malformed request line");
	size_t mlen = (size_t)(sp1 - l);
	bool known = false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == mlen && !memcmp(l, methods[i].name, mlen)) {
			req->method = methods[i].m;
			known = true;
		}
	if (!known)
		return bad(status, 400, err, "unsupported HTTP method (GET, PUT and PATCH are served)");
	const char *target = sp1 + 1, *end = l + n;
	const char *sp2 = memchr(target, ' ', (size_t)(end - target));
	if (!sp2 || sp2 == target)
		return bad(status, 400, err, "malformed request line");
	size_t tlen = (size_t)(sp2 - target);
	if (target[0] != '/')
		return bad(status, 400, err, "request target must be an absolute path");
	if (tlen >= VS_HTTP_MAX_PATH)
		return bad(status, 400, err, "request target longer than 255 bytes");
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return bad(status, 400, err, "request target has a control or non-ASCII byte");
	memcpy(req->path, target, tlen);
	req->path[tlen] = 0;
	size_t vlen = (size_t)(end - sp2 - 1);
	if (vlen == 8 && !memcmp(sp2 + 1, "HTTP/1.1", 8))
		*http10 = false;
	else if (vlen == 8 && !memcmp(sp2 + 1, "HTTP/1.0", 8))
		*http10 = true;
	else
		return bad(status, 400, err, "unsupported HTTP version (HTTP/1.1 or HTTP/1.0)");
	return 0;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(name, want, n);
}

/* Optional whitespace trimmed value of a header line. */
static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

long vs_http_parse(const char *buf, size_t len, vs_http_req *req, int *status, vs_err *err)
{
	memset(req, 0, sizeof(*req));
	*status = 0;
	size_t hend = header_end(buf, len < VS_HTTP_MAX_HEADER ? len : VS_HTTP_MAX_HEADER);
	if (!hend) {
		if (len >= VS_HTTP_MAX_HEADER)
			return bad(status, 400, err, "request header section larger than 8192 bytes");
		if (memchr(buf, 0, len))
			return bad(status, 400, err, "NUL byte in the request header");
		return 0;
	}
	if (memchr(buf, 0, hend))
		return bad(status, 400, err, "NUL byte in the request header");
	const char *p = buf, *end = buf + hend - 2; /* up to the last line's CRLF */
	bool http10 = false, have_len = false, close = false, keep = false;
	uint64_t clen = 0;
	for (bool first = true; p < end; first = false) {
		const char *eol = p;
		while (eol + 1 < end + 2 && !(eol[0] == '\r' && eol[1] == '\n')) {
			if (*eol == '\r' || *eol == '\n')
				return bad(status, 400, err, "bare CR or LF in the request header");
			eol++;
		}
		size_t n = (size_t)(eol - p);
		if (first) {
			if (request_line(p, n, req, &http10, status, err) < 0)
				return -1;
		} else {
			if (p[0] == ' ' || p[0] == '\t')
				return bad(status, 400, err, "folded header lines are not accepted");
			const char *colon = memchr(p, ':', n);
			if (!colon || colon == p)
				return bad(status, 400, err, "malformed header line (no name: value)");
			size_t nlen = (size_t)(colon - p);
			for (size_t i = 0; i < nlen; i++)
				if (!is_tchar(p[i]))
					return bad(status, 400, err, "malformed header name");
			const char *v = colon + 1;
			size_t vlen = n - nlen - 1;
			trim(&v, &vlen);
			if (name_is(p, nlen, "Content-Length")) {
				if (have_len)
					return bad(status, 400, err, "more than one Content-Length header");
				if (!vlen || vlen > 10)
					return bad(status, 400, err, "Content-Length is not a number");
				for (size_t i = 0; i < vlen; i++) {
					if (v[i] < '0' || v[i] > '9')
						return bad(status, 400, err, "Content-Length is not a number");
					clen = clen * 10 + (uint64_t)(v[i] - '0');
				}
				have_len = true;
			} else if (name_is(p, nlen, "Transfer-Encoding")) {
				return bad(status, 400, err,
					   "Transfer-Encoding (chunked) is not supported: send a Content-Length");
			} else if (name_is(p, nlen, "Connection")) {
				if (vlen == 5 && !strncasecmp(v, "close", 5))
					close = true;
				else if (vlen == 10 && !strncasecmp(v, "keep-alive", 10))
					keep = true;
			}
		}
		p = eol + 2;
	}
	if (clen > VS_HTTP_MAX_BODY)
		return bad(status, 413, err, "request body larger than 51200 bytes");
	if ((req->method == VS_HTTP_PUT || req->method == VS_HTTP_PATCH) && !have_len)
		return bad(status, 400, err, "a PUT or PATCH request needs a Content-Length header");
	if (len - hend < clen)
		return 0;
	req->body = clen ? buf + hend : NULL;
	req->body_len = (size_t)clen;
	req->keep_alive = http10 ? keep : !close;
	return (long)(hend + clen);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	default: return "Unknown";
	}
}

long vs_http_response(char *buf, size_t cap, int status, const char *json_body, bool keep_alive)
{
	size_t blen = json_body ? strlen(json_body) : 0;
	int n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\nServer: vessel\r\n%s%s", status, reason(status),
			 keep_alive ? "" : "Connection: close\r\n",
			 json_body ? "Content-Type: application/json\r\n" : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	int m = snprintf(buf + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n", blen);
	if (m < 0 || (size_t)(n + m) + blen > cap)
		return -1;
	memcpy(buf + n + m, json_body ? json_body : "", blen);
	return (long)((size_t)(n + m) + blen);
}
