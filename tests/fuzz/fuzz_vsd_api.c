/* libFuzzer target for vesseld's request router: the input is
 * "METHOD PATH?QUERY\n" then the body, routed (vsd_api_route, as http.c
 * does, lock held) against a daemon with an empty in-memory database.
 * Every answer must be a well-formed envelope; never a crash, a leak or
 * undefined behaviour. The database holds one image, instance "f" and its
 * snapshot "s0", put back after every input, so config changes, snapshots,
 * restore, files and logs are reached; operations they start run against
 * a root that does not exist and a runtime that is /bin/false, and are
 * waited for before the next input. The query string also fills the
 * If-Match, ?path= and X-Incus-* fields. POST goes under /1.0/instances
 * only: an image import would read a real file. Build: make fuzz;
 * run: build-fuzz/fuzz_vsd_api tests/fuzz/corpus_vsd */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/events.h"
#include "platform/ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vsd *daemon_once(void)
{
	static vsd d;
	static bool ready;
	if (ready)
		return &d;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.changed, NULL);
	strcpy(d.root, "/nonexistent-vesseld-fuzz");
	strcpy(d.rt_root, "/nonexistent-vesseld-fuzz/runtime");
	strcpy(d.runtime, "/bin/false");
	strcpy(d.audit_path, "/nonexistent-vesseld-fuzz/audit.log");
	vsd_audit_head_init(&d.audit);
	if (vsd_db_open(":memory:", &d.db, NULL) < 0 || vsd_events_init(&d, NULL) < 0 || vsd_ops_init(&d, NULL) < 0)
		abort();
	ready = true;
	return &d;
}

/* The fixture rows, as they were before the last input. */
static void seed(vsd *d)
{
	static const char *const sql =
		"INSERT OR IGNORE INTO images VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'rootfs', 1, 'now', '{}');"
		"INSERT OR IGNORE INTO aliases VALUES ('img', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');"
		"INSERT OR IGNORE INTO instances VALUES ('f', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',"
		" 'container', '{}', '[]', 'now', 'f-0', 'ready');"
		"UPDATE instances SET phase = 'ready', config = '{\"limits.memory\":\"64MiB\"}' WHERE name = 'f';"
		"DELETE FROM instances WHERE name != 'f';"
		"INSERT OR IGNORE INTO snapshots VALUES ('f', 's0', 'now', '{}');"
		"DELETE FROM snapshots WHERE name != 's0';";
	pthread_mutex_lock(&d->lock);
	if (vsd_db_exec(d->db, sql, "seed", NULL) < 0)
		abort();
	pthread_mutex_unlock(&d->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vsd *d = daemon_once();
	const char *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	size_t line = (size_t)(nl - (const char *)data);
	char *head = strndup((const char *)data, line);
	size_t blen = size - line - 1;
	char *body = malloc(blen + 1);
	memcpy(body, nl + 1, blen);
	body[blen] = '\0';
	char *sp = strchr(head, ' ');
	if (!sp || strchr(head, '\0') != head + line) { /* a NUL in the head: MHD would never pass it */
		free(head);
		free(body);
		return 0;
	}
	*sp = '\0';
	const char *method = head, *path = sp + 1;
	static const char *const methods[] = {"GET", "PUT", "DELETE", "PATCH", "POST", NULL};
	bool known = false;
	for (int i = 0; methods[i]; i++)
		known |= !strcmp(method, methods[i]);
	char *q = strchr(sp + 1, '?');
	if (q)
		*q++ = '\0';
	if (!known || (!strcmp(method, "POST") && strncmp(path, "/1.0/instances", 14))) {
		free(head);
		free(body);
		return 0;
	}
	seed(d);
	vsd_req r = {.method = method, .path = path, .body = body, .body_len = strlen(body), .uid = 0};
	/* "k=v&k=v": the query parameters and headers the handlers read. */
	struct {
		const char *key;
		const char **field;
	} params[] = {{"recursion", &r.recursion}, {"timeout", &r.timeout}, {"type", &r.types}, {"path", &r.q_path},
		      {"if-match", &r.if_match}, {"uid", &r.file.uid}, {"gid", &r.file.gid}, {"mode", &r.file.mode},
		      {"ftype", &r.file.type}, {"write", &r.file.write}};
	char *save = NULL;
	for (char *kv = q ? strtok_r(q, "&", &save) : NULL; kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
			if (!strcmp(kv, params[i].key))
				*params[i].field = eq + 1;
	}
	if (r.timeout)
		r.timeout = "0"; /* a wait must not wait */
	pthread_mutex_lock(&d->lock);
	struct json_object *env = vsd_api_route(d, &r);
	pthread_mutex_unlock(&d->lock);
	vsd_ops_drain(d);
	if (r.has_fd)
		close(r.fd);
	const char *type = json_object_get_string(json_object_object_get(env, "type"));
	if (!type || (strcmp(type, "sync") && strcmp(type, "error") && strcmp(type, "async")))
		abort();
	int status = vsd_env_http_status(env);
	if (status < 200 || status > 599)
		abort();
	json_object_put(env);
	free(r.text);
	free(head);
	free(body);
	return 0;
}
