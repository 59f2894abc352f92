/* The host <-> agent protocol (hybrid/proto.h) and the host's session
 * against a fake agent on a socketpair: a well-behaved agent gets its
 * status through; a hostile one (garbage, oversized, out-of-order,
 * impossible values, a stall mid-message, silence, a hang-up) makes the
 * session fail at once with a clear error, never a crash or a hang. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hybrid/hybrid.h"
#include "hybrid/proto.h"

/* A raw header, as a hostile agent may write it. */
static size_t hdr(uint8_t *p, uint32_t magic, unsigned version, unsigned type, uint32_t len)
{
	uint32_t v[3] = {magic, (uint32_t)version | (uint32_t)type << 16, len};
	memcpy(p, v, 12); /* x86: little-endian */
	return 12;
}

/* A message the agent may send, appended to a script. */
typedef struct script {
	uint8_t b[1 << 17];
	size_t n;
	bool stall; /* after the script, keep the connection open */
} script;

static void add(script *s, unsigned type, const void *data, uint32_t len)
{
	s->n += hdr(s->b + s->n, VS_PROTO_MAGIC, VS_PROTO_VERSION, type, len);
	if (len)
		memcpy(s->b + s->n, data, len);
	s->n += len;
}

static void add_u32(script *s, unsigned type, uint32_t a, uint32_t b, unsigned n)
{
	uint32_t v[2] = {a, b};
	add(s, type, v, 4 * n);
}

static void add_hello(script *s) { add_u32(s, VS_MSG_HELLO, VS_PROTO_VERSION, 0, 1); }

typedef struct agent {
	int fd;
	script *s;
} agent;

/* The fake agent: write the script, then read (and drop) all the host sends. */
static void *agent_main(void *arg)
{
	agent *a = arg;
	size_t off = 0;
	while (off < a->s->n) {
		ssize_t w = write(a->fd, a->s->b + off, a->s->n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (!a->s->stall)
		shutdown(a->fd, SHUT_WR);
	char buf[4096];
	while (read(a->fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static const char config[] = "{\"ociVersion\": \"1.2.0\"}";

/* Run a session against the script; returns its rc, the status, err, stdout. */
static int session(script *s, int *status, vs_err *err, char *out, size_t out_len)
{
	int sp[2], op[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(op, O_CLOEXEC | O_NONBLOCK), 0);
	agent a = {sp[1], s};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, agent_main, &a), 0);
	vs_hyb_io io = {.in_fd = -1, .out_fd = op[1], .err_fd = op[1], .sig_fd = -1, .vmm_pidfd = -1,
			.hello_ms = 300, .ready_ms = 300, .rest_ms = 300};
	memset(err, 0, sizeof(*err));
	*status = -1;
	int rc = vs_hyb_session(sp[0], config, sizeof(config) - 1, &io, status, err);
	close(sp[0]);
	pthread_join(t, NULL);
	close(sp[1]);
	ssize_t n = read(op[0], out, out_len - 1);
	out[n > 0 ? n : 0] = 0;
	close(op[0]), close(op[1]);
	return rc;
}

static script *new_script(void) { return calloc(1, sizeof(script)); }

static void test_good_agent_status_and_output(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	add(s, VS_MSG_STDOUT, "hi\n", 3);
	add(s, VS_MSG_STDERR, "err\n", 4);
	add_u32(s, VS_MSG_EXIT, 0, 3, 2);
	int st;
	vs_err err;
	char out[64];
	assert_int_equal(session(s, &st, &err, out, sizeof(out)), 0);
	assert_int_equal(st, 3);
	assert_string_equal(out, "hi\nerr\n");
	free(s);
}

static void test_signal_death_is_128_plus_n(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	add_u32(s, VS_MSG_EXIT, 1, 9, 2);
	int st;
	vs_err err;
	char out[8];
	assert_int_equal(session(s, &st, &err, out, sizeof(out)), 0);
	assert_int_equal(st, 137);
	free(s);
}

/* The session fails with code and a message containing want. */
static void expect_failure(script *s, int code, const char *want)
{
	int st;
	vs_err err;
	char out[64];
	int rc = session(s, &st, &err, out, sizeof(out));
	if (rc != -1 || err.code != code || !strstr(err.msg, want))
		fail_msg("want -1, code %d, '%s'; got %d, code %d, '%s'", code, want, rc, err.code, err.msg);
	free(s);
}

static void test_garbage_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	memcpy(s->b, "GET / HTTP/1.1\r\n\r\n", 18);
	s->n = 18;
	expect_failure(s, EPROTO, "bad magic");
}

static void test_wrong_version_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	s->n = hdr(s->b, VS_PROTO_MAGIC, 9, VS_MSG_HELLO, 4);
	s->n += 4;
	expect_failure(s, EPROTO, "protocol version 9");
}

static void test_unknown_type_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	s->n = hdr(s->b, VS_PROTO_MAGIC, VS_PROTO_VERSION, 77, 0);
	expect_failure(s, EPROTO, "unknown type 77");
}

static void test_host_only_type_from_agent_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	add(s, VS_MSG_START, NULL, 0);
	expect_failure(s, EPROTO, "START is not sent by the agent");
}

static void test_oversized_frame_is_refused_before_reading_it(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	s->n += hdr(s->b + s->n, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_STDOUT, 64u << 20);
	s->stall = true; /* the 64 MiB never come: the header alone must be refused */
	expect_failure(s, EMSGSIZE, "STDOUT: length 67108864");
}

static void test_exit_before_hello_is_out_of_order(void **state)
{
	(void)state;
	script *s = new_script();
	add_u32(s, VS_MSG_EXIT, 0, 0, 2);
	expect_failure(s, EPROTO, "agent sent EXIT before its HELLO: out of order");
}

static void test_output_before_ready_is_out_of_order(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_STDOUT, "x", 1);
	expect_failure(s, EPROTO, "agent sent STDOUT before READY: out of order");
}

static void test_second_hello_is_out_of_order(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	add_hello(s);
	expect_failure(s, EPROTO, "HELLO while the container runs: out of order");
}

static void test_impossible_exit_status_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	add_u32(s, VS_MSG_EXIT, 1, 99, 2);
	expect_failure(s, EPROTO, "impossible status");
}

static void test_error_with_control_bytes_is_refused(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	uint8_t e[12] = {2, 0, 0, 0, 'b', 'a', 'd', '\033', '[', '2', 'J', 0};
	add(s, VS_MSG_ERROR, e, sizeof(e));
	expect_failure(s, EPROTO, "non-printable byte 0x1b");
}

static void test_agent_error_is_reported_with_its_errno(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	uint8_t e[4 + 13] = {ENOENT, 0, 0, 0};
	memcpy(e + 4, "mount /dev/vda", 13);
	add(s, VS_MSG_ERROR, e, sizeof(e));
	expect_failure(s, ENOENT, "agent: create the container: mount /dev/vd");
}

static void test_stall_mid_message_times_out(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	s->n += hdr(s->b + s->n, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_STDOUT, 100);
	memcpy(s->b + s->n, "only part", 9);
	s->n += 9;
	s->stall = true;
	expect_failure(s, ETIMEDOUT, "message cut short");
}

static void test_silent_agent_times_out(void **state)
{
	(void)state;
	script *s = new_script();
	s->stall = true;
	expect_failure(s, ETIMEDOUT, "no message in time");
}

static void test_hang_up_before_exit_is_an_error(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	add(s, VS_MSG_READY, NULL, 0);
	add(s, VS_MSG_STDOUT, "x", 1);
	expect_failure(s, ECONNRESET, "agent closed the connection while the container runs");
}

static void test_cut_header_is_an_error(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	s->n += 5; /* 5 bytes of a header, then EOF */
	expect_failure(s, ECONNRESET, "closed in the middle of a message");
}

/* The buffer parser agrees with the header rules, and needs whole messages. */
static void test_parse_needs_whole_messages(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n = hdr(b, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_STDOUT, 3);
	memcpy(b + n, "abc", 3);
	vs_proto_msg m;
	size_t used;
	vs_err err;
	assert_int_equal(vs_proto_parse(b, 11, VS_FROM_GUEST, &m, &used, &err), 0);
	assert_int_equal(vs_proto_parse(b, 14, VS_FROM_GUEST, &m, &used, &err), 0);
	assert_int_equal(vs_proto_parse(b, 15, VS_FROM_GUEST, &m, &used, &err), 1);
	assert_int_equal(used, 15);
	assert_memory_equal(m.data, "abc", 3);
	/* STDOUT from the host is wrong way round. */
	assert_int_equal(vs_proto_parse(b, 15, VS_FROM_HOST, &m, &used, &err), -1);
	/* An empty STDOUT frame is not a thing (EOF is the EXIT). */
	hdr(b, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_STDOUT, 0);
	assert_int_equal(vs_proto_parse(b, 12, VS_FROM_GUEST, &m, &used, &err), -1);
	assert_int_equal(err.code, EMSGSIZE);
}

/* An exec or ps connection against a script: rc, status / listing, err. */
static int conn_session(script *s, bool ps, int *status, char **text, vs_err *err)
{
	int sp[2], op[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(op, O_CLOEXEC | O_NONBLOCK), 0);
	agent a = {sp[1], s};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, agent_main, &a), 0);
	vs_hyb_io io = {.in_fd = -1, .out_fd = op[1], .err_fd = op[1], .sig_fd = -1, .vmm_pidfd = -1,
			.hello_ms = 300, .ready_ms = 300, .rest_ms = 300};
	memset(err, 0, sizeof(*err));
	size_t len;
	*text = NULL;
	static const char proc[] = "{\"args\": [\"true\"], \"cwd\": \"/\"}";
	int rc = ps ? vs_hyb_session_ps(sp[0], 300, text, &len, err)
		    : vs_hyb_session_exec(sp[0], proc, sizeof(proc) - 1, &io, NULL, NULL, status, err);
	close(sp[0]);
	pthread_join(t, NULL);
	close(sp[1]);
	close(op[0]), close(op[1]);
	free(s);
	return rc;
}

static void test_exec_session_gets_its_status(void **state)
{
	(void)state;
	script *s = new_script();
	add(s, VS_MSG_READY, NULL, 0);
	add(s, VS_MSG_STDOUT, "x", 1);
	add_u32(s, VS_MSG_EXIT, 0, 42, 2);
	int st = -1;
	char *text;
	vs_err err;
	assert_int_equal(conn_session(s, false, &st, &text, &err), 0);
	assert_int_equal(st, 42);
}

static void test_exec_session_refuses_hello_and_reports_errors(void **state)
{
	(void)state;
	script *s = new_script();
	add_hello(s);
	int st;
	char *text;
	vs_err err;
	assert_int_equal(conn_session(s, false, &st, &text, &err), -1);
	assert_non_null(strstr(err.msg, "HELLO before the exec's READY: out of order"));
	s = new_script();
	uint8_t e[4 + 7] = {ENOENT, 0, 0, 0, 'n', 'o', ' ', 's', 'u', 'c', 'h'};
	add(s, VS_MSG_ERROR, e, sizeof(e));
	assert_int_equal(conn_session(s, false, &st, &text, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "agent: exec: no such"));
}

static void test_ps_listing_is_checked(void **state)
{
	(void)state;
	script *s = new_script();
	add(s, VS_MSG_PIDS, "7 sleep\n12 sh\n", 14);
	int st;
	char *text;
	vs_err err;
	assert_int_equal(conn_session(s, true, &st, &text, &err), 0);
	assert_string_equal(text, "7 sleep\n12 sh\n");
	free(text);
	static const char *bad[] = {"0 zero\n", "07 lead\n", "99999999 big\n", "5 no-newline", "x y\n", "5\n",
				    "5 \033[2J\n",
				    "5 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = new_script();
		add(s, VS_MSG_PIDS, bad[i], (uint32_t)strlen(bad[i]));
		if (conn_session(s, true, &st, &text, &err) != -1 || err.code != EPROTO || !strstr(err.msg, "PIDS"))
			fail_msg("PIDS '%s' was taken (%s)", bad[i], err.msg);
	}
	/* The empty listing is fine (nothing runs but the agent). */
	s = new_script();
	add(s, VS_MSG_PIDS, NULL, 0);
	assert_int_equal(conn_session(s, true, &st, &text, &err), 0);
	assert_string_equal(text, "");
	free(text);
}

/* Host messages the agent checks: FILE's index, EXEC and PS one way only. */
static void test_host_messages_are_checked_too(void **state)
{
	(void)state;
	uint8_t b[64];
	vs_proto_msg m;
	size_t used;
	vs_err err;
	size_t n = hdr(b, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_FILE, 6);
	memcpy(b + n, "\x05\0\0\0hi", 6);
	assert_int_equal(vs_proto_parse(b, n + 6, VS_FROM_HOST, &m, &used, &err), 1);
	assert_int_equal(m.u32[0], 5);
	assert_int_equal(m.text_len, 2);
	memcpy(b + n, "\0\x10\0\0hi", 6); /* index 4096 */
	assert_int_equal(vs_proto_parse(b, n + 6, VS_FROM_HOST, &m, &used, &err), -1);
	hdr(b, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_EXEC, 1);
	assert_int_equal(vs_proto_parse(b, 13, VS_FROM_GUEST, &m, &used, &err), -1);
	hdr(b, VS_PROTO_MAGIC, VS_PROTO_VERSION, VS_MSG_PS, 1);
	assert_int_equal(vs_proto_parse(b, 13, VS_FROM_HOST, &m, &used, &err), -1);
	assert_int_equal(err.code, EMSGSIZE);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_agent_status_and_output),
		cmocka_unit_test(test_signal_death_is_128_plus_n),
		cmocka_unit_test(test_garbage_is_refused),
		cmocka_unit_test(test_wrong_version_is_refused),
		cmocka_unit_test(test_unknown_type_is_refused),
		cmocka_unit_test(test_host_only_type_from_agent_is_refused),
		cmocka_unit_test(test_oversized_frame_is_refused_before_reading_it),
		cmocka_unit_test(test_exit_before_hello_is_out_of_order),
		cmocka_unit_test(test_output_before_ready_is_out_of_order),
		cmocka_unit_test(test_second_hello_is_out_of_order),
		cmocka_unit_test(test_impossible_exit_status_is_refused),
		cmocka_unit_test(test_error_with_control_bytes_is_refused),
		cmocka_unit_test(test_agent_error_is_reported_with_its_errno),
		cmocka_unit_test(test_stall_mid_message_times_out),
		cmocka_unit_test(test_silent_agent_times_out),
		cmocka_unit_test(test_hang_up_before_exit_is_an_error),
		cmocka_unit_test(test_cut_header_is_an_error),
		cmocka_unit_test(test_parse_needs_whole_messages),
		cmocka_unit_test(test_exec_session_gets_its_status),
		cmocka_unit_test(test_exec_session_refuses_hello_and_reports_errors),
		cmocka_unit_test(test_ps_listing_is_checked),
		cmocka_unit_test(test_host_messages_are_checked_too),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
