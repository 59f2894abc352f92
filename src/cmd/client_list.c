/* vessel ls, vessel image import|pull|ls|rm, vessel audit [verify]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/uclient.h"

/* A YAML scalar: plain when it cannot be misread, else JSON-quoted (a
 * valid YAML double-quoted scalar). */
static void yaml_scalar(FILE *f, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_string)) {
		fputs(v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null", f);
		return;
	}
	const char *s = json_object_get_string(v);
	bool plain = *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") == strlen(s) &&
		     !strchr("0123456789.-", s[0]) && strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "null") &&
		     strcmp(s, "yes") && strcmp(s, "no");
	fputs(plain ? s : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), f);
}

static void yaml(FILE *f, struct json_object *v, int indent, bool in_list);

static void yaml_key(FILE *f, const char *k)
{
	struct json_object *s = json_object_new_string(k);
	yaml_scalar(f, s);
	json_object_put(s);
	fputc(':', f);
}

static void yaml(FILE *f, struct json_object *v, int indent, bool in_list)
{
	if (json_object_is_type(v, json_type_object)) {
		bool first = true;
		if (!json_object_object_length(v)) {
			fputs(in_list ? "{}\n" : " {}\n", f);
			return;
		}
		if (!in_list)
			fputc('\n', f);
		json_object_object_foreach(v, k, child)
		{
			if (!(in_list && first))
				fprintf(f, "%*s", indent, "");
			first = false;
			yaml_key(f, k);
			yaml(f, child, indent + 2, false);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		if (!json_object_array_length(v)) {
			fputs(in_list ? "[]\n" : " []\n", f);
			return;
		}
		if (!in_list)
			fputc('\n', f);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			fprintf(f, "%*s- ", in_list && i == 0 ? 0 : indent, "");
			yaml(f, json_object_array_get_idx(v, i), indent + 2, true);
		}
	} else {
		if (!in_list)
			fputc(' ', f);
		yaml_scalar(f, v);
		fputc('\n', f);
	}
}

static int print_format(const char *cmd, const char *format, struct json_object *list, bool *done)
{
	*done = true;
	if (!format || !strcmp(format, "table")) {
		*done = false;
		return 0;
	}
	if (!strcmp(format, "json")) {
		printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	if (!strcmp(format, "yaml")) {
		if (!json_object_array_length(list))
			printf("[]\n");
		else
			yaml(stdout, list, 0, true);
		return 0;
	}
	fprintf(stderr, "vessel %s: --format must be table, json or yaml\n", cmd);
	return 2;
}

static int fail(const char *cmd, const vs_err *err)
{
	char buf[768];
	fprintf(stderr, "vessel %s: %s\n", cmd,
		err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST ? err->msg
		: vs_err_str(err, buf, sizeof(buf)));
	return 1;
}

/* Flags for ls-like commands: --format F / -f F / --format=F. */
static int parse_format(const char *cmd, int argc, char **argv, const char **format, int *npos, char **pos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "--format") || !strcmp(argv[i], "-f")) && i + 1 < argc)
			*format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			*format = argv[i] + 9;
		else if (argv[i][0] == '-') {
			fprintf(stderr, "vessel %s: unknown flag %s\n", cmd, argv[i]);
			return -1;
		} else if (*npos < 4)
			pos[(*npos)++] = argv[i];
	}
	return 0;
}

VS_CMD(ls)
{
	const char *format = NULL;
	char *pos[4];
	int npos;
	if (parse_format("ls", argc, argv, &format, &npos, pos) < 0 || npos) {
		fprintf(stderr, "usage: vessel ls [--format table|json|yaml]\n");
		return 2;
	}
	vs_err err = {0};
	struct json_object *list = NULL;
	if (vs_client_call(g, "GET", "/1.0/instances?recursion=2", NULL, &list, &err) < 0)
		return fail("ls", &err);
	bool done;
	int rc = print_format("ls", format, list, &done);
	if (!done) {
		printf("%-24s %-10s %-10s %-8s %-14s %s\n", "NAME", "STATUS", "TYPE", "PID", "IMAGE", "LIMITS");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *o = json_object_array_get_idx(list, i);
			struct json_object *cfg = json_object_object_get(o, "config");
			const char *img = json_object_get_string(json_object_object_get(cfg, "volatile.base_image"));
			const char *mem = json_object_get_string(json_object_object_get(cfg, "limits.memory"));
			const char *cpu = json_object_get_string(json_object_object_get(cfg, "limits.cpu"));
			char limits[96];
			snprintf(limits, sizeof(limits), "%s%s%s%s", mem ? "memory=" : "", mem ? mem : "",
				 cpu ? (mem ? " cpu=" : "cpu=") : "", cpu ? cpu : "");
			int pid = json_object_get_int(json_object_object_get(json_object_object_get(o, "state"), "pid"));
			char pids[16] = "-";
			if (pid)
				snprintf(pids, sizeof(pids), "%d", pid);
			printf("%-24s %-10s %-10s %-8s %-14.12s %s\n", json_object_get_string(json_object_object_get(o, "name")),
			       json_object_get_string(json_object_object_get(o, "status")),
			       json_object_get_string(json_object_object_get(o, "type")), pids, img ? img : "-", limits);
		}
	}
	json_object_put(list);
	return rc;
}

static int image_import(vs_global *g, int argc, char **argv)
{
	const char *file = NULL, *alias = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--alias") && i + 1 < argc)
			alias = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			file = NULL;
			break;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: vessel image import FILE [--alias NAME]\n");
		return 2;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	vs_err err = {0};
	if (fd < 0) {
		fprintf(stderr, "vessel image import: open %s: %s\n", file, strerror(errno));
		return 1;
	}
	char header[160] = "";
	if (alias && snprintf(header, sizeof(header), "X-Vessel-Alias: %s", alias) >= (int)sizeof(header)) {
		close(fd);
		fprintf(stderr, "vessel image import: alias too long\n");
		return 2;
	}
	if (alias && strpbrk(alias, "\r\n")) {
		close(fd);
		fprintf(stderr, "vessel image import: alias must not contain line breaks\n");
		return 2;
	}
	struct json_object *meta = NULL;
	int rc = vs_client_upload(g, "/1.0/images", fd, alias ? header : NULL, &meta, &err);
	close(fd);
	if (rc < 0)
		return fail("image import", &err);
	printf("Image imported with fingerprint: %s\n", json_object_get_string(json_object_object_get(meta, "fingerprint")));
	json_object_put(meta);
	return 0;
}

/* vessel image pull [http[s]://]HOST[:PORT]/REPO[:TAG|@DIGEST] [--alias NAME] */
static int image_pull(vs_global *g, int argc, char **argv)
{
	const char *ref = NULL, *alias = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--alias") && i + 1 < argc)
			alias = argv[++i];
		else if (argv[i][0] != '-' && !ref)
			ref = argv[i];
		else {
			ref = NULL;
			break;
		}
	}
	const char *rest = ref ? strstr(ref, "://") : NULL;
	rest = rest ? rest + 3 : ref;
	const char *slash = rest ? strchr(rest, '/') : NULL;
	if (!ref || !slash) {
		fprintf(stderr, "usage: vessel image pull [http[s]://]HOST[:PORT]/REPO[:TAG|@DIGEST] [--alias NAME]\n");
		return 2;
	}
	char server[600];
	snprintf(server, sizeof(server), "%s%.*s", rest == ref ? "https://" : "", (int)(slash - ref), ref);
	struct json_object *req = json_object_new_object(), *src = json_object_new_object();
	json_object_object_add(src, "type", json_object_new_string("image"));
	json_object_object_add(src, "mode", json_object_new_string("pull"));
	json_object_object_add(src, "protocol", json_object_new_string("oci"));
	json_object_object_add(src, "server", json_object_new_string(server));
	json_object_object_add(src, "alias", json_object_new_string(slash + 1));
	json_object_object_add(req, "source", src);
	if (alias) {
		struct json_object *arr = json_object_new_array(), *a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(alias));
		json_object_array_add(arr, a);
		json_object_object_add(req, "aliases", arr);
	}
	vs_err err = {0};
	struct json_object *meta = NULL;
	int rc = vs_client_run(g, "POST", "/1.0/images", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), &meta, &err);
	json_object_put(req);
	if (rc < 0)
		return fail("image pull", &err);
	printf("Image pulled with fingerprint: %s\n", json_object_get_string(json_object_object_get(meta, "fingerprint")));
	json_object_put(meta);
	return 0;
}

static int image_ls(vs_global *g, int argc, char **argv)
{
	const char *format = NULL;
	char *pos[4];
	int npos;
	if (parse_format("image ls", argc, argv, &format, &npos, pos) < 0 || npos) {
		fprintf(stderr, "usage: vessel image ls [--format table|json|yaml]\n");
		return 2;
	}
	vs_err err = {0};
	struct json_object *list = NULL;
	if (vs_client_call(g, "GET", "/1.0/images?recursion=1", NULL, &list, &err) < 0)
		return fail("image ls", &err);
	bool done;
	int rc = print_format("image ls", format, list, &done);
	if (!done) {
		printf("%-14s %-20s %-8s %-7s %-12s %s\n", "FINGERPRINT", "ALIASES", "FORMAT", "LAYERS", "SIZE", "CREATED");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *o = json_object_array_get_idx(list, i);
			struct json_object *al = json_object_object_get(o, "aliases");
			char aliases[128] = "";
			for (size_t j = 0; j < json_object_array_length(al); j++) {
				size_t n = strlen(aliases);
				snprintf(aliases + n, sizeof(aliases) - n, "%s%s", j ? "," : "",
					 json_object_get_string(json_object_object_get(json_object_array_get_idx(al, j), "name")));
			}
			printf("%-14.12s %-20s %-8s %-7zu %-12lld %s\n",
			       json_object_get_string(json_object_object_get(o, "fingerprint")), *aliases ? aliases : "-",
			       json_object_get_string(json_object_object_get(json_object_object_get(o, "properties"), "format")),
			       json_object_array_length(json_object_object_get(o, "layers")),
			       (long long)json_object_get_int64(json_object_object_get(o, "size")),
			       json_object_get_string(json_object_object_get(o, "created_at")));
		}
	}
	json_object_put(list);
	return rc;
}

static int image_rm(vs_global *g, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: vessel image rm ALIAS|FINGERPRINT\n");
		return 2;
	}
	vs_err err = {0};
	char esc[256], path[320];
	if (vs_uc_escape(argv[0], esc, sizeof(esc), &err) < 0)
		return fail("image rm", &err);
	/* An alias first, else a fingerprint (prefix). */
	struct json_object *alias = NULL;
	snprintf(path, sizeof(path), "/1.0/images/aliases/%s", esc);
	const char *fp = argv[0];
	if (vs_client_call(g, "GET", path, NULL, &alias, NULL) == 0)
		fp = json_object_get_string(json_object_object_get(alias, "target"));
	if (vs_uc_escape(fp, esc, sizeof(esc), &err) < 0) {
		json_object_put(alias);
		return fail("image rm", &err);
	}
	snprintf(path, sizeof(path), "/1.0/images/%s", esc);
	json_object_put(alias);
	if (vs_client_call(g, "DELETE", path, NULL, NULL, &err) < 0)
		return fail("image rm", &err);
	return 0;
}

VS_CMD(image)
{
	if (argc >= 1 && !strcmp(argv[0], "import"))
		return image_import(g, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "pull"))
		return image_pull(g, argc - 1, argv + 1);
	if (argc >= 1 && (!strcmp(argv[0], "ls") || !strcmp(argv[0], "list")))
		return image_ls(g, argc - 1, argv + 1);
	if (argc >= 1 && (!strcmp(argv[0], "rm") || !strcmp(argv[0], "delete")))
		return image_rm(g, argc - 1, argv + 1);
	fprintf(stderr, "usage: vessel image import FILE [--alias NAME] | pull REF [--alias NAME] | ls [--format F] | rm ALIAS|FINGERPRINT\n");
	return 2;
}

VS_CMD(audit)
{
	vs_err err = {0};
	struct json_object *m = NULL;
	if (argc == 1 && !strcmp(argv[0], "verify")) {
		if (vs_client_call(g, "GET", "/1.0/audit/verify", NULL, &m, &err) < 0)
			return fail("audit verify", &err);
		bool valid = json_object_get_boolean(json_object_object_get(m, "valid"));
		long long n = (long long)json_object_get_int64(json_object_object_get(m, "entries"));
		if (valid)
			printf("audit log: %lld entries, hash chain intact\n", n);
		else
			fprintf(stderr, "vessel audit verify: %s\n", json_object_get_string(json_object_object_get(m, "error")));
		json_object_put(m);
		return valid ? 0 : 1;
	}
	if (argc != 0) {
		fprintf(stderr, "usage: vessel audit [verify]\n");
		return 2;
	}
	if (vs_client_call(g, "GET", "/1.0/audit", NULL, &m, &err) < 0)
		return fail("audit", &err);
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		struct json_object *e = json_object_array_get_idx(m, i);
		printf("%-5lld %-27s uid=%-5lld %-9s %-40s %-30s %s\n",
		       (long long)json_object_get_int64(json_object_object_get(e, "seq")),
		       json_object_get_string(json_object_object_get(e, "time")),
		       (long long)json_object_get_int64(json_object_object_get(e, "uid")),
		       json_object_get_string(json_object_object_get(e, "method")),
		       json_object_get_string(json_object_object_get(e, "path")),
		       json_object_get_string(json_object_object_get(e, "summary")),
		       json_object_get_string(json_object_object_get(e, "result")));
	}
	json_object_put(m);
	return 0;
}
