#include "cmd/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/uclient.h"

const char *vs_client_socket(const vs_global *g)
{
	if (g->socket)
		return g->socket;
	const char *env = getenv("VESSEL_SOCKET");
	return env && *env ? env : "/run/vessel/vesseld.sock";
}

bool vs_client_wanted(const vs_global *g)
{
	if (getenv("VESSEL_NO_CLIENT"))
		return false; /* vesseld's own runtime calls */
	return g->socket || (getenv("VESSEL_SOCKET") && *getenv("VESSEL_SOCKET")) ||
	       access("/run/vessel/vesseld.sock", F_OK) == 0;
}

static int envelope(struct json_object *env, int status, struct json_object **meta, vs_err *err)
{
	const char *type = json_object_get_string(json_object_object_get(env, "type"));
	if (type && !strcmp(type, "error")) {
		int code = json_object_get_int(json_object_object_get(env, "error_code"));
		const char *msg = json_object_get_string(json_object_object_get(env, "error"));
		int e = code == 404 ? ENOENT : code == 409 ? EEXIST : code == 400 ? VS_EINVAL_CONFIG : EIO;
		return vs_fail(err, e, "%s", msg && *msg ? msg : "vesseld: request failed");
	}
	if (!type || (strcmp(type, "sync") && strcmp(type, "async")))
		return vs_fail(err, EPROTO, "vesseld: unexpected response (HTTP %d)", status);
	if (meta)
		*meta = json_object_get(json_object_object_get(env, "metadata"));
	return 0;
}

static int request(const vs_global *g, const char *method, const char *path, const char *body, int fd,
		   const char *header, struct json_object **meta, vs_err *err)
{
	vs_uc_req r = {.socket = vs_client_socket(g), .method = method, .path = path, .body = body, .body_fd = fd,
		       .extra_header = header};
	int status;
	struct json_object *env;
	if (vs_uc_do(&r, &status, &env, err) < 0)
		return -1;
	int rc = envelope(env, status, meta, err);
	json_object_put(env);
	return rc;
}

int vs_client_call(const vs_global *g, const char *method, const char *path, const char *body,
		   struct json_object **meta, vs_err *err)
{
	if (meta)
		*meta = NULL;
	return request(g, method, path, body, -1, NULL, meta, err);
}

/* Wait for the operation an async answer named. */
static int wait_op(const vs_global *g, struct json_object *op, struct json_object **meta, vs_err *err)
{
	const char *id = json_object_get_string(json_object_object_get(op, "id"));
	if (!id || strlen(id) > 64)
		return vs_fail(err, EPROTO, "vesseld: async response without an operation id");
	char path[128];
	snprintf(path, sizeof(path), "/1.0/operations/%s/wait", id);
	struct json_object *done = NULL;
	if (request(g, "GET", path, NULL, -1, NULL, &done, err) < 0)
		return -1;
	int code = json_object_get_int(json_object_object_get(done, "status_code"));
	const char *msg = json_object_get_string(json_object_object_get(done, "err"));
	int rc = 0;
	if (code != 200)
		rc = vs_fail(err, code == 400 ? VS_EINVAL_CONFIG : EIO, "%s", msg && *msg ? msg : "operation failed");
	else if (meta)
		*meta = json_object_get(json_object_object_get(done, "metadata"));
	json_object_put(done);
	return rc;
}

static int run(const vs_global *g, const char *method, const char *path, const char *body, int fd,
	       const char *header, struct json_object **meta, vs_err *err)
{
	if (meta)
		*meta = NULL;
	struct json_object *op = NULL;
	if (request(g, method, path, body, fd, header, &op, err) < 0)
		return -1;
	int rc = wait_op(g, op, meta, err);
	json_object_put(op);
	return rc;
}

int vs_client_run(const vs_global *g, const char *method, const char *path, const char *body,
		  struct json_object **meta, vs_err *err)
{
	return run(g, method, path, body, -1, NULL, meta, err);
}

int vs_client_upload(const vs_global *g, const char *path, int fd, const char *header,
		     struct json_object **meta, vs_err *err)
{
	return run(g, "POST", path, NULL, fd, header, meta, err);
}

int vs_client_send(const vs_global *g, const char *method, const char *path, int fd, const char *header,
		   vs_err *err)
{
	return request(g, method, path, NULL, fd, header, NULL, err);
}

int vs_client_get_raw(const vs_global *g, const char *path, char **body, size_t *len, vs_err *err)
{
	*body = NULL;
	vs_uc_req r = {.socket = vs_client_socket(g), .method = "GET", .path = path, .body_fd = -1, .raw = body, .raw_len = len};
	int status;
	struct json_object *env = NULL;
	if (vs_uc_do(&r, &status, &env, err) < 0)
		return -1;
	if (*body)
		return 0;
	int rc = envelope(env, status, NULL, err);
	json_object_put(env);
	return rc < 0 ? -1 : vs_fail(err, EPROTO, "GET %.64s: not a file", path);
}

int vs_client_inst_path(const char *name, const char *suffix, char *buf, size_t len, vs_err *err)
{
	char esc[256];
	if (vs_uc_escape(name, esc, sizeof(esc), err) < 0)
		return -1;
	int n = snprintf(buf, len, "/1.0/instances/%s%s", esc, suffix ? suffix : "");
	return n < 0 || (size_t)n >= len ? vs_fail(err, ENAMETOOLONG, "instance %.40s", name) : 0;
}
