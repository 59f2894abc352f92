/* vessel network create NAME [ipv4.address=GW/PREFIX] [ipv4.nat=true|false]
 * | ls [--format json] | rm NAME | info NAME: vesseld's managed networks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/uclient.h"

static int failed(const char *cmd, const vs_err *err)
{
	fprintf(stderr, "vessel network %s: %s\n", cmd, err->msg);
	return 1;
}

static int net_path(const char *name, const char *suffix, char *buf, size_t len, vs_err *err)
{
	char esc[256];
	if (vs_uc_escape(name, esc, sizeof(esc), err) < 0)
		return -1;
	int n = snprintf(buf, len, "/1.0/networks/%s%s", esc, suffix ? suffix : "");
	return n < 0 || (size_t)n >= len ? vs_fail(err, ENAMETOOLONG, "network %.40s", name) : 0;
}

static int create(vs_global *g, int argc, char **argv)
{
	if (argc < 1 || argv[0][0] == '-') {
		fprintf(stderr, "usage: vessel network create NAME [ipv4.address=10.10.0.1/24] [ipv4.nat=true|false]\n");
		return 2;
	}
	struct json_object *req = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(req, "name", json_object_new_string(argv[0]));
	json_object_object_add(req, "type", json_object_new_string("bridge"));
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			fprintf(stderr, "vessel network create: %s: expected KEY=VALUE\n", argv[i]);
			json_object_put(req);
			json_object_put(cfg);
			return 2;
		}
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
		json_object_object_add(cfg, key, json_object_new_string(eq + 1));
	}
	json_object_object_add(req, "config", cfg);
	vs_err err = {0};
	int rc = vs_client_call(g, "POST", "/1.0/networks", json_object_to_json_string(req), NULL, &err);
	json_object_put(req);
	if (rc < 0)
		return failed("create", &err);
	printf("Network %s created\n", argv[0]);
	return 0;
}

static int list(vs_global *g, int argc, char **argv)
{
	bool json = argc == 2 && !strcmp(argv[0], "--format") && !strcmp(argv[1], "json");
	if (argc && !json) {
		fprintf(stderr, "usage: vessel network ls [--format json]\n");
		return 2;
	}
	vs_err err = {0};
	struct json_object *m = NULL;
	if (vs_client_call(g, "GET", "/1.0/networks?recursion=1", NULL, &m, &err) < 0)
		return failed("ls", &err);
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY));
		json_object_put(m);
		return 0;
	}
	printf("%-20s %-10s %-20s %-6s %-8s %s\n", "NAME", "BRIDGE", "IPV4", "NAT", "STATUS", "USED BY");
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		struct json_object *o = json_object_array_get_idx(m, i), *c = json_object_object_get(o, "config");
		printf("%-20s %-10s %-20s %-6s %-8s %zu\n", json_object_get_string(json_object_object_get(o, "name")),
		       json_object_get_string(json_object_object_get(c, "bridge.name")),
		       json_object_get_string(json_object_object_get(c, "ipv4.address")),
		       json_object_get_string(json_object_object_get(c, "ipv4.nat")),
		       json_object_get_string(json_object_object_get(o, "status")),
		       json_object_array_length(json_object_object_get(o, "used_by")));
	}
	json_object_put(m);
	return 0;
}

static int one(vs_global *g, int argc, char **argv, const char *cmd)
{
	if (argc != 1) {
		fprintf(stderr, "usage: vessel network %s NAME\n", cmd);
		return 2;
	}
	char path[320];
	vs_err err = {0};
	struct json_object *m = NULL;
	bool rm = !strcmp(cmd, "rm");
	if (net_path(argv[0], rm ? NULL : "/leases", path, sizeof(path), &err) < 0 ||
	    vs_client_call(g, rm ? "DELETE" : "GET", path, NULL, &m, &err) < 0)
		return failed(cmd, &err);
	if (rm) {
		printf("Network %s deleted\n", argv[0]);
	} else {
		for (size_t i = 0; i < json_object_array_length(m); i++) {
			struct json_object *o = json_object_array_get_idx(m, i);
			printf("%-20s %s\n", json_object_get_string(json_object_object_get(o, "hostname")),
			       json_object_get_string(json_object_object_get(o, "address")));
		}
	}
	json_object_put(m);
	return 0;
}

VS_CMD(network)
{
	const char *sub = argc >= 1 ? argv[0] : "";
	if (!strcmp(sub, "create"))
		return create(g, argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return list(g, argc - 1, argv + 1);
	if (!strcmp(sub, "rm") || !strcmp(sub, "delete"))
		return one(g, argc - 1, argv + 1, "rm");
	if (!strcmp(sub, "leases"))
		return one(g, argc - 1, argv + 1, "leases");
	fprintf(stderr, "usage: vessel network create NAME [ipv4.address=GW/PREFIX] [ipv4.nat=BOOL] | ls | rm NAME | leases NAME\n");
	return 2;
}
