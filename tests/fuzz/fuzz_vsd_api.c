/* libFuzzer target for vesseld's request router: the input is
 * "METHOD PATH?QUERY\n" then the body, routed (vsd_api_route, as http.c
 * does, lock held) against a daemon with an empty in-memory database.
 * Every answer must be a well-formed envelope; never a crash, a leak or
 * undefined behaviour. POST goes to /1.0/instances only: an image import
 * would start a real operation thread on a real file. Build: make fuzz;
 * run: build-fuzz/fuzz_vsd_api tests/fuzz/corpus_vsd */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	if (!known || (!strcmp(method, "POST") && strcmp(path, "/1.0/instances"))) {
		free(head);
		free(body);
		return 0;
	}
	vsd_req r = {.method = method, .path = path, .body = body, .body_len = strlen(body), .uid = 0,
		     .recursion = q, .timeout = q ? "0" : NULL, .types = q};
	pthread_mutex_lock(&d->lock);
	struct json_object *env = vsd_api_route(d, &r);
	pthread_mutex_unlock(&d->lock);
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
