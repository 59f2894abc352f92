/* /1.0/instances, /1.0/instances/{name}, /1.0/instances/{name}/state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/images.h"
#include "platform/instance.h"
#include "platform/limits.h"
#include "platform/name.h"
#include "platform/network.h"
#include "platform/ops.h"

#define MAX_ARGS 256

static struct json_object *fail(const vs_err *err)
{
	return vsd_api_error(err);
}

static struct json_object *submit(vsd *d, vsd_req *r, const char *desc, const char *name, vsd_op_fn fn,
				  vsd_inst_arg *arg)
{
	char url[64], res[128];
	snprintf(res, sizeof(res), "/1.0/instances/%s", name);
	vs_err err = {0};
	struct json_object *op = vsd_op_submit(d, desc, "instances", res, name, fn, arg, free, r->uid, url, &err);
	if (!op) {
		vsd_busy_drop(d, name);
		return fail(&err);
	}
	return vsd_env_async(url, op);
}

static bool recursion(const vsd_req *r, int level)
{
	return r->recursion && atoi(r->recursion) >= level;
}

static struct json_object *list(vsd *d, vsd_req *r)
{
	struct json_object *arr = json_object_new_array();
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM instances ORDER BY name", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (recursion(r, 1)) {
			struct json_object *o = vsd_inst_json(d, name, recursion(r, 2));
			if (o)
				json_object_array_add(arr, o);
		} else {
			char url[128];
			snprintf(url, sizeof(url), "/1.0/instances/%s", name);
			json_object_array_add(arr, json_object_new_string(url));
		}
	}
	sqlite3_finalize(st);
	return vsd_env_sync(arr);
}

/* Validate a create request completely; fills name/fp/config/command. */
static int parse_create(vsd *d, vsd_req *r, struct json_object **body, const char **name, char fp[65],
			struct json_object **config, struct json_object **command, vs_err *err)
{
	static const char *const keys[] = {"name", "source", "type", "config", "description", "command", "profiles", NULL};
	static const char *const src_keys[] = {"type", "alias", "fingerprint", NULL};
	if (vsd_api_body(r->body, r->body_len, keys, body, err) < 0)
		return -1;
	struct json_object *b = *body, *v;
	if (!json_object_object_get_ex(b, "name", &v) || !json_object_is_type(v, json_type_string))
		return vs_fail(err, VS_EINVAL_CONFIG, "name: required, a string");
	*name = json_object_get_string(v);
	if (vsd_name_check(*name, "instance name", err) < 0)
		return -1;
	snprintf(r->summary, sizeof(r->summary), "create instance %s", *name);
	if (json_object_object_get_ex(b, "type", &v) &&
	    (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "container")))
		return vs_fail(err, VS_EINVAL_CONFIG, "type: only \"container\" is supported by this vesseld");
	struct json_object *src;
	if (!json_object_object_get_ex(b, "source", &src) || !json_object_is_type(src, json_type_object))
		return vs_fail(err, VS_EINVAL_CONFIG, "source: required, an object {type: image, alias | fingerprint}");
	if (vsd_api_keys(src, "source", src_keys, err) < 0)
		return -1;
	const char *stype = json_object_get_string(json_object_object_get(src, "type"));
	if (!stype || strcmp(stype, "image"))
		return vs_fail(err, VS_EINVAL_CONFIG, "source.type: only \"image\" is supported");
	struct json_object *alias = json_object_object_get(src, "alias"), *fpo = json_object_object_get(src, "fingerprint");
	struct json_object *ref = alias ? alias : fpo;
	if (!ref || !json_object_is_type(ref, json_type_string) || (alias && fpo))
		return vs_fail(err, VS_EINVAL_CONFIG, "source: give one of alias or fingerprint, as a string");
	if (vsd_image_resolve(d, json_object_get_string(ref), fp, err) < 0) {
		if (err->code != ENOENT)
			return -1;
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return vs_fail(err, VS_EINVAL_CONFIG, "source: %s", msg);
	}
	*config = json_object_object_get(b, "config");
	vsd_limits lim;
	if (vsd_limits_parse(*config, &lim, err) < 0)
		return -1;
	if (vsd_net_check_instance(d, *config, *name, err) < 0)
		return -1;
	*command = json_object_object_get(b, "command");
	if (*command) {
		size_t n = json_object_is_type(*command, json_type_array) ? json_object_array_length(*command) : 0;
		if (n == 0 || n > MAX_ARGS)
			return vs_fail(err, VS_EINVAL_CONFIG, "command: expected an array of 1 to %d strings", MAX_ARGS);
		for (size_t i = 0; i < n; i++)
			if (!json_object_is_type(json_object_array_get_idx(*command, i), json_type_string))
				return vs_fail(err, VS_EINVAL_CONFIG, "command[%zu]: expected a string", i);
	}
	char *have = NULL;
	const char *a[] = {*name};
	if (vsd_db_text(d->db, "SELECT name FROM instances WHERE name = ?1", 1, a, &have, err) < 0)
		return -1;
	if (have) {
		free(have);
		return vs_fail(err, EEXIST, "instance %s already exists", *name);
	}
	return 0;
}

static struct json_object *create(vsd *d, vsd_req *r)
{
	struct json_object *body = NULL, *config = NULL, *command = NULL;
	const char *name = NULL;
	char fp[65];
	vs_err err = {0};
	if (parse_create(d, r, &body, &name, fp, &config, &command, &err) < 0) {
		json_object_put(body);
		return fail(&err);
	}
	if (vsd_busy_take(d, name) < 0) {
		json_object_put(body);
		vs_fail(&err, EBUSY, "instance %s is busy", name);
		return fail(&err);
	}
	unsigned char rnd[4];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	char cgid[96], now[40];
	snprintf(cgid, sizeof(cgid), "%s-%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2], rnd[3]);
	vsd_now(now);
	/* The intent, committed before anything exists on disk. */
	const char *row[] = {name, fp, config ? json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN) : "{}",
			     command ? json_object_to_json_string_ext(command, JSON_C_TO_STRING_PLAIN) : "[]", now, cgid};
	int rc = vsd_db_do(d->db, "insert instance", &err,
			   "INSERT INTO instances VALUES (?1, ?2, 'container', ?3, ?4, ?5, ?6, 'creating')", 6, row);
	vsd_inst_arg *arg = calloc(1, sizeof(*arg));
	if (rc < 0 || !arg) {
		free(arg);
		vsd_busy_drop(d, name);
		json_object_put(body);
		if (rc == 0)
			vs_fail(&err, ENOMEM, "create instance %s", name);
		return fail(&err);
	}
	snprintf(arg->name, sizeof(arg->name), "%s", name);
	char desc[128];
	snprintf(desc, sizeof(desc), "Creating instance %s", name);
	struct json_object *resp = submit(d, r, desc, arg->name, vsd_inst_create_op, arg);
	json_object_put(body);
	return resp;
}

static struct json_object *put_state(vsd *d, vsd_req *r, const char *name)
{
	static const char *const keys[] = {"action", "force", "timeout", "stateful", NULL};
	static const char *const actions[] = {"start", "stop", "restart", "freeze", "unfreeze", NULL};
	struct json_object *body = NULL, *v;
	vs_err err = {0};
	if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
		return fail(&err);
	vsd_inst_arg a = {.timeout = -1};
	const char *action = json_object_get_string(json_object_object_get(body, "action"));
	bool known = false;
	for (int i = 0; action && actions[i]; i++)
		known |= !strcmp(action, actions[i]);
	if (!known || !json_object_is_type(json_object_object_get(body, "action"), json_type_string)) {
		json_object_put(body);
		vs_fail(&err, VS_EINVAL_CONFIG, "action: expected start, stop, restart, freeze or unfreeze");
		return fail(&err);
	}
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(r->summary, sizeof(r->summary), "%s instance %s", action, name);
	if (json_object_object_get_ex(body, "force", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean)) {
			json_object_put(body);
			vs_fail(&err, VS_EINVAL_CONFIG, "force: expected a boolean");
			return fail(&err);
		}
		a.force = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "timeout", &v) && v) {
		if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
			json_object_put(body);
			vs_fail(&err, VS_EINVAL_CONFIG, "timeout: expected a number of seconds");
			return fail(&err);
		}
		a.timeout = json_object_get_double(v);
		if (a.timeout > 86400)
			a.timeout = 86400;
	}
	json_object_put(body);
	action = a.action; /* the body is gone */
	int code, pid;
	vsd_inst_status(d, name, &code, &pid);
	const char *bad = NULL;
	if (!strcmp(action, "start") && code != 102)
		bad = "is already running";
	else if (!strcmp(action, "freeze") && code != 103)
		bad = "is not running";
	else if (!strcmp(action, "unfreeze") && code != 110)
		bad = "is not frozen";
	else if (!strcmp(action, "restart") && code == 102)
		bad = "is not running";
	if (bad) {
		vs_fail(&err, VS_EINVAL_CONFIG, "instance %s %s", name, bad);
		return fail(&err);
	}
	if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		return fail(&err);
	}
	vsd_inst_arg *arg = malloc(sizeof(*arg));
	if (!arg) {
		vsd_busy_drop(d, name);
		vs_fail(&err, ENOMEM, "%s instance %s", action, name);
		return fail(&err);
	}
	*arg = a;
	snprintf(arg->name, sizeof(arg->name), "%s", name);
	char desc[128];
	snprintf(desc, sizeof(desc), "%c%s instance %s", action[0] - 32, action + 1, name);
	return submit(d, r, desc, arg->name, vsd_inst_state_op, arg);
}

static struct json_object *delete(vsd *d, vsd_req *r, const char *name)
{
	vs_err err = {0};
	snprintf(r->summary, sizeof(r->summary), "delete instance %s", name);
	int code, pid;
	vsd_inst_status(d, name, &code, &pid);
	if (code != 102) {
		vs_fail(&err, VS_EINVAL_CONFIG, "instance %s is running: stop it first", name);
		return fail(&err);
	}
	if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		return fail(&err);
	}
	const char *a[] = {name};
	vsd_inst_arg *arg = calloc(1, sizeof(*arg));
	if (!arg || vsd_db_do(d->db, "mark instance deleting", &err,
			      "UPDATE instances SET phase = 'deleting' WHERE name = ?1", 1, a) < 0) {
		free(arg);
		vsd_busy_drop(d, name);
		if (!err.code)
			vs_fail(&err, ENOMEM, "delete instance %s", name);
		return fail(&err);
	}
	snprintf(arg->name, sizeof(arg->name), "%s", name);
	char desc[128];
	snprintf(desc, sizeof(desc), "Deleting instance %s", name);
	return submit(d, r, desc, arg->name, vsd_inst_delete_op, arg);
}

struct json_object *vsd_api_instances(vsd *d, vsd_req *r, char **seg, int n)
{
	vs_err err = {0};
	bool get = !strcmp(r->method, "GET");
	if (n == 0) {
		if (get)
			return list(d, r);
		if (!strcmp(r->method, "POST"))
			return create(d, r);
		return vsd_env_error(405, "method not allowed");
	}
	const char *name = seg[0];
	if (vsd_name_check(name, "instance name", &err) < 0)
		return fail(&err);
	struct json_object *o = vsd_inst_json(d, name, recursion(r, 1));
	if (!o) {
		vs_fail(&err, ENOENT, "instance %s not found", name);
		return fail(&err);
	}
	if (n == 1 && get) {
		vsd_inst_etag(d, name, r->etag);
		return vsd_env_sync(o);
	}
	json_object_put(o);
	if (n == 1 && !strcmp(r->method, "DELETE"))
		return delete(d, r, name);
	if (n == 1 && (!strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH")))
		return vsd_api_inst_put(d, r, name, r->method[1] == 'A');
	if (n >= 2 && !strcmp(seg[1], "snapshots"))
		return vsd_api_snapshots(d, r, name, seg + 2, n - 2);
	if (n == 2 && !strcmp(seg[1], "files"))
		return vsd_api_files(d, r, name);
	if (n >= 2 && !strcmp(seg[1], "logs"))
		return vsd_api_logs(d, r, name, seg + 2, n - 2);
	if (n == 2 && !strcmp(seg[1], "state")) {
		if (get)
			return vsd_env_sync(vsd_inst_state_json(d, name));
		if (!strcmp(r->method, "PUT"))
			return put_state(d, r, name);
		return vsd_env_error(405, "method not allowed");
	}
	if (n == 2 && !strcmp(seg[1], "exec"))
		return strcmp(r->method, "POST") ? vsd_env_error(405, "method not allowed") : vsd_api_exec(d, r, name);
	if (n == 1)
		return vsd_env_error(405, "method not allowed");
	return vsd_env_error(404, "not found");
}
