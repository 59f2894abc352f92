/* vessel snapshot create|list|restore|delete: an instance's stateless
 * snapshots through vesseld (not runc's checkpoint/restore). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/uclient.h"

static int usage(FILE *f)
{
	fprintf(f, "usage: vessel snapshot create NAME [SNAPSHOT]\n"
		   "       vessel snapshot list NAME [--format table|json]\n"
		   "       vessel snapshot restore NAME SNAPSHOT\n"
		   "       vessel snapshot delete NAME SNAPSHOT\n");
	return f == stdout ? 0 : 2;
}

static int failed(const char *what, const vs_err *err)
{
	char buf[768];
	fprintf(stderr, "vessel snapshot %s: %s\n", what,
		err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST ? err->msg
		: vs_err_str(err, buf, sizeof(buf)));
	return 1;
}

static int list(vs_global *g, const char *name, const char *format)
{
	vs_err err = {0};
	char path[320];
	struct json_object *m = NULL;
	if (vs_client_inst_path(name, "/snapshots?recursion=1", path, sizeof(path), &err) < 0 ||
	    vs_client_call(g, "GET", path, NULL, &m, &err) < 0)
		return failed("list", &err);
	if (format && !strcmp(format, "json")) {
		printf("%s\n", json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	} else {
		printf("%-24s %s\n", "NAME", "TAKEN AT");
		for (size_t i = 0; i < json_object_array_length(m); i++) {
			struct json_object *s = json_object_array_get_idx(m, i);
			printf("%-24s %s\n", json_object_get_string(json_object_object_get(s, "name")),
			       json_object_get_string(json_object_object_get(s, "created_at")));
		}
	}
	json_object_put(m);
	return 0;
}

VS_CMD(snapshot)
{
	const char *pos[3] = {NULL}, *format = NULL;
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (argv[i][0] == '-' || n == 3)
			return usage(stderr);
		else
			pos[n++] = argv[i];
	}
	if (n < 2)
		return usage(stderr);
	const char *verb = pos[0], *name = pos[1], *snap = pos[2];
	if (!strcmp(verb, "list") || !strcmp(verb, "ls"))
		return n == 2 ? list(g, name, format) : usage(stderr);
	vs_err err = {0};
	char path[400], body[160];
	if (!strcmp(verb, "create")) {
		if (snap)
			snprintf(body, sizeof(body), "{\"name\":\"%.64s\"}", snap);
		else
			snprintf(body, sizeof(body), "{}");
		struct json_object *m = NULL;
		if (vs_client_inst_path(name, "/snapshots", path, sizeof(path), &err) < 0 ||
		    vs_client_run(g, "POST", path, body, &m, &err) < 0)
			return failed("create", &err);
		json_object_put(m);
		return 0;
	}
	if (!snap || n != 3)
		return usage(stderr);
	if (!strcmp(verb, "restore")) {
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "restore", json_object_new_string(snap));
		int rc = vs_client_inst_path(name, NULL, path, sizeof(path), &err) < 0 ? -1
		       : vs_client_run(g, "PUT", path, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL, &err);
		json_object_put(req);
		return rc < 0 ? failed("restore", &err) : 0;
	}
	if (!strcmp(verb, "delete") || !strcmp(verb, "rm")) {
		char esc[256], suffix[300];
		if (vs_uc_escape(snap, esc, sizeof(esc), &err) < 0)
			return failed("delete", &err);
		snprintf(suffix, sizeof(suffix), "/snapshots/%s", esc);
		if (vs_client_inst_path(name, suffix, path, sizeof(path), &err) < 0 ||
		    vs_client_run(g, "DELETE", path, NULL, NULL, &err) < 0)
			return failed("delete", &err);
		return 0;
	}
	return usage(stderr);
}
