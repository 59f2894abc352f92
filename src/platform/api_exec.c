/* POST /1.0/instances/{name}/exec: a command in a running instance,
 * through the runtime's exec. Incus's body, non-interactive only; the
 * finished operation's metadata is {return, output: {"1": stdout, "2":
 * stderr}} with the output inline (at most 1 MiB each), not log URLs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/envelope.h"
#include "platform/instance.h"
#include "platform/ops.h"
#include "platform/runtime.h"

#define EXEC_ARGS 256

typedef struct exec_arg {
	char name[72];
	char *argv[EXEC_ARGS + 16]; /* the runtime's: exec [--env K=V]... [--cwd D] NAME CMD... */
} exec_arg;

static void exec_free(void *p)
{
	exec_arg *a = p;
	for (int i = 0; a->argv[i]; i++)
		free(a->argv[i]);
	free(a);
}

static int exec_op(vsd *d, void *p, struct json_object **meta, vs_err *err)
{
	exec_arg *a = p;
	char *out = NULL, *errout = NULL;
	int code;
	if (vsd_rt_exec(d, (const char *const *)a->argv, &out, &errout, &code, err) < 0)
		return vs_wrap(err, "exec in instance %s", a->name);
	*meta = json_object_new_object();
	json_object_object_add(*meta, "return", json_object_new_int(code));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "1", json_object_new_string(out ? out : ""));
	json_object_object_add(o, "2", json_object_new_string(errout ? errout : ""));
	json_object_object_add(*meta, "output", o);
	free(out);
	free(errout);
	return 0;
}

static int add(exec_arg *a, int *n, const char *s)
{
	if (*n >= EXEC_ARGS + 14 || !(a->argv[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

struct json_object *vsd_api_exec(vsd *d, vsd_req *r, const char *name)
{
	static const char *const keys[] = {"command", "environment", "cwd", "interactive", "wait-for-websocket",
					   "record-output", "width", "height", NULL};
	vs_err err = {0};
	struct json_object *body = NULL, *v;
	snprintf(r->summary, sizeof(r->summary), "exec in instance %s", name);
	if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
		return vsd_api_error(&err);
	exec_arg *a = calloc(1, sizeof(*a));
	int n = 0;
	struct json_object *cmd = json_object_object_get(body, "command");
	size_t ncmd = cmd && json_object_is_type(cmd, json_type_array) ? json_object_array_length(cmd) : 0;
	if (!a) {
		vs_fail(&err, ENOMEM, "exec");
		goto bad;
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (ncmd == 0 || ncmd > EXEC_ARGS) {
		vs_fail(&err, VS_EINVAL_CONFIG, "command: expected an array of 1 to %d strings", EXEC_ARGS);
		goto bad;
	}
	const char *flags[] = {"interactive", "wait-for-websocket"};
	for (int i = 0; i < 2; i++) {
		if ((v = json_object_object_get(body, flags[i])) && json_object_get_boolean(v)) {
			vs_fail(&err, VS_EINVAL_CONFIG, "%s: only non-interactive exec without a websocket is supported", flags[i]);
			goto bad;
		}
	}
	add(a, &n, "exec");
	struct json_object *env = json_object_object_get(body, "environment");
	if (env && !json_object_is_type(env, json_type_object)) {
		vs_fail(&err, VS_EINVAL_CONFIG, "environment: expected an object of strings");
		goto bad;
	}
	int nenv = 0;
	if (env) {
		json_object_object_foreach(env, k, val)
		{
			char kv[4096];
			if (!json_object_is_type(val, json_type_string) || !*k || strchr(k, '=') || ++nenv > 8 ||
			    snprintf(kv, sizeof(kv), "%s=%s", k, json_object_get_string(val)) >= (int)sizeof(kv)) {
				vs_fail(&err, VS_EINVAL_CONFIG, "environment.%.64s: expected a string (at most 8 variables, 4 KiB each)", k);
				goto bad;
			}
			add(a, &n, "--env");
			add(a, &n, kv);
		}
	}
	if ((v = json_object_object_get(body, "cwd"))) {
		const char *cwd = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) || cwd[0] != '/') {
			vs_fail(&err, VS_EINVAL_CONFIG, "cwd: expected an absolute path");
			goto bad;
		}
		add(a, &n, "--cwd");
		add(a, &n, cwd);
	}
	add(a, &n, name);
	for (size_t i = 0; i < ncmd; i++) {
		struct json_object *s = json_object_array_get_idx(cmd, i);
		if (!json_object_is_type(s, json_type_string)) {
			vs_fail(&err, VS_EINVAL_CONFIG, "command[%zu]: expected a string", i);
			goto bad;
		}
		if (add(a, &n, json_object_get_string(s)) < 0) {
			vs_fail(&err, ENOMEM, "exec");
			goto bad;
		}
	}
	json_object_put(body);
	body = NULL;
	int code, pid;
	vsd_inst_status(d, name, &code, &pid);
	if (code != 103) {
		vs_fail(&err, VS_EINVAL_CONFIG, "instance %s is not running", name);
		goto bad;
	}
	char url[64], res[128], desc[128];
	snprintf(res, sizeof(res), "/1.0/instances/%s", name);
	snprintf(desc, sizeof(desc), "Executing command in instance %s", name);
	struct json_object *op = vsd_op_submit(d, desc, "instances", res, NULL, exec_op, a, exec_free, r->uid, url, &err);
	return op ? vsd_env_async(url, op) : vsd_api_error(&err);
bad:
	json_object_put(body);
	if (a)
		exec_free(a);
	return vsd_api_error(&err);
}
