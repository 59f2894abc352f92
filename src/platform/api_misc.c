/* GET /1.0, /1.0/operations[/{id}[/wait]], /1.0/audit[/verify]. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "platform/api.h"
#include "platform/envelope.h"
#include "platform/ops.h"

#define VSD_VERSION "0.1.0"

struct json_object *vsd_api_server(vsd *d, vsd_req *r)
{
	if (strcmp(r->method, "GET"))
		return vsd_env_error(405, "method not allowed");
	struct json_object *o = json_object_new_object(), *env = json_object_new_object();
	json_object_object_add(o, "api_extensions", json_object_new_array());
	json_object_object_add(o, "api_status", json_object_new_string("stable"));
	json_object_object_add(o, "api_version", json_object_new_string("1.0"));
	json_object_object_add(o, "auth", json_object_new_string("trusted"));
	struct json_object *methods = json_object_new_array();
	json_object_array_add(methods, json_object_new_string("unix"));
	json_object_object_add(o, "auth_methods", methods);
	json_object_object_add(o, "public", json_object_new_boolean(false));
	struct utsname u;
	uname(&u);
	json_object_object_add(env, "server", json_object_new_string("vesseld"));
	json_object_object_add(env, "server_version", json_object_new_string(VSD_VERSION));
	json_object_object_add(env, "server_pid", json_object_new_int(getpid()));
	json_object_object_add(env, "kernel", json_object_new_string(u.sysname));
	json_object_object_add(env, "kernel_version", json_object_new_string(u.release));
	json_object_object_add(env, "kernel_architecture", json_object_new_string(u.machine));
	json_object_object_add(env, "storage", json_object_new_string("dir"));
	json_object_object_add(env, "runtime", json_object_new_string(d->runtime));
	struct json_object *types = json_object_new_array();
	json_object_array_add(types, json_object_new_string("container"));
	json_object_object_add(env, "instance_types", types);
	json_object_object_add(o, "environment", env);
	return vsd_env_sync(o);
}

static bool op_id_ok(const char *id)
{
	return strlen(id) == 36 && strspn(id, "0123456789abcdef-") == 36;
}

struct json_object *vsd_api_operations(vsd *d, vsd_req *r, char **seg, int n)
{
	bool get = !strcmp(r->method, "GET");
	if (n == 0)
		return get ? vsd_env_sync(vsd_ops_list(d, r->recursion && atoi(r->recursion) >= 1))
			   : vsd_env_error(405, "method not allowed");
	if (!op_id_ok(seg[0]))
		return vsd_env_error(400, "operation id: expected a UUID");
	if (n > 2 || (n == 2 && strcmp(seg[1], "wait")))
		return vsd_env_error(404, "not found");
	if (!strcmp(r->method, "DELETE") && n == 1) {
		snprintf(r->summary, sizeof(r->summary), "cancel operation %s", seg[0]);
		vs_err err = {0};
		if (vsd_op_cancel(d, seg[0], &err) < 0)
			return vsd_api_error(&err);
		/* Answer once it has ended, so the caller sees Cancelled (or the
		 * Success of work that was past undoing). */
		vsd_op_wait(d, seg[0], 60);
		return vsd_env_sync(NULL);
	}
	if (!get)
		return vsd_env_error(405, "method not allowed");
	if (n == 2) {
		double t = -1;
		if (r->timeout) {
			char *end;
			t = strtod(r->timeout, &end);
			if (*end || end == r->timeout)
				return vsd_env_error(400, "timeout: expected a number of seconds");
		}
		if (vsd_op_wait(d, seg[0], t) < 0)
			return vsd_env_error(404, "operation not found");
	}
	struct json_object *op = vsd_op_json(d, seg[0]);
	return op ? vsd_env_sync(op) : vsd_env_error(404, "operation not found");
}

struct json_object *vsd_api_audit(vsd *d, vsd_req *r, char **seg, int n)
{
	if (strcmp(r->method, "GET"))
		return vsd_env_error(405, "method not allowed");
	if (n == 1 && !strcmp(seg[0], "verify")) {
		uint64_t entries = 0;
		vs_err err = {0};
		int rc = vsd_audit_verify(d->audit_path, &d->audit, &entries, &err);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "valid", json_object_new_boolean(rc == 0));
		json_object_object_add(o, "entries", json_object_new_int64((int64_t)entries));
		json_object_object_add(o, "head_seq", json_object_new_int64((int64_t)d->audit.seq));
		json_object_object_add(o, "head_hash", json_object_new_string(d->audit.hash));
		json_object_object_add(o, "error", json_object_new_string(rc == 0 ? "" : err.msg));
		return vsd_env_sync(o);
	}
	if (n != 0)
		return vsd_env_error(404, "not found");
	/* The entries themselves, as stored. */
	struct json_object *arr = json_object_new_array();
	FILE *f = fopen(d->audit_path, "re");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		struct json_object *e = json_tokener_parse(line);
		json_object_array_add(arr, e ? e : json_object_new_string(line));
	}
	free(line);
	if (f)
		fclose(f);
	return vsd_env_sync(arr);
}
