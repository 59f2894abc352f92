/* vesseld's pure logic: names, the request body parser, envelopes,
 * config limits, tar member names, registry references, and the audit
 * hash chain. */
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

#include "base/fs.h"
#include "platform/api.h"
#include "platform/audit.h"
#include "platform/envelope.h"
#include "platform/limits.h"
#include "platform/name.h"
#include "platform/registry.h"
#include "platform/unpack.h"

static void test_names(void **state)
{
	(void)state;
	vs_err err = {0};
	assert_int_equal(vsd_name_check("web-1", "instance name", &err), 0);
	assert_int_equal(vsd_name_check("a", "instance name", &err), 0);
	const char *bad[] = {"", "a/b", "..", ".", "Web", "a.b", "-a", "a-", "a b", "a\nb", "ü",
			     "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(vsd_name_check(bad[i], "instance name", &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		assert_non_null(strstr(err.msg, "instance name"));
	}
	assert_int_equal(vsd_name_check(NULL, "x", NULL), -1);
}

static void test_body_parser(void **state)
{
	(void)state;
	static const char *const keys[] = {"name", "source", NULL};
	struct json_object *o;
	vs_err err = {0};
	const char *good = "{\"name\":\"a\"}\n";
	assert_int_equal(vsd_api_body(good, strlen(good), keys, &o, &err), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "name")), "a");
	json_object_put(o);
	struct {
		const char *body, *want;
	} bad[] = {
		{"", "got nothing"},
		{"{\"name\":", "malformed JSON"},
		{"{\"name\":\"a\"} {}", "JSON"},
		{"[1,2]", "expected a JSON object"},
		{"\"x\"", "expected a JSON object"},
		{"{\"name\":\"a\",\"extra\":1}", "unknown key \"extra\""},
		{"{'name':'a'}", "malformed JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		o = (struct json_object *)1;
		assert_int_equal(vsd_api_body(bad[i].body, strlen(bad[i].body), keys, &o, &err), -1);
		assert_null(o);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("body %s: message \"%s\" lacks \"%s\"", bad[i].body, err.msg, bad[i].want);
	}
}

static void test_envelopes(void **state)
{
	(void)state;
	struct json_object *e = vsd_env_sync(json_object_new_string("m"));
	assert_string_equal(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
			    "{\"type\":\"sync\",\"status\":\"Success\",\"status_code\":200,\"operation\":\"\",\"error_code\":0,\"error\":\"\",\"metadata\":\"m\"}");
	assert_int_equal(vsd_env_http_status(e), 200);
	json_object_put(e);
	e = vsd_env_async("/1.0/operations/x", json_object_new_object());
	assert_string_equal(json_object_get_string(json_object_object_get(e, "type")), "async");
	assert_int_equal(json_object_get_int(json_object_object_get(e, "status_code")), 100);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "operation")), "/1.0/operations/x");
	assert_int_equal(vsd_env_http_status(e), 202);
	json_object_put(e);
	e = vsd_env_error(404, "instance x not found");
	assert_string_equal(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
			    "{\"type\":\"error\",\"status\":\"\",\"status_code\":0,\"operation\":\"\",\"error_code\":404,\"error\":\"instance x not found\",\"metadata\":null}");
	assert_int_equal(vsd_env_http_status(e), 404);
	json_object_put(e);
	vs_err err = {.code = VS_EINVAL_CONFIG};
	strcpy(err.msg, "bad");
	e = vsd_api_error(&err);
	assert_int_equal(vsd_env_http_status(e), 400);
	json_object_put(e);
	err.code = EEXIST;
	e = vsd_api_error(&err);
	assert_int_equal(vsd_env_http_status(e), 409);
	json_object_put(e);
}

static void test_limits(void **state)
{
	(void)state;
	uint64_t n;
	assert_int_equal(vsd_parse_size("256MiB", &n, NULL), 0);
	assert_int_equal(n, 256ULL << 20);
	assert_int_equal(vsd_parse_size("1GB", &n, NULL), 0);
	assert_int_equal(n, 1000000000ULL);
	assert_int_equal(vsd_parse_size("4096", &n, NULL), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(vsd_parse_size("12 parsecs", &n, NULL), -1);
	assert_int_equal(vsd_parse_size("-1MiB", &n, NULL), -1);
	assert_int_equal(vsd_parse_size("99999999999999999999MiB", &n, NULL), -1);
	assert_int_equal(vsd_parse_size("18446744073709551615KiB", &n, NULL), -1);
	vsd_limits l;
	struct json_object *c = json_tokener_parse("{\"limits.memory\":\"64MiB\",\"limits.cpu\":\"2\"}");
	assert_int_equal(vsd_limits_parse(c, &l, NULL), 0);
	assert_int_equal(l.memory, 64ULL << 20);
	assert_int_equal(l.cpus, 2);
	json_object_put(c);
	const char *bad[] = {"{\"limits.cpu\":\"0\"}", "{\"limits.cpu\":\"1.5\"}", "{\"limits.memory\":\"1MiB\"}",
			     "{\"limits.memory\":64}", "{\"limits.swap\":\"1\"}", "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_err err = {0};
		c = json_tokener_parse(bad[i]);
		assert_int_equal(vsd_limits_parse(c, &l, &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		json_object_put(c);
	}
}

static void test_tar_names(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(vsd_tar_name("./a//b/", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(vsd_tar_name(".", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(vsd_tar_name("a/./b..c", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "a/b..c");
	const char *bad[] = {"/etc/passwd", "../x", "a/../../x", "a/..", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vsd_tar_name(bad[i], out, sizeof(out), NULL), -1);
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(vsd_tar_name(longname, out, sizeof(out), NULL), -1);
}

static void test_registry_refs(void **state)
{
	(void)state;
	vsd_ref r;
	assert_int_equal(vsd_ref_parse("http://127.0.0.1:5000/vessel/bb:1", &r, NULL), 0);
	assert_string_equal(r.base, "http://127.0.0.1:5000");
	assert_string_equal(r.repo, "vessel/bb");
	assert_string_equal(r.ref, "1");
	assert_int_equal(vsd_ref_parse("registry.example/library/busybox", &r, NULL), 0);
	assert_string_equal(r.base, "https://registry.example");
	assert_string_equal(r.ref, "latest");
	const char *dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char s[200];
	snprintf(s, sizeof(s), "https://r:443/a/b@%s", dg);
	assert_int_equal(vsd_ref_parse(s, &r, NULL), 0);
	assert_string_equal(r.ref, dg);
	assert_string_equal(r.repo, "a/b");
	const char *bad[] = {"busybox", "/x", "h/", "h/A", "h/a/../b", "h/a:", "h/a:t@g", "h/a@sha256:12",
			     "h/a:bad tag", "h?x/a", "h//a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_err err = {0};
		if (vsd_ref_parse(bad[i], &r, &err) != -1)
			fail_msg("%s: accepted", bad[i]);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
	}
}

static char dir[64], logpath[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vessel-audit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return vs_rmtree(dir, NULL);
}

static void append_n(vsd_audit_head *h, int n)
{
	for (int i = 0; i < n; i++) {
		char summary[32];
		snprintf(summary, sizeof(summary), "create c%d", i);
		vsd_audit_entry e = {.uid = 1000, .method = "POST", .path = "/1.0/instances", .summary = summary, .result = "202"};
		assert_int_equal(vsd_audit_append(logpath, h, &e, NULL), 0);
	}
}

static char *slurp(size_t *len)
{
	char *buf;
	assert_int_equal(vs_read_regular(logpath, 1 << 20, &buf, len, NULL), 0);
	return buf;
}

static void spit(const char *buf, size_t len)
{
	assert_int_equal(vs_write_file(logpath, buf, len, 0600, NULL), 0);
}

static void test_audit_chain(void **state)
{
	(void)state;
	vsd_audit_head h;
	vsd_audit_head_init(&h);
	uint64_t n;
	vs_err err = {0};
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), 0); /* no file: empty log */
	assert_int_equal(n, 0);
	append_n(&h, 5);
	assert_int_equal(h.seq, 5);
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), 0);
	assert_int_equal(n, 5);
	vsd_audit_head scanned;
	assert_int_equal(vsd_audit_scan(logpath, &scanned, NULL), 0);
	assert_string_equal(scanned.hash, h.hash);

	size_t len;
	char *orig = slurp(&len);
	/* An edited entry in the middle: the next one's prev no longer matches. */
	char *edit = strdup(orig);
	char *p = strstr(edit, "create c2");
	p[7] = 'X';
	spit(edit, len);
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), -1);
	assert_non_null(strstr(err.msg, "entry 4: prev does not match"));
	/* The last entry edited: only the stored head catches it. */
	strcpy(edit, orig);
	p = strstr(edit, "create c4");
	p[7] = 'X';
	spit(edit, len);
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), -1);
	assert_non_null(strstr(err.msg, "edited"));
	/* An entry removed from the middle. */
	strcpy(edit, orig);
	char *l2 = strchr(strchr(edit, '\n') + 1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	memmove(l2, l3, strlen(l3) + 1);
	spit(edit, strlen(edit));
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), -1);
	assert_non_null(strstr(err.msg, "removed or reordered"));
	/* The newest entry removed. */
	strcpy(edit, orig);
	edit[len - 1] = '\0';
	*(strrchr(edit, '\n') + 1) = '\0';
	spit(edit, strlen(edit));
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), -1);
	assert_non_null(strstr(err.msg, "removed"));
	/* Garbage appended. */
	spit(orig, len);
	FILE *f = fopen(logpath, "a");
	fputs("not json\n", f);
	fclose(f);
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), -1);
	assert_non_null(strstr(err.msg, "not an audit entry"));
	/* Restored, it verifies again and keeps growing. */
	spit(orig, len);
	append_n(&h, 1);
	assert_int_equal(vsd_audit_verify(logpath, &h, &n, &err), 0);
	assert_int_equal(n, 6);
	free(edit);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_body_parser),
		cmocka_unit_test(test_envelopes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tar_names),
		cmocka_unit_test(test_registry_refs),
		cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
