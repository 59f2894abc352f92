/* vesseld's config changes through the router (api_config.c) on an
 * in-memory database with one stopped instance (the runtime is /bin/false,
 * so nothing runs): the ETag does not depend on key order and changes
 * with the config, If-Match guards PATCH and PUT (412), PATCH merges and
 * "" removes, bad input is 400 and stores nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/events.h"
#include "platform/ops.h"

#define FP "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static vsd d;

static int setup(void **state)
{
	(void)state;
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.changed, NULL);
	strcpy(d.root, "/nonexistent-vsd-config-test");
	strcpy(d.rt_root, "/nonexistent-vsd-config-test/runtime");
	strcpy(d.runtime, "/bin/false");
	strcpy(d.audit_path, "/nonexistent-vsd-config-test/audit.log");
	assert_int_equal(vsd_db_open(":memory:", &d.db, NULL), 0);
	assert_int_equal(vsd_events_init(&d, NULL), 0);
	assert_int_equal(vsd_ops_init(&d, NULL), 0);
	assert_int_equal(vsd_db_exec(d.db,
				     "INSERT INTO images VALUES ('" FP "', 'rootfs', 1, 'now', '{}');"
				     "INSERT INTO instances VALUES ('c1', '" FP "', 'container',"
				     " '{\"limits.memory\":\"64MiB\",\"limits.cpu\":\"1\"}', '[]', 'now', 'c1-0', 'ready');",
				     "seed", NULL),
			 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vsd_ops_drain(&d);
	vsd_ops_free(&d);
	vsd_events_free(&d);
	vsd_db_close(d.db);
	free(d.busy); /* the busy table (empty by now) */
	return 0;
}

/* Route one request; returns the HTTP status, *etag the tag it sent. */
static int call(const char *method, const char *path, const char *body, const char *if_match, char etag[72])
{
	vsd_req r = {.method = method, .path = path, .body = body, .body_len = strlen(body), .if_match = if_match};
	pthread_mutex_lock(&d.lock);
	struct json_object *env = vsd_api_route(&d, &r);
	pthread_mutex_unlock(&d.lock);
	int status = vsd_env_http_status(env);
	json_object_put(env);
	if (etag)
		memcpy(etag, r.etag, 72);
	return status;
}

static char *config_now(void)
{
	char *cfg = NULL;
	assert_int_equal(vsd_db_text(d.db, "SELECT config FROM instances WHERE name = 'c1'", 0, NULL, &cfg, NULL), 0);
	return cfg;
}

static void test_etag(void **state)
{
	(void)state;
	char t1[72], t2[72];
	assert_int_equal(call("GET", "/1.0/instances/c1", "", NULL, t1), 200);
	assert_int_equal(strlen(t1), 64);
	/* The same config stored in another key order: the same tag. */
	assert_int_equal(vsd_db_exec(d.db, "UPDATE instances SET config = '{\"limits.cpu\":\"1\",\"limits.memory\":\"64MiB\"}'", "reorder", NULL), 0);
	assert_int_equal(call("GET", "/1.0/instances/c1", "", NULL, t2), 200);
	assert_string_equal(t1, t2);
	assert_int_equal(vsd_inst_etag(&d, "nope", t2), -1);
}

static void test_patch_and_if_match(void **state)
{
	(void)state;
	char tag[72], now[72], quoted[80];
	assert_int_equal(call("GET", "/1.0/instances/c1", "", NULL, tag), 200);
	char *before = config_now();
	assert_int_equal(call("PATCH", "/1.0/instances/c1", "{\"config\":{\"limits.memory\":\"1GiB\"}}", "beef", NULL), 412);
	assert_int_equal(call("PUT", "/1.0/instances/c1", "{\"config\":{}}", "\"beef\"", NULL), 412);
	char *after = config_now();
	assert_string_equal(before, after);
	free(after);
	snprintf(quoted, sizeof(quoted), "W/\"%s\"", tag);
	assert_int_equal(call("PATCH", "/1.0/instances/c1", "{\"config\":{\"limits.memory\":\"1GiB\",\"limits.cpu\":\"\"}}", quoted, now), 200);
	after = config_now();
	assert_string_equal(after, "{\"limits.memory\":\"1GiB\"}");
	assert_string_not_equal(now, tag);
	free(after);
	/* The old tag no longer matches. */
	assert_int_equal(call("PATCH", "/1.0/instances/c1", "{\"config\":{\"limits.cpu\":\"2\"}}", tag, NULL), 412);
	free(before);
}

static void test_bad_input(void **state)
{
	(void)state;
	char *before = config_now();
	static const char *const bad[] = {
		"{\"config\":{\"limits.memory\":\"1 parsec\"}}", "{\"config\":{\"limits.cpu\":2}}",
		"{\"config\":{\"limits.bogus\":\"1\"}}", "{\"config\":[]}", "{\"name\":\"x\"}", "{\"description\":\"hi\"}",
		"{\"devices\":{\"a\":{}}}", "{\"profiles\":[\"x\"]}", "{\"ephemeral\":true}", "{\"architecture\":\"arm64\"}",
		"{\"restore\":\"s0\"}", "{\"config\":{}} x", "", "[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(call("PATCH", "/1.0/instances/c1", bad[i], NULL, NULL), 400);
	assert_int_equal(call("PUT", "/1.0/instances/c1", "{\"restore\":\"../x\"}", NULL, NULL), 400);
	assert_int_equal(call("PUT", "/1.0/instances/c1", "{\"restore\":\"nosuch\"}", NULL, NULL), 404);
	assert_int_equal(call("PATCH", "/1.0/instances/nosuch", "{}", NULL, NULL), 404);
	char *after = config_now();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_etag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_and_if_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
