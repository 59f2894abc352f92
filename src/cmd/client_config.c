/* vessel config set|unset|show: an instance's config through vesseld
 * (PATCH /1.0/instances/{name}; limits change live). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/commands.h"

static int usage(FILE *f)
{
	fprintf(f, "usage: vessel config set NAME KEY=VALUE...   (e.g. limits.memory=256MiB limits.cpu=2)\n"
		   "       vessel config unset NAME KEY...\n"
		   "       vessel config show NAME\n");
	return f == stdout ? 0 : 2;
}

static int failed(const char *what, const vs_err *err)
{
	char buf[768];
	fprintf(stderr, "vessel config %s: %s\n", what,
		err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST ? err->msg
		: vs_err_str(err, buf, sizeof(buf)));
	return 1;
}

VS_CMD(config)
{
	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")))
		return usage(stdout);
	if (argc < 2)
		return usage(stderr);
	const char *verb = argv[0], *name = argv[1];
	vs_err err = {0};
	char path[320];
	if (vs_client_inst_path(name, NULL, path, sizeof(path), &err) < 0)
		return failed(verb, &err);
	if (!strcmp(verb, "show") && argc == 2) {
		struct json_object *o = NULL;
		if (vs_client_call(g, "GET", path, NULL, &o, &err) < 0)
			return failed("show", &err);
		json_object_object_foreach(json_object_object_get(o, "config"), k, v) printf("%s: %s\n", k, json_object_get_string(v));
		json_object_put(o);
		return 0;
	}
	bool set = !strcmp(verb, "set");
	if ((!set && strcmp(verb, "unset")) || argc < 3)
		return usage(stderr);
	struct json_object *req = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(req, "config", cfg);
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (set ? !eq || eq == argv[i] : !!eq) {
			fprintf(stderr, "vessel config %s: %s: expected %s\n", verb, argv[i], set ? "KEY=VALUE" : "KEY");
			json_object_put(req);
			return 2;
		}
		char key[128];
		snprintf(key, sizeof(key), "%.*s", set ? (int)(eq - argv[i]) : (int)strlen(argv[i]), argv[i]);
		json_object_object_add(cfg, key, json_object_new_string(set ? eq + 1 : "")); /* "" removes it */
	}
	int rc = vs_client_call(g, "PATCH", path, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL, &err);
	json_object_put(req);
	return rc < 0 ? failed(verb, &err) : 0;
}
