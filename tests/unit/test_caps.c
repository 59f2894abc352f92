/* process.capabilities and process.user: each case runs the three steps in a
 * forked child, which sends back its /proc/self/status (or the error). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "ctr/caps.h"

#define BIT(c) (1ull << (c))

typedef struct {
	int ok;           /* steps succeeded */
	char msg[512];    /* the error otherwise */
	char status[4096];/* /proc/self/status after the steps */
	int chown_errno;  /* errno of chown(path, 1234, 1234), 0 on success */
} result;

static const char *chown_path; /* set by the chown test */

static void child(const vs_process *p, bool new_userns, int out)
{
	result r = {0};
	vs_err err = {0};
	if (new_userns) {
		/* A user namespace with setgroups denied, root mapped to root. */
		if (unshare(CLONE_NEWUSER) < 0 ||
		    vs_write_str("/proc/self/setgroups", "deny", &err) < 0 ||
		    vs_write_str("/proc/self/uid_map", "0 0 1", &err) < 0 ||
		    vs_write_str("/proc/self/gid_map", "0 0 1", &err) < 0) {
			snprintf(r.msg, sizeof(r.msg), "userns: %.200s %s", err.msg, strerror(errno));
			goto out;
		}
	}
	if (vs_caps_prepare(p, &err) < 0 || vs_caps_switch_user(p, &err) < 0 || vs_caps_apply(p, 0, &err) < 0) {
		snprintf(r.msg, sizeof(r.msg), "%s", err.msg);
		goto out;
	}
	r.ok = 1;
	if (chown_path)
		r.chown_errno = chown(chown_path, 1234, 1234) < 0 ? errno : 0;
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, r.status, sizeof(r.status) - 1);
		(void)n;
		close(fd);
	}
out:
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static void run(const vs_process *p, bool new_userns, result *r)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child(p, new_userns, fds[1]);
	}
	close(fds[1]);
	memset(r, 0, sizeof(*r));
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(*r) && (n = read(fds[0], (char *)r + got, sizeof(*r) - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(got, sizeof(*r));
}

/* The value of a "Key:\t<value>" line of /proc/self/status. */
static const char *status_field(const result *r, const char *key, char *buf, size_t len)
{
	const char *s = strstr(r->status, key);
	assert_non_null(s);
	s += strlen(key);
	while (*s == ':' || *s == '\t')
		s++;
	size_t n = strcspn(s, "\n");
	while (n > 0 && s[n - 1] == ' ')
		n--;
	snprintf(buf, len, "%.*s", (int)n, s);
	return buf;
}

static uint64_t status_caps(const result *r, const char *key)
{
	char buf[64];
	return strtoull(status_field(r, key, buf, sizeof(buf)), NULL, 16);
}

/* The test's own capabilities (a sandbox may lack some of the kernel's). */
static uint64_t all_caps(void)
{
	char *s = NULL;
	size_t len;
	assert_int_equal(vs_read_file("/proc/self/status", &s, &len, NULL), 0);
	const char *eff = strstr(s, "CapEff:");
	assert_non_null(eff);
	uint64_t v = strtoull(eff + 7, NULL, 16);
	free(s);
	return v;
}

static void assert_ok(const result *r)
{
	if (!r->ok)
		fail_msg("child failed: %s", r->msg);
}

static void test_sets_and_user_switched(void **state)
{
	(void)state;
	uint32_t groups[] = {1001, 1002};
	vs_process p = {.uid = 1000, .gid = 1000, .additional_gids = groups, .n_additional_gids = 2,
			.has_caps = true};
	p.caps[VS_CAP_BOUNDING] = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW) | BIT(CAP_SETUID);
	p.caps[VS_CAP_PERMITTED] = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
	p.caps[VS_CAP_EFFECTIVE] = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	p.caps[VS_CAP_INHERITABLE] = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL);
	p.caps[VS_CAP_AMBIENT] = BIT(CAP_NET_BIND_SERVICE);
	result r;
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(status_caps(&r, "CapBnd"), p.caps[VS_CAP_BOUNDING]);
	assert_int_equal(status_caps(&r, "CapPrm"), p.caps[VS_CAP_PERMITTED]);
	assert_int_equal(status_caps(&r, "CapEff"), p.caps[VS_CAP_EFFECTIVE]);
	assert_int_equal(status_caps(&r, "CapInh"), p.caps[VS_CAP_INHERITABLE]);
	assert_int_equal(status_caps(&r, "CapAmb"), p.caps[VS_CAP_AMBIENT]);
	char buf[128];
	assert_string_equal(status_field(&r, "\nUid", buf, sizeof(buf)), "1000\t1000\t1000\t1000");
	assert_string_equal(status_field(&r, "\nGid", buf, sizeof(buf)), "1000\t1000\t1000\t1000");
	assert_string_equal(status_field(&r, "\nGroups", buf, sizeof(buf)), "1001 1002");
}

/* The file the chown test changes; removed by the teardown even on failure. */
static char chown_file[] = "/tmp/vessel-caps-XXXXXX";

static int make_chown_file(void **state)
{
	(void)state;
	strcpy(chown_file, "/tmp/vessel-caps-XXXXXX");
	int fd = mkstemp(chown_file);
	if (fd < 0)
		return -1;
	close(fd);
	chown_path = chown_file;
	return 0;
}

static int remove_chown_file(void **state)
{
	(void)state;
	chown_path = NULL;
	return unlink(chown_file);
}

static void test_dropped_chown_denies_chown(void **state)
{
	(void)state;

	vs_process p = {.uid = 0, .gid = 0, .has_caps = true};
	for (int s = 0; s < VS_CAP_SETS; s++)
		p.caps[s] = all_caps() & ~BIT(CAP_CHOWN);
	p.caps[VS_CAP_AMBIENT] = 0;
	result r;
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(r.chown_errno, EPERM);
	assert_int_equal(status_caps(&r, "CapBnd") & BIT(CAP_CHOWN), 0);

	/* The same with CAP_CHOWN kept: chown works, so the EPERM came from the drop. */
	p.caps[VS_CAP_EFFECTIVE] |= BIT(CAP_CHOWN);
	p.caps[VS_CAP_PERMITTED] |= BIT(CAP_CHOWN);
	p.caps[VS_CAP_BOUNDING] |= BIT(CAP_CHOWN);
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(r.chown_errno, 0);
}

static void test_defaults_without_capabilities(void **state)
{
	(void)state;
	vs_process p = {.uid = 1000, .gid = 1000};
	result r;
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(status_caps(&r, "CapEff"), 0);
	assert_int_equal(status_caps(&r, "CapPrm"), 0);
	char buf[128];
	assert_string_equal(status_field(&r, "\nGroups", buf, sizeof(buf)), "");

	p = (vs_process){.uid = 0, .gid = 0};
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(status_caps(&r, "CapEff"), all_caps());
}

/* runc's default spec lists ambient caps without an inheritable set: the
 * process must still start, just without those ambient caps. */
static void test_ambient_outside_inheritable_not_raised(void **state)
{
	(void)state;
	vs_process p = {.uid = 1000, .gid = 1000, .has_caps = true};
	p.caps[VS_CAP_BOUNDING] = p.caps[VS_CAP_PERMITTED] = p.caps[VS_CAP_EFFECTIVE] = BIT(CAP_NET_RAW);
	p.caps[VS_CAP_AMBIENT] = BIT(CAP_NET_RAW); /* not inheritable */
	result r;
	run(&p, false, &r);
	assert_ok(&r);
	assert_int_equal(status_caps(&r, "CapAmb"), 0);
	assert_int_equal(status_caps(&r, "CapEff"), BIT(CAP_NET_RAW));
}

static void test_inheritable_outside_bounding_fails(void **state)
{
	(void)state;
	vs_process p = {.uid = 1000, .gid = 1000, .has_caps = true};
	p.caps[VS_CAP_BOUNDING] = BIT(CAP_KILL);
	p.caps[VS_CAP_PERMITTED] = p.caps[VS_CAP_INHERITABLE] = BIT(CAP_KILL) | BIT(CAP_NET_RAW);
	result r;
	run(&p, false, &r);
	assert_false(r.ok);
	if (!strstr(r.msg, "inheritable CAP_NET_RAW is not in the bounding set"))
		fail_msg("unexpected error: %s", r.msg);
}

static void test_setgroups_denied_is_skipped(void **state)
{
	(void)state;
	uint32_t groups[] = {0};
	vs_process p = {.uid = 0, .gid = 0, .additional_gids = groups, .n_additional_gids = 1};
	result r;
	run(&p, true, &r);
	if (!r.ok && strncmp(r.msg, "userns:", 7) == 0)
		skip(); /* no user namespaces here */
	assert_ok(&r);
	char buf[128];
	assert_string_equal(status_field(&r, "\nUid", buf, sizeof(buf)), "0\t0\t0\t0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sets_and_user_switched),
		cmocka_unit_test_setup_teardown(test_dropped_chown_denies_chown, make_chown_file, remove_chown_file),
		cmocka_unit_test(test_defaults_without_capabilities),
		cmocka_unit_test(test_ambient_outside_inheritable_not_raised),
		cmocka_unit_test(test_inheritable_outside_bounding_fails),
		cmocka_unit_test(test_setgroups_denied_is_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
