/* The API socket's request parser (untrusted bytes: sizes, framing,
 * encodings) and Firecracker's JSON bodies on a real engine handle (no KVM
 * needed before InstanceStart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "vmm/api/fc.h"
#include "vmm/api/http.h"
#include "vmm/api/obs.h"

static long parse(const char *s, vs_http_req *r, int *status, vs_err *err)
{
	return vs_http_parse(s, strlen(s), r, status, err);
}

static void test_http_get(void **st)
{
	(void)st;
	vs_http_req r;
	vs_err err = {0};
	int status;
	const char *s = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
	assert_int_equal(parse(s, &r, &status, &err), (long)strlen(s));
	assert_int_equal(r.method, VS_HTTP_GET);
	assert_string_equal(r.path, "/machine-config");
	assert_null(r.body);
	assert_true(r.keep_alive);
}

static void test_http_put_body_and_pipelining(void **st)
{
	(void)st;
	vs_http_req r;
	vs_err err = {0};
	int status;
	const char *s = "PUT /vm HTTP/1.1\r\ncontent-length: 19\r\nConnection: close\r\n\r\n{\"state\": \"Paused\"}GET / HTTP/1.1\r\n\r\n";
	long n = parse(s, &r, &status, &err);
	assert_int_equal(n, (long)(strstr(s, "GET") - s));
	assert_int_equal(r.method, VS_HTTP_PUT);
	assert_int_equal(r.body_len, 19);
	assert_memory_equal(r.body, "{\"state\": \"Paused\"}", 19);
	assert_false(r.keep_alive);
	assert_int_equal(parse(s + n, &r, &status, &err), (long)strlen(s + n));
	assert_string_equal(r.path, "/");
}

static void test_http_incomplete(void **st)
{
	(void)st;
	vs_http_req r;
	vs_err err = {0};
	int status;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r, &status, &err), 0);
	assert_int_equal(parse("PUT /vm HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"st", &r, &status, &err), 0);
	assert_int_equal(parse("", &r, &status, &err), 0);
}

/* Each of these is refused with `want` and a message containing `why`. */
static void refused(const char *req, int want, const char *why)
{
	vs_http_req r;
	vs_err err = {0};
	int status = 0;
	if (vs_http_parse(req, strlen(req), &r, &status, &err) != -1)
		fail_msg("accepted: %s", req);
	assert_int_equal(status, want);
	if (!strstr(err.msg, why))
		fail_msg("for %s: message '%s' lacks '%s'", req, err.msg, why);
}

static void test_http_refusals(void **st)
{
	(void)st;
	refused("PUT /vm HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Content-Length");
	refused("PATCH /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked");
	refused("PUT /vm HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", 413, "larger than 51200");
	refused("PUT /vm HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", 400, "not a number");
	refused("PUT /vm HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400, "more than one");
	refused("PUT /vm HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "not a number");
	refused("DELETE /vm HTTP/1.1\r\n\r\n", 400, "unsupported HTTP method");
	refused("GET / HTTP/2.0\r\n\r\n", 400, "HTTP version");
	refused("GET http://x/ HTTP/1.1\r\n\r\n", 400, "absolute path");
	refused("GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare CR or LF");
	refused("GET / HTTP/1.1\r\nHost: x\r\n continued\r\n\r\n", 400, "folded");
	refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header");
	refused("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "header name");
	refused("GET /\x01 HTTP/1.1\r\n\r\n", 400, "control");
	refused("\r\n\r\n", 400, "request line");
	char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
	vs_http_req r;
	vs_err err = {0};
	int status;
	assert_int_equal(vs_http_parse(nul, sizeof(nul) - 1, &r, &status, &err), -1);
	assert_int_equal(status, 400);
	/* A header section that never ends is cut at its limit. */
	size_t big = VS_HTTP_MAX_HEADER + 10;
	char *b = malloc(big);
	memset(b, 'a', big);
	memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(vs_http_parse(b, big, &r, &status, &err), -1);
	assert_non_null(strstr(err.msg, "8192"));
	free(b);
	char path[300] = "GET /";
	memset(path + 5, 'p', 260);
	strcpy(path + 265, " HTTP/1.1\r\n\r\n");
	refused(path, 400, "longer than 255");
}

static void test_http_response(void **st)
{
	(void)st;
	char buf[256];
	long n = vs_http_response(buf, sizeof(buf), 204, NULL, true);
	buf[n] = 0;
	assert_string_equal(buf, "HTTP/1.1 204 No Content\r\nServer: vessel\r\nContent-Length: 0\r\n\r\n");
	n = vs_http_response(buf, sizeof(buf), 400, "{\"fault_message\":\"x\"}", false);
	buf[n] = 0;
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 21\r\n\r\n{\"fault_message\":\"x\"}"));
	assert_int_equal(vs_http_response(buf, 20, 200, "{}", true), -1);
}

static vs_vmm *new_vmm(void)
{
	vs_vmm_options o = {.in_fd = -1, .out_fd = -1, .xsave = -1};
	vs_err err = {0};
	vs_vmm *m = vs_vmm_new(&o, &err);
	assert_non_null(m);
	return m;
}

static const vs_fc_info info = {"test-vm", "vessel", "0.1.0"};

/* Send one request; returns the status, *body gets the JSON (free it). */
static int call(vs_vmm *m, vs_http_method meth, const char *path, const char *body, char **out)
{
	vs_http_req r = {.method = meth, .body = body, .body_len = body ? strlen(body) : 0};
	snprintf(r.path, sizeof(r.path), "%s", path);
	vs_fc_reply rep;
	vs_fc_handle(m, &info, &r, &rep);
	if (out)
		*out = rep.body;
	else
		free(rep.body);
	return rep.status;
}

static void expect_fault(vs_vmm *m, vs_http_method meth, const char *path, const char *body, const char *why)
{
	char *out;
	assert_int_equal(call(m, meth, path, body, &out), 400);
	if (!out || !strstr(out, "\"fault_message\"") || !strstr(out, why))
		fail_msg("%s %s: '%s' lacks '%s'", path, body, out ? out : "(no body)", why);
	free(out);
}

static void test_fc_bodies(void **st)
{
	(void)st;
	vs_vmm *m = new_vmm();
	char *out;
	assert_int_equal(call(m, VS_HTTP_GET, "/", NULL, &out), 200);
	assert_string_equal(out, "{\"id\":\"test-vm\",\"state\":\"Not started\",\"vmm_version\":\"0.1.0\",\"app_name\":\"vessel\"}");
	free(out);
	assert_int_equal(call(m, VS_HTTP_PUT, "/boot-source",
			      "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", \"boot_args\": \"quiet\"}", NULL),
			 204);
	assert_int_equal(call(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}", NULL), 204);
	assert_int_equal(call(m, VS_HTTP_PATCH, "/machine-config", "{\"vcpu_count\": 3}", NULL), 204);
	assert_int_equal(call(m, VS_HTTP_PUT, "/drives/rootfs",
			      "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.img\", \"is_root_device\": true}", NULL),
			 204);
	assert_int_equal(call(m, VS_HTTP_PUT, "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", NULL),
			 204);
	/* Refusals change nothing. */
	expect_fault(m, VS_HTTP_PUT, "/boot-source", "{\"kernel_image_path\": \"/x\", \"extra\": 1}", "unknown field \\\"extra\\\"");
	expect_fault(m, VS_HTTP_PUT, "/boot-source", "{\"initrd_path\": \"/x\"}", "missing field \\\"kernel_image_path\\\"");
	expect_fault(m, VS_HTTP_PUT, "/boot-source", "{\"kernel_image_path\": \"/x\"} trailing", "after the JSON");
	expect_fault(m, VS_HTTP_PUT, "/boot-source", "[1]", "JSON object");
	expect_fault(m, VS_HTTP_PUT, "/boot-source", NULL, "not valid JSON");
	expect_fault(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 128}", "vcpu_count");
	expect_fault(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 4}", "less than");
	expect_fault(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true}", "smt");
	expect_fault(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": \"1\", \"mem_size_mib\": 64}", "an integer");
	expect_fault(m, VS_HTTP_PUT, "/machine-config", "{\"mem_size_mib\": 64}", "missing field");
	expect_fault(m, VS_HTTP_PUT, "/drives/a", "{\"drive_id\": \"b\", \"path_on_host\": \"/b\", \"is_root_device\": false}",
		     "does not match");
	expect_fault(m, VS_HTTP_PUT, "/drives/a-b", "{\"drive_id\": \"a-b\", \"path_on_host\": \"/b\", \"is_root_device\": false}",
		     "invalid id");
	expect_fault(m, VS_HTTP_PUT, "/drives/d2", "{\"drive_id\": \"d2\", \"path_on_host\": \"/b\", \"is_root_device\": true}",
		     "already the root device");
	expect_fault(m, VS_HTTP_PUT, "/network-interfaces/e1",
		     "{\"iface_id\": \"e1\", \"host_dev_name\": \"tap1\", \"guest_mac\": \"zz:00:00:00:00:00\"}", "not a MAC");
	expect_fault(m, VS_HTTP_PUT, "/drives/d3",
		     "{\"drive_id\": \"d3\", \"path_on_host\": \"/b\", \"is_root_device\": false, \"rate_limiter\": "
		     "{\"bandwidth\": {\"size\": 1}}}",
		     "missing field \\\"refill_time\\\"");
	expect_fault(m, VS_HTTP_PUT, "/drives/d3",
		     "{\"drive_id\": \"d3\", \"path_on_host\": \"/b\", \"is_root_device\": false, \"rate_limiter\": "
		     "{\"bytes\": {}}}",
		     "unknown field \\\"bytes\\\"");
	expect_fault(m, VS_HTTP_PUT, "/drives/d3",
		     "{\"drive_id\": \"d3\", \"path_on_host\": \"/b\", \"is_root_device\": false, \"rate_limiter\": "
		     "{\"ops\": {\"size\": -1, \"refill_time\": 10}}}",
		     "\\\"size\\\" must be 0..");
	expect_fault(m, VS_HTTP_PATCH, "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/x\"}",
		     "only possible while the VM runs");
	expect_fault(m, VS_HTTP_PATCH, "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_read_only\": true}",
		     "unknown field");
	expect_fault(m, VS_HTTP_PATCH, "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
		     "only possible while the VM runs");
	expect_fault(m, VS_HTTP_PATCH, "/vm", "{\"state\": \"Paused\"}", "not started");
	expect_fault(m, VS_HTTP_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}", "no metrics");
	expect_fault(m, VS_HTTP_PUT, "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", "not started");
	expect_fault(m, VS_HTTP_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}", "open kernel /k");
	expect_fault(m, VS_HTTP_GET, "/balloon", NULL, "no balloon device");
	expect_fault(m, VS_HTTP_GET, "/mmds", NULL, "Invalid request");
	expect_fault(m, VS_HTTP_PUT, "/drives/", "{}", "Invalid request");
	expect_fault(m, VS_HTTP_PUT, "/drives/a/b", "{}", "Invalid request");

	assert_int_equal(vs_vmm_state_of(m), VS_VMM_NOT_STARTED);
	vs_vmm_spec s;
	vs_vmm_describe(m, &s);
	assert_string_equal(s.kernel, "/k");
	assert_string_equal(s.initrd, "/i");
	assert_string_equal(s.cmdline, "quiet");
	assert_int_equal(s.cpus, 3);
	assert_int_equal(s.mem_size, 128ull << 20);
	assert_int_equal(s.n_devs, 2);
	assert_true(s.devs[0].root);
	/* No guest_mac: 52:54:00 + a hash of the tap name. */
	assert_int_equal(s.devs[1].mac[0], 0x52);
	assert_int_equal(s.devs[1].mac[2], 0x00);

	/* Re-putting an id replaces that device. */
	assert_int_equal(call(m, VS_HTTP_PUT, "/drives/rootfs",
			      "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/s.img\", \"is_root_device\": true, \"is_read_only\": true}",
			      NULL),
			 204);
	assert_int_equal(call(m, VS_HTTP_GET, "/vm/config", NULL, &out), 200);
	struct json_object *o = json_tokener_parse(out), *v;
	free(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "drives", &v));
	assert_int_equal(json_object_array_length(v), 1);
	struct json_object *d = json_object_array_get_idx(v, 0), *x;
	assert_true(json_object_object_get_ex(d, "path_on_host", &x));
	assert_string_equal(json_object_get_string(x), "/s.img");
	assert_true(json_object_object_get_ex(d, "is_read_only", &x));
	assert_true(json_object_get_boolean(x));
	assert_true(json_object_object_get_ex(o, "machine-config", &v));
	assert_true(json_object_object_get_ex(v, "vcpu_count", &x));
	assert_int_equal(json_object_get_int(x), 3);
	json_object_put(o);
	vs_vmm_destroy(m);
}

static void test_fc_config_file(void **st)
{
	(void)st;
	vs_vmm *m = new_vmm();
	vs_err err = {0};
	const char *good = "{\"boot-source\": {\"kernel_image_path\": \"/g.bin\", \"vessel_ring3\": true},"
			   " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 32},"
			   " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false}],"
			   " \"network-interfaces\": [{\"iface_id\": \"n\", \"host_dev_name\": \"t\", \"guest_mac\": \"02:00:00:00:00:01\"}]}";
	assert_int_equal(vs_fc_config(m, good, strlen(good), &err), 0);
	vs_vmm_spec s;
	vs_vmm_describe(m, &s);
	assert_true(s.ring3);
	assert_int_equal(s.mem_size, 32ull << 20);
	assert_int_equal(s.n_devs, 2);
	assert_int_equal(s.devs[1].mac[5], 1);
	const char *bad[][2] = {
		{"{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 32}}", "missing field \"boot-source\""},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"logger\": {}}", "section \"logger\" is not supported"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"vsock\": {}}", "vsock: missing field \"guest_cid\""},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"balloon\": {\"amount_mib\": 9999, \"deflate_on_oom\": true}}",
		 "more than the guest's 256 MiB"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [1]}", "drives[0] must be an object"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": {}}", "must be an array"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_vmm *n = new_vmm();
		assert_int_equal(vs_fc_config(n, bad[i][0], strlen(bad[i][0]), &err), -1);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s' lacks '%s'", err.msg, bad[i][1]);
		vs_vmm_destroy(n);
	}
	vs_vmm_destroy(m);
}

/* PUT /vsock, PUT|PATCH|GET /balloon and /balloon/statistics before boot:
 * Firecracker's bodies, strict, and what GET answers. */
static void test_fc_vsock_balloon(void **st)
{
	(void)st;
	vs_vmm *m = new_vmm();
	char *out;
	assert_int_equal(call(m, VS_HTTP_PUT, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 256}", NULL), 204);
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}", "guest_cid 2: must be 3..");
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 3}", "missing field \\\"uds_path\\\"");
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": \"3\", \"uds_path\": \"/v\"}", "an integer");
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"port\": 1}", "unknown field");
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"\"}", "uds_path must be");
	expect_fault(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}", "guest_cid");
	assert_int_equal(call(m, VS_HTTP_PUT, "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", \"vsock_id\": \"vsock0\"}", NULL), 204);
	expect_fault(m, VS_HTTP_PUT, "/balloon", "{\"amount_mib\": 512, \"deflate_on_oom\": false}", "more than the guest's 256 MiB");
	expect_fault(m, VS_HTTP_PUT, "/balloon", "{\"amount_mib\": 64}", "missing field \\\"deflate_on_oom\\\"");
	expect_fault(m, VS_HTTP_PUT, "/balloon", "{\"amount_mib\": -1, \"deflate_on_oom\": false}", "amount_mib");
	expect_fault(m, VS_HTTP_GET, "/balloon/statistics", NULL, "no balloon device");
	assert_int_equal(call(m, VS_HTTP_PUT, "/balloon",
			      "{\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1}", NULL), 204);
	assert_int_equal(call(m, VS_HTTP_PATCH, "/balloon", "{\"amount_mib\": 32}", NULL), 204);
	expect_fault(m, VS_HTTP_PATCH, "/balloon", "{\"amount_mib\": 32, \"deflate_on_oom\": true}", "unknown field");
	expect_fault(m, VS_HTTP_PATCH, "/balloon", "{\"amount_mib\": 300}", "more than");
	expect_fault(m, VS_HTTP_PATCH, "/balloon/statistics", "{\"stats_polling_interval_s\": 5}", "not started");
	expect_fault(m, VS_HTTP_GET, "/balloon/statistics", NULL, "not started");
	assert_int_equal(call(m, VS_HTTP_GET, "/balloon", NULL, &out), 200);
	assert_string_equal(out, "{\"amount_mib\":32,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1}");
	free(out);
	assert_int_equal(call(m, VS_HTTP_GET, "/vm/config", NULL, &out), 200);
	if (!strstr(out, "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"/tmp/v.sock\",\"vsock_id\":\"vsock0\"}") ||
	    !strstr(out, "\"balloon\":{\"amount_mib\":32"))
		fail_msg("vm/config: %s", out);
	free(out);
	vs_vmm_destroy(m);
}

static void test_fc_mac(void **st)
{
	(void)st;
	uint8_t mac[6];
	assert_int_equal(vs_fc_parse_mac("06:00:AC:10:00:02", mac), 0);
	assert_int_equal(mac[2], 0xac);
	assert_int_equal(vs_fc_parse_mac("06:00:AC:10:00:0", mac), -1);
	assert_int_equal(vs_fc_parse_mac("06-00-AC-10-00-02", mac), -1);
	assert_int_equal(vs_fc_parse_mac("06:00:AC:10:00:02:", mac), -1);
}

/* Rate limiters in PUT bodies show in /vm/config; logger, metrics and MMDS
 * with the API's own state. */
static void test_fc_observe_and_limits(void **st)
{
	(void)st;
	vs_vmm *m = new_vmm();
	vs_fc_info inf = info;
	inf.obs = vs_fc_obs_new("test-vm");
	assert_non_null(inf.obs);
	char dir[] = "/tmp/vs-api-XXXXXX", log[64], met[64];
	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(met, sizeof(met), "%s/metrics", dir);
	struct { vs_http_method m; const char *path, *body; int want; const char *why; } cases[] = {
		{VS_HTTP_PUT, "/drives/d1", "{\"drive_id\": \"d1\", \"path_on_host\": \"/b\", \"is_root_device\": false, "
		 "\"rate_limiter\": {\"bandwidth\": {\"size\": 262144, \"refill_time\": 125}, \"ops\": {\"size\": 100, "
		 "\"one_time_burst\": 5, \"refill_time\": 1000}}}", 204, NULL},
		{VS_HTTP_PUT, "/network-interfaces/n1", "{\"iface_id\": \"n1\", \"host_dev_name\": \"tap1\", "
		 "\"tx_rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 10}}}", 204, NULL},
		{VS_HTTP_PUT, "/logger", "{\"log_path\": \"LOG\", \"level\": \"debug\", \"show_level\": true}", 204, NULL},
		{VS_HTTP_PUT, "/logger", "{\"level\": \"Loud\"}", 400, "not one of"},
		{VS_HTTP_PUT, "/logger", "{\"log_path\": \"/nonexistent/dir/log\"}", 400, "open /nonexistent/dir/log"},
		{VS_HTTP_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}", 400, "PUT /metrics first"},
		{VS_HTTP_PUT, "/metrics", "{}", 400, "missing field \\\"metrics_path\\\""},
		{VS_HTTP_PUT, "/metrics", "{\"metrics_path\": \"MET\"}", 204, NULL},
		{VS_HTTP_PUT, "/metrics", "{\"metrics_path\": \"MET\"}", 400, "already initialized"},
		{VS_HTTP_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}", 204, NULL},
		{VS_HTTP_PUT, "/mmds", "{\"latest\": {\"meta-data\": {\"a\": 1, \"b\": [1, 2]}}, \"x\": \"y\"}", 204, NULL},
		{VS_HTTP_PATCH, "/mmds", "{\"latest\": {\"meta-data\": {\"a\": null, \"c\": true}}, \"x\": {\"z\": 1}}", 204, NULL},
		{VS_HTTP_PUT, "/mmds", "[1]", 400, "JSON object"},
		{VS_HTTP_PUT, "/mmds/config", "{\"network_interfaces\": [\"n1\"], \"version\": \"V2\"}", 204, NULL},
		{VS_HTTP_PUT, "/mmds/config", "{\"network_interfaces\": [\"nope\"]}", 400, "no network interface"},
		{VS_HTTP_PUT, "/mmds/config", "{\"network_interfaces\": [\"n1\"], \"ipv4_address\": \"10.0.0.1\"}", 400, "link-local"},
		{VS_HTTP_PUT, "/mmds/config", "{\"network_interfaces\": []}", 400, "empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[600], *b = body, *out = NULL;
		snprintf(body, sizeof(body), "%s", cases[i].body);
		char *at;
		if ((at = strstr(body, "LOG")) || (at = strstr(body, "MET"))) {
			char tail[600];
			snprintf(tail, sizeof(tail), "%s", at + 3);
			snprintf(at, sizeof(body) - (size_t)(at - body), "%s%s", at[0] == 'L' ? log : met, tail);
		}
		vs_http_req r = {.method = cases[i].m, .body = b, .body_len = strlen(b)};
		snprintf(r.path, sizeof(r.path), "%s", cases[i].path);
		vs_fc_reply rep;
		vs_fc_handle(m, &inf, &r, &rep);
		out = rep.body;
		if (rep.status != cases[i].want || (cases[i].why && (!out || !strstr(out, cases[i].why))))
			fail_msg("%s %s: got %d '%s'", cases[i].path, cases[i].body, rep.status, out ? out : "");
		free(out);
	}
	vs_http_req g = {.method = VS_HTTP_GET, .path = "/mmds"};
	vs_fc_reply rep;
	vs_fc_handle(m, &inf, &g, &rep);
	assert_int_equal(rep.status, 200);
	assert_string_equal(rep.body, "{\"latest\":{\"meta-data\":{\"b\":[1,2],\"c\":true}},\"x\":{\"z\":1}}");
	free(rep.body);
	snprintf(g.path, sizeof(g.path), "/vm/config");
	vs_fc_handle(m, &inf, &g, &rep);
	assert_int_equal(rep.status, 200);
	assert_non_null(strstr(rep.body, "\"rate_limiter\":{\"bandwidth\":{\"size\":262144,\"refill_time\":125},"
					 "\"ops\":{\"size\":100,\"one_time_burst\":5,\"refill_time\":1000}}"));
	assert_non_null(strstr(rep.body, "\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":10}}"));
	assert_non_null(strstr(rep.body, "\"mmds-config\":{\"version\":\"V2\",\"network_interfaces\":[\"n1\"]"));
	free(rep.body);
	vs_fc_obs_free(inf.obs, m);
	/* The log has the requests, with their level; the metrics two lines
	 * (FlushMetrics and the last at free), each a JSON object. */
	char buf[8192];
	int fd = open(log, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "[test-vm:fc_api:INFO] The API server received a Put request on \"/metrics\"."));
	assert_non_null(strstr(buf, ":ERROR] Received Error. Status code: 400."));
	fd = open(met, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	*nl = 0;
	struct json_object *j = json_tokener_parse(buf), *x, *y;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "put_api_requests", &x));
	assert_true(json_object_object_get_ex(x, "metrics_count", &y));
	assert_int_equal(json_object_get_int(y), 3);
	assert_true(json_object_object_get_ex(x, "metrics_fails", &y));
	assert_int_equal(json_object_get_int(y), 2);
	assert_true(json_object_object_get_ex(j, "block_d1", &x));
	assert_true(json_object_object_get_ex(x, "read_bytes", &y));
	assert_true(json_object_object_get_ex(j, "net_n1", &x));
	assert_true(json_object_object_get_ex(x, "tx_bytes_count", &y));
	json_object_put(j);
	assert_non_null(strchr(nl + 1, '\n')); /* the second line */
	unlink(log);
	unlink(met);
	rmdir(dir);
	vs_vmm_destroy(m);
}

/* vessel's /migrate: the body is strict, the VM must run; GET says none. */
static void test_fc_migrate(void **st)
{
	(void)st;
	vs_vmm *m = new_vmm();
	char *out;
	assert_int_equal(call(m, VS_HTTP_GET, "/migrate", NULL, &out), 200);
	assert_string_equal(out, "{\"state\":\"none\"}");
	free(out);
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{}", "missing field \\\"destination\\\"");
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{\"destination\": \"unix:/x\", \"speed\": 1}", "unknown field");
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{\"destination\": \"ftp:/x\"}", "must be unix:PATH or tcp:HOST:PORT");
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{\"destination\": \"tcp:host.example:80\"}", "not an IP address");
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{\"destination\": \"unix:/x\", \"max_downtime_ms\": 60001}", "max_downtime_ms");
	expect_fault(m, VS_HTTP_PUT, "/migrate", "{\"destination\": \"unix:/x\"}", "the VM must be running (it is not started)");
	expect_fault(m, VS_HTTP_PATCH, "/migrate", "{\"destination\": \"unix:/x\"}", "Invalid request");
	assert_int_equal(call(m, VS_HTTP_GET, "/migrate", NULL, &out), 200);
	assert_string_equal(out, "{\"state\":\"none\"}");
	free(out);
	vs_vmm_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_http_put_body_and_pipelining),
		cmocka_unit_test(test_http_incomplete),
		cmocka_unit_test(test_http_refusals),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_fc_bodies),
		cmocka_unit_test(test_fc_config_file),
		cmocka_unit_test(test_fc_vsock_balloon),
		cmocka_unit_test(test_fc_mac),
		cmocka_unit_test(test_fc_observe_and_limits),
		cmocka_unit_test(test_fc_migrate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
