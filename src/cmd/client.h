/* The client group's plumbing: find vesseld, call the API, wait for
 * operations (client.c); the commands are in client_*.c. */
#ifndef VS_CMD_CLIENT_H
#define VS_CMD_CLIENT_H

#include <json-c/json.h>

#include "base/error.h"
#include "cmd/commands.h"

/* --socket, else $VESSEL_SOCKET, else /run/vessel/vesseld.sock. */
const char *vs_client_socket(const vs_global *g);
/* A sync call: *meta gets the envelope's metadata (owned by the caller;
 * may be NULL). An error envelope becomes err (404 -> ENOENT, 409 ->
 * EEXIST, 400 -> VS_EINVAL_CONFIG). */
int vs_client_call(const vs_global *g, const char *method, const char *path, const char *body,
		   struct json_object **meta, vs_err *err);
/* An async call: waits for its operation; *meta (may be NULL) gets the
 * finished operation's metadata. */
int vs_client_run(const vs_global *g, const char *method, const char *path, const char *body,
		  struct json_object **meta, vs_err *err);
/* The same for an upload of fd as the body, with one extra header. */
int vs_client_upload(const vs_global *g, const char *path, int fd, const char *header,
		     struct json_object **meta, vs_err *err);
/* A sync call with fd as the body and header lines (CRLF between). */
int vs_client_send(const vs_global *g, const char *method, const char *path, int fd, const char *header,
		   vs_err *err);
/* GET a raw body (a file, a log): *body (malloc'd, NUL-terminated) and its length. */
int vs_client_get_raw(const vs_global *g, const char *path, char **body, size_t *len, vs_err *err);
/* "/1.0/instances/<escaped name><suffix>" */
int vs_client_inst_path(const char *name, const char *suffix, char *buf, size_t len, vs_err *err);

#endif
