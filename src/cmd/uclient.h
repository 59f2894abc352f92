/* A small HTTP/1.1 client over vesseld's Unix socket, for the client
 * commands (vessel launch, ls, ...). No libcurl: build/vessel stays
 * static and small. One request per connection (Connection: close). */
#ifndef VS_CMD_UCLIENT_H
#define VS_CMD_UCLIENT_H

#include <json-c/json.h>
#include <stddef.h>

#include "base/error.h"

typedef struct vs_uc_req {
	const char *socket;
	const char *method, *path;  /* path already escaped */
	const char *body;           /* JSON, or NULL */
	int body_fd;                /* >= 0: stream this file as the body instead */
	const char *extra_header;   /* "Name: value" lines (CRLF between), or NULL */
	char **raw;                 /* set: a 200 answer's body is returned here as is (malloc'd) */
	size_t *raw_len;
} vs_uc_req;

/* Send r, read the whole response; *env gets the parsed JSON envelope
 * (NULL for a raw 200 answer, see raw). Fails on connection and protocol
 * errors (not on an error envelope). */
int vs_uc_do(const vs_uc_req *r, int *status, struct json_object **env, vs_err *err);

/* Percent-escape s for a path segment into out. */
int vs_uc_escape(const char *s, char *out, size_t len, vs_err *err);

#endif
