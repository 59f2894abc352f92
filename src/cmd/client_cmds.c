/* The client group: commands that only talk to vesseld (launch, ls, stop,
 * restart, rm, info, image, audit; start falls back here from the
 * runtime's start, see lifecycle.c). Flags may come before or after the
 * positional arguments; "--" ends them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/uclient.h"

#define MAX_POS 8

int vs_client_start(vs_global *g, const char *name, vs_err *err);

typedef struct cl_args {
	const char *pos[MAX_POS];
	int npos;
	const char *format, *alias, *timeout;
	const char *config[32];
	int nconfig;
	bool force, help;
	char **cmd; /* after "--" */
	int ncmd;
} cl_args;

static int cl_parse(const char *name, int argc, char **argv, cl_args *a)
{
	memset(a, 0, sizeof(*a));
	bool force_cmd = !strcmp(name, "rm") || !strcmp(name, "stop") || !strcmp(name, "restart");
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		bool short_f = !strcmp(s, "-f");
		const char **val = !strcmp(s, "--format") || (short_f && !force_cmd) ? &a->format
				 : !strcmp(s, "--alias") ? &a->alias
				 : !strcmp(s, "--timeout") ? &a->timeout : NULL;
		if (!strcmp(s, "--")) {
			a->cmd = argv + i + 1;
			a->ncmd = argc - i - 1;
			break;
		} else if (!strcmp(s, "-c") || !strcmp(s, "--config")) {
			if (i + 1 >= argc || a->nconfig == 32) {
				fprintf(stderr, "vessel %s: %s needs KEY=VALUE\n", name, s);
				return -1;
			}
			a->config[a->nconfig++] = argv[++i];
		} else if (val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vessel %s: %s needs a value\n", name, s);
				return -1;
			}
			*val = argv[++i];
		} else if (!strcmp(s, "--force") || short_f) {
			a->force = true;
		} else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			a->help = true;
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "vessel %s: unknown flag %s\n", name, s);
			return -1;
		} else if (a->npos < MAX_POS) {
			a->pos[a->npos++] = s;
		} else {
			fprintf(stderr, "vessel %s: too many arguments\n", name);
			return -1;
		}
	}
	return 0;
}

static int need(const char *name, const cl_args *a, int n, const char *usage)
{
	if (a->npos == n && !a->help)
		return 0;
	fprintf(a->help ? stdout : stderr, "usage: vessel %s %s\n", name, usage);
	return -1;
}

static int failed(const char *cmd, const vs_err *err)
{
	char buf[768];
	fprintf(stderr, "vessel %s: %s\n", cmd,
		err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST ? err->msg
		: vs_err_str(err, buf, sizeof(buf)));
	return 1;
}

/* PUT /state {action, force, timeout} and wait. */
static int state_action(vs_global *g, const char *name, const char *action, bool force, const char *timeout,
			vs_err *err)
{
	char path[320], body[160];
	if (vs_client_inst_path(name, "/state", path, sizeof(path), err) < 0)
		return -1;
	double t = timeout ? strtod(timeout, NULL) : -1;
	snprintf(body, sizeof(body), "{\"action\":\"%s\",\"force\":%s,\"timeout\":%g}", action, force ? "true" : "false", t);
	return vs_client_run(g, "PUT", path, body, NULL, err);
}

VS_CMD(launch)
{
	cl_args a;
	if (cl_parse("launch", argc, argv, &a) < 0 ||
	    need("launch", &a, 2, "IMAGE NAME [-c limits.memory=256MiB] [-c limits.cpu=2] [-- CMD...]") < 0)
		return a.help ? 0 : 2;
	struct json_object *req = json_object_new_object(), *src = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(req, "name", json_object_new_string(a.pos[1]));
	json_object_object_add(src, "type", json_object_new_string("image"));
	json_object_object_add(src, "alias", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "source", src);
	json_object_object_add(req, "type", json_object_new_string("container"));
	for (int i = 0; i < a.nconfig; i++) {
		const char *eq = strchr(a.config[i], '=');
		if (!eq || eq == a.config[i]) {
			fprintf(stderr, "vessel launch: -c %s: expected KEY=VALUE\n", a.config[i]);
			json_object_put(req);
			json_object_put(cfg);
			return 2;
		}
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - a.config[i]), a.config[i]);
		json_object_object_add(cfg, key, json_object_new_string(eq + 1));
	}
	json_object_object_add(req, "config", cfg);
	if (a.ncmd > 0) {
		struct json_object *cmd = json_object_new_array();
		for (int i = 0; i < a.ncmd; i++)
			json_object_array_add(cmd, json_object_new_string(a.cmd[i]));
		json_object_object_add(req, "command", cmd);
	}
	vs_err err = {0};
	int rc = vs_client_run(g, "POST", "/1.0/instances", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			       NULL, &err);
	json_object_put(req);
	if (rc < 0)
		return failed("launch", &err);
	if (state_action(g, a.pos[1], "start", false, NULL, &err) < 0)
		return failed("launch", &err);
	printf("Launched %s\n", a.pos[1]);
	return 0;
}

static int simple_action(vs_global *g, int argc, char **argv, const char *cmd, const char *action)
{
	cl_args a;
	if (cl_parse(cmd, argc, argv, &a) < 0 || need(cmd, &a, 1, "NAME [--force] [--timeout SECONDS]") < 0)
		return a.help ? 0 : 2;
	vs_err err = {0};
	if (state_action(g, a.pos[0], action, a.force, a.timeout, &err) < 0)
		return failed(cmd, &err);
	return 0;
}

VS_CMD(stop) { return simple_action(g, argc, argv, "stop", "stop"); }
VS_CMD(restart) { return simple_action(g, argc, argv, "restart", "restart"); }

int vs_client_start(vs_global *g, const char *name, vs_err *err)
{
	return state_action(g, name, "start", false, NULL, err);
}

VS_CMD(rm)
{
	cl_args a;
	if (cl_parse("rm", argc, argv, &a) < 0 || need("rm", &a, 1, "[-f] NAME") < 0)
		return a.help ? 0 : 2;
	vs_err err = {0};
	char path[320];
	if (vs_client_inst_path(a.pos[0], NULL, path, sizeof(path), &err) < 0)
		return failed("rm", &err);
	if (a.force) {
		struct json_object *inst = NULL;
		if (vs_client_call(g, "GET", path, NULL, &inst, &err) < 0)
			return failed("rm", &err);
		const char *st = json_object_get_string(json_object_object_get(inst, "status"));
		bool stopped = st && !strcmp(st, "Stopped");
		json_object_put(inst);
		if (!stopped && state_action(g, a.pos[0], "stop", true, NULL, &err) < 0)
			return failed("rm", &err);
	}
	if (vs_client_run(g, "DELETE", path, NULL, NULL, &err) < 0)
		return failed("rm", &err);
	return 0;
}

VS_CMD(info)
{
	cl_args a;
	if (cl_parse("info", argc, argv, &a) < 0 || need("info", &a, 1, "NAME") < 0)
		return a.help ? 0 : 2;
	vs_err err = {0};
	char path[320];
	struct json_object *o = NULL;
	if (vs_client_inst_path(a.pos[0], "?recursion=1", path, sizeof(path), &err) < 0 ||
	    vs_client_call(g, "GET", path, NULL, &o, &err) < 0)
		return failed("info", &err);
	struct json_object *st = json_object_object_get(o, "state");
	printf("Name: %s\nType: %s\nStatus: %s\nCreated: %s\n", json_object_get_string(json_object_object_get(o, "name")),
	       json_object_get_string(json_object_object_get(o, "type")),
	       json_object_get_string(json_object_object_get(o, "status")),
	       json_object_get_string(json_object_object_get(o, "created_at")));
	if (st && json_object_get_int(json_object_object_get(st, "pid")))
		printf("PID: %d\n", json_object_get_int(json_object_object_get(st, "pid")));
	printf("Command: %s\nConfig:\n", json_object_to_json_string_ext(json_object_object_get(o, "command"), JSON_C_TO_STRING_PLAIN));
	json_object_object_foreach(json_object_object_get(o, "config"), k, v) printf("  %s: %s\n", k, json_object_get_string(v));
	json_object_put(o);
	return 0;
}

int vs_client_exec(vs_global *g, const char *name, int argc, char **argv, vs_err *err)
{
	if (argc > 0 && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
	if (argc == 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "exec %s: a command is required", name);
	char path[320];
	if (vs_client_inst_path(name, "/exec", path, sizeof(path), err) < 0)
		return -1;
	struct json_object *req = json_object_new_object(), *cmd = json_object_new_array();
	for (int i = 0; i < argc; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	json_object_object_add(req, "command", cmd);
	json_object_object_add(req, "wait-for-websocket", json_object_new_boolean(false));
	json_object_object_add(req, "record-output", json_object_new_boolean(true));
	struct json_object *meta = NULL;
	int rc = vs_client_run(g, "POST", path, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), &meta, err);
	json_object_put(req);
	if (rc < 0)
		return -1;
	struct json_object *out = json_object_object_get(meta, "output");
	fputs(json_object_get_string(json_object_object_get(out, "1")) ?: "", stdout);
	fputs(json_object_get_string(json_object_object_get(out, "2")) ?: "", stderr);
	rc = json_object_get_int(json_object_object_get(meta, "return"));
	json_object_put(meta);
	return rc;
}
