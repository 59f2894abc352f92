/* `vessel vm migrate --api-sock SOCK DEST`: PUT /migrate on a running
 * VMM's API socket (docs/vm-api.md), then its statistics on stdout (JSON)
 * or the refusal on stderr. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "cmd/commands.h"
#include "cmd/opts.h"

static const char usage_text[] =
	"usage: vessel vm migrate --api-sock SOCK [--max-downtime MS] [--max-rounds N] DEST\n"
	"\n"
	"Live-migrates the VM served on SOCK (vessel vm run --api-sock) to DEST,\n"
	"unix:PATH or tcp:HOST:PORT, where `vessel vm run --incoming DEST` waits.\n"
	"Pre-copy: memory is sent while the guest runs, then the pages it dirtied,\n"
	"until the rest fits the downtime budget (default 300 ms) or N rounds (30);\n"
	"then the guest pauses for the last pages and its device state. The source\n"
	"VMM exits once the destination runs the guest. On failure the guest goes\n"
	"on running here. Prints the statistics (JSON: rounds, bytes, downtime_ms,\n"
	"total_ms). Exit status: 0 migrated, 1 failed (the reason on stderr).\n";

/* One request, Connection: close; the status and the body (malloc'd). */
static int http_put(const char *sock, const char *path, const char *body, int *status, char **out, vs_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG, "API socket %s", sock);
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vs_fail(err, e, "connect to the VMM's API socket %s", sock);
	}
	char head[512];
	int hl = snprintf(head, sizeof(head),
			  "PUT %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n",
			  path, strlen(body));
	size_t cap = 8192, len = 0;
	char *resp = malloc(cap);
	if (!resp || write(fd, head, (size_t)hl) != hl || write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
		close(fd);
		free(resp);
		return vs_fail(err, errno ? errno : EIO, "send PUT %s to %s", path, sock);
	}
	ssize_t n;
	while ((n = read(fd, resp + len, cap - len - 1)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		len += (size_t)n;
		if (len + 1 == cap) {
			char *b = cap >= (1u << 20) ? NULL : realloc(resp, cap *= 2);
			if (!b)
				break;
			resp = b;
		}
	}
	close(fd);
	resp[len] = 0;
	char *b = strstr(resp, "\r\n\r\n");
	if (strncmp(resp, "HTTP/1.", 7) || !b || sscanf(resp + 8, " %d", status) != 1) {
		free(resp);
		return vs_fail(err, EPROTO, "PUT %s: no HTTP response from %s (did the VMM exit?)", path, sock);
	}
	memmove(resp, b + 4, strlen(b + 4) + 1);
	*out = resp;
	return 0;
}

int vs_cmd_vm_migrate(int argc, char **argv)
{
	const char *sock = NULL;
	long down = 0, rounds = 0;
	bool help = false;
	vs_opt opts[] = {
		{"api-sock", 0, OPT_STR, &sock},
		{"max-downtime", 0, OPT_INT, &down},
		{"max-rounds", 0, OPT_INT, &rounds},
		{"help", 'h', OPT_BOOL, &help},
		{0},
	};
	int i = vs_opts_parse("vm migrate", argc, argv, opts);
	if (i < 0)
		return 2;
	if (help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!sock || i != argc - 1 || down < 0 || down > 60000 || rounds < 0 || rounds > 1000) {
		fputs(usage_text, stderr);
		return 2;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "destination", json_object_new_string(argv[i]));
	if (down)
		json_object_object_add(o, "max_downtime_ms", json_object_new_int64(down));
	if (rounds)
		json_object_object_add(o, "max_rounds", json_object_new_int64(rounds));
	char *body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	vs_err err = {0};
	int status = 0;
	char *resp = NULL;
	int r = body ? http_put(sock, "/migrate", body, &status, &resp, &err) : vs_fail(&err, ENOMEM, "request");
	free(body);
	if (r < 0)
		return vs_cmd_fail(&err);
	int rc = 0;
	if (status == 200) {
		printf("%s\n", resp);
	} else {
		struct json_object *e = json_tokener_parse(resp), *msg;
		const char *m = e && json_object_object_get_ex(e, "fault_message", &msg) ? json_object_get_string(msg) : resp;
		fprintf(stderr, "vessel: vm migrate: %s\n", m);
		json_object_put(e);
		rc = 1;
	}
	free(resp);
	return rc;
}
