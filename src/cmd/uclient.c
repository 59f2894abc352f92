#include "cmd/uclient.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RESP_MAX ((size_t)64 << 20)

int vs_uc_escape(const char *s, char *out, size_t len, vs_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     strchr("-._~", *p);
		if (o + 4 > len)
			return vs_fail(err, ENAMETOOLONG, "name %.40s...", s);
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Decode a chunked body in place; -1 if malformed. */
static int dechunk(char *body, size_t len, size_t *out)
{
	size_t r = 0, w = 0;
	for (;;) {
		char *end;
		if (r >= len)
			return -1;
		unsigned long n = strtoul(body + r, &end, 16);
		char *crlf = strstr(body + r, "\r\n");
		if (!crlf || end == body + r)
			return -1;
		r = (size_t)(crlf - body) + 2;
		if (n == 0)
			break;
		if (n > len - r)
			return -1;
		memmove(body + w, body + r, n);
		w += n;
		r += n + 2;
	}
	*out = w;
	return 0;
}

int vs_uc_do(const vs_uc_req *r, int *status, struct json_object **env, vs_err *err)
{
	*env = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(r->socket) >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG, "socket %s", r->socket);
	strcpy(sa.sun_path, r->socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "connect to vesseld at %s (is it running? --socket or VESSEL_SOCKET)", r->socket);
	}
	unsigned long long clen = r->body ? strlen(r->body) : 0;
	if (r->body_fd >= 0) {
		struct stat st;
		if (fstat(r->body_fd, &st) < 0) {
			close(fd);
			return vs_fail(err, errno, "stat request body");
		}
		clen = (unsigned long long)st.st_size;
	}
	char head[1024];
	int hl = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.1\r\nHost: vesseld\r\nUser-Agent: vessel\r\nConnection: close\r\n"
			  "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
			  r->method, r->path, r->body_fd >= 0 ? "application/octet-stream" : "application/json", clen,
			  r->extra_header ? r->extra_header : "", r->extra_header ? "\r\n" : "");
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		close(fd);
		return vs_fail(err, ENAMETOOLONG, "request %s %.64s", r->method, r->path);
	}
	int rc = write_all(fd, head, (size_t)hl);
	if (rc == 0 && r->body)
		rc = write_all(fd, r->body, clen);
	if (rc == 0 && r->body_fd >= 0) {
		char buf[65536];
		ssize_t n;
		while (rc == 0 && (n = read(r->body_fd, buf, sizeof(buf))) > 0)
			rc = write_all(fd, buf, (size_t)n);
	}
	if (rc < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e ? e : EPIPE, "send %s %.64s to vesseld", r->method, r->path);
	}
	size_t cap = 65536, len = 0;
	char *resp = malloc(cap);
	ssize_t n;
	while (resp && (n = read(fd, resp + len, cap - len - 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		if (len + 1 == cap) {
			char *b = cap >= RESP_MAX ? NULL : realloc(resp, cap *= 2);
			if (!b) {
				free(resp);
				resp = NULL;
			} else {
				resp = b;
			}
		}
	}
	close(fd);
	if (!resp)
		return vs_fail(err, ENOMEM, "response to %s %.64s", r->method, r->path);
	resp[len] = '\0';
	char *body = strstr(resp, "\r\n\r\n");
	if (strncmp(resp, "HTTP/1.", 7) || !body || sscanf(resp + 8, " %d", status) != 1) {
		free(resp);
		return vs_fail(err, EPROTO, "%s %.64s: not an HTTP response from %s", r->method, r->path, r->socket);
	}
	*body = '\0';
	body += 4;
	size_t blen = len - (size_t)(body - resp);
	bool chunked = false;
	for (char *h = strstr(resp, "\r\n"); h; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Transfer-Encoding:", 18) && strstr(h + 20, "chunked"))
			chunked = true;
	if (chunked && dechunk(body, blen, &blen) < 0) {
		free(resp);
		return vs_fail(err, EPROTO, "%s %.64s: malformed chunked response", r->method, r->path);
	}
	body[blen] = '\0';
	if (r->raw && *status == 200) {
		*r->raw = malloc(blen + 1);
		if (*r->raw)
			memcpy(*r->raw, body, blen + 1);
		*r->raw_len = blen;
		free(resp);
		return *r->raw ? 0 : vs_fail(err, ENOMEM, "response to %s %.64s", r->method, r->path);
	}
	*env = json_tokener_parse(body);
	free(resp);
	if (!*env || !json_object_is_type(*env, json_type_object)) {
		json_object_put(*env);
		*env = NULL;
		return vs_fail(err, EPROTO, "%s %.64s: the response is not a JSON envelope (HTTP %d)", r->method, r->path, *status);
	}
	return 0;
}
