/* CVE-2019-5736 protection. The test binary re-runs itself with
 * --cloned-child, which calls vs_ensure_cloned_binary and then inspects what
 * it is running from; the parent asserts on the child's report. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctr/cloned_binary.h"

extern char **environ;

/* Child mode: print one line describing the running image, exit 0. */
static int cloned_child(int argc, char **argv)
{
	vs_err err = {0};
	if (vs_ensure_cloned_binary(argv, environ, &err) < 0) {
		printf("ensure failed: %s\n", err.msg);
		return 1;
	}
	char exe[256] = {0};
	if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0)
		strcpy(exe, "?");
	int wfd = open("/proc/self/exe", O_WRONLY);
	int open_errno = wfd < 0 ? errno : 0;
	/* Even a writable fd must not be able to change the sealed copy. */
	int rfd = open("/proc/self/exe", O_RDONLY);
	int seal_locked = rfd >= 0 && fcntl(rfd, F_ADD_SEALS, 0) < 0; /* F_SEAL_SEAL set */
	printf("exe=%s write_open_errno=%d sealed=%d seal_locked=%d argv=%s env=%s\n", exe, open_errno,
	       vs_is_cloned_binary(), seal_locked, argc > 2 ? argv[2] : "", getenv("VESSEL_CLONE_TEST") ?: "");
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	return 0;
}

/* Run this binary with args; return its stdout. */
static char *run_self(char *const args[])
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]), close(p[1]);
		setenv("VESSEL_CLONE_TEST", "kept", 1);
		/* readlink, not execv("/proc/self/exe"): under valgrind only the
		 * former names this test rather than the valgrind tool. */
		char self[4096] = {0};
		if (readlink("/proc/self/exe", self, sizeof(self) - 1) > 0)
			execv(self, args);
		_exit(127);
	}
	close(p[1]);
	static char out[1024];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(out) - 1 && (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("child exited %d: %s", WEXITSTATUS(st), out);
	return out;
}

static void test_runs_from_sealed_memfd(void **state)
{
	(void)state;
	char *const args[] = {"test_cloned_binary", "--cloned-child", "marker-arg", NULL};
	char *out = run_self(args);
	if (!strstr(out, "exe=/memfd:vessel-cloned"))
		fail_msg("not running from the memfd: %s", out);
	/* The kernel refuses to open a running image for writing. */
	assert_non_null(strstr(out, "write_open_errno=26 ")); /* ETXTBSY */
	assert_non_null(strstr(out, "sealed=1 seal_locked=1"));
	assert_non_null(strstr(out, "argv=marker-arg env=kept"));
}

static void test_plain_binary_is_not_cloned(void **state)
{
	(void)state;
	assert_int_equal(vs_is_cloned_binary(), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--cloned-child"))
		return cloned_child(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_from_sealed_memfd),
		cmocka_unit_test(test_plain_binary_is_not_cloned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
