/* linux.seccomp: each filter is loaded in a forked child, which reports what
 * its syscalls returned through its exit status (0 = as expected). */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <valgrind/valgrind.h>

#include "ctr/seccomp.h"

/* Expect syscall result `rc` to be -1 with errno `want` (0 = success). */
#define EXPECT(step, call, want)                                                                    \
	do {                                                                                        \
		errno = 0;                                                                          \
		long rc_ = (call);                                                                  \
		int got_ = rc_ < 0 ? errno : 0;                                                     \
		if (got_ != (want)) {                                                               \
			fprintf(stderr, "child: %s: got errno %d (%s), want %d\n", #call, got_,      \
				strerror(got_), (want));                                           \
			_exit(step);                                                                \
		}                                                                                   \
	} while (0)

typedef void (*child_fn)(const vs_seccomp *sc);

/* Fork, load sc in the child, run fn there; return the wait status. */
static int run_child(const vs_seccomp *sc, child_fn fn)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = {0};
		int nfd;
		if (vs_seccomp_load(sc, &nfd, &err) < 0) {
			fprintf(stderr, "child: load: %s (%d)\n", err.msg, err.code);
			_exit(100);
		}
		fn(sc);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* Skip when the host (or valgrind, which hides seccomp(2)) lacks an API level. */
static void need_api(unsigned level)
{
	if (seccomp_api_get() < level)
		skip();
}

static void assert_exit0(int st)
{
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static char *n_mkdir[] = {"mkdir", "mkdirat", NULL};
static char *n_getppid[] = {"getppid", NULL};

/* ---- actions and errnoRet ---- */
static void child_errno(const vs_seccomp *sc)
{
	(void)sc;
	EXPECT(1, syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-vs/x", 0700), EPERM);
	EXPECT(2, syscall(SYS_getppid), EXDEV);
	EXPECT(3, syscall(SYS_getpid), 0);
}

static void test_errno_default_eperm_and_errno_ret(void **state)
{
	(void)state;
	vs_seccomp_rule rules[] = {
		{.names = n_mkdir, .n_names = 2, .action = VS_SCMP_ERRNO},
		{.names = n_getppid, .n_names = 1, .action = VS_SCMP_ERRNO, .has_errno_ret = true,
		 .errno_ret = EXDEV},
	};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 2};
	assert_exit0(run_child(&sc, child_errno));
}

static void child_default_errno(const vs_seccomp *sc)
{
	(void)sc;
	EXPECT(1, syscall(SYS_getppid), EHOSTDOWN); /* default action */
	EXPECT(2, syscall(SYS_getuid), EHOSTDOWN);  /* rule equal to the default: skipped */
	EXPECT(3, syscall(SYS_getgid), EPERM);
	EXPECT(4, syscall(SYS_getpid), 0);
}

static void test_default_errno_ret(void **state)
{
	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip(); /* the filter denies the syscalls valgrind itself makes */
	/* What the child (and, under ASan, its runtime) needs to run and exit. */
	static char *allow[] = {"exit_group", "exit", "getpid", "write", "mmap", "munmap", "mprotect",
				"madvise", "brk", "futex", "rt_sigprocmask", "sigaltstack", NULL};
	static char *same[] = {"getuid", NULL};
	static char *eperm[] = {"getgid", NULL};
	vs_seccomp_rule rules[] = {
		{.names = allow, .n_names = 12, .action = VS_SCMP_ALLOW},
		{.names = same, .n_names = 1, .action = VS_SCMP_ERRNO, .has_errno_ret = true,
		 .errno_ret = EHOSTDOWN},
		{.names = eperm, .n_names = 1, .action = VS_SCMP_ERRNO},
	};
	vs_seccomp sc = {.default_action = VS_SCMP_ERRNO, .has_default_errno_ret = true,
			 .default_errno_ret = EHOSTDOWN, .rules = rules, .n_rules = 3};
	assert_exit0(run_child(&sc, child_default_errno));
}

static void child_getppid(const vs_seccomp *sc)
{
	(void)sc;
	syscall(SYS_getppid);
}

static void test_kill_process(void **state)
{
	(void)state;
	need_api(3);
	vs_seccomp_rule rules[] = {{.names = n_getppid, .n_names = 1, .action = VS_SCMP_KILL_PROCESS}};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 1};
	int st = run_child(&sc, child_getppid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* ---- argument conditions ---- */
static void child_args(const vs_seccomp *sc)
{
	(void)sc;
	EXPECT(1, syscall(SYS_close, 1000), EXDEV); /* EQ */
	EXPECT(2, syscall(SYS_close, 1001), EBADF);
	EXPECT(3, syscall(SYS_fcntl, 1000, F_GETFL), ECHRNG); /* both args match: AND */
	EXPECT(4, syscall(SYS_fcntl, 1000, F_GETFD), EBADF);
	EXPECT(5, syscall(SYS_fcntl, 1001, F_GETFL), EBADF);
	EXPECT(6, syscall(SYS_dup, 1000), EXDEV); /* same index twice: OR */
	EXPECT(7, syscall(SYS_dup, 1001), EXDEV);
	EXPECT(8, syscall(SYS_dup, 1002), EBADF);
	EXPECT(9, syscall(SYS_fchdir, 0x7ab), EXDEV); /* MASKED_EQ */
	EXPECT(10, syscall(SYS_fchdir, 0x8ab), EBADF);
	EXPECT(11, syscall(SYS_fsync, 2001), EXDEV); /* GT */
	EXPECT(12, syscall(SYS_fsync, 1999), EBADF);
}

static void test_arg_conditions(void **state)
{
	(void)state;
	static char *n_close[] = {"close", NULL}, *n_fcntl[] = {"fcntl", NULL}, *n_dup[] = {"dup", NULL},
		    *n_fchdir[] = {"fchdir", NULL}, *n_fsync[] = {"fsync", NULL};
	vs_seccomp_arg a_close[] = {{.index = 0, .value = 1000, .op = VS_SCMP_OP_EQ}};
	vs_seccomp_arg a_fcntl[] = {{.index = 0, .value = 1000, .op = VS_SCMP_OP_EQ},
				    {.index = 1, .value = F_GETFL, .op = VS_SCMP_OP_EQ}};
	vs_seccomp_arg a_dup[] = {{.index = 0, .value = 1000, .op = VS_SCMP_OP_EQ},
				  {.index = 0, .value = 1001, .op = VS_SCMP_OP_EQ}};
	vs_seccomp_arg a_fchdir[] = {{.index = 0, .value = 0xff00, .value_two = 0x700, .op = VS_SCMP_OP_MASKED_EQ}};
	vs_seccomp_arg a_fsync[] = {{.index = 0, .value = 2000, .op = VS_SCMP_OP_GT}};
#define R(n, a, e) {.names = n, .n_names = 1, .action = VS_SCMP_ERRNO, .has_errno_ret = true, .errno_ret = e, \
		    .args = a, .n_args = sizeof(a) / sizeof(a[0])}
	vs_seccomp_rule rules[] = {R(n_close, a_close, EXDEV), R(n_fcntl, a_fcntl, ECHRNG),
				   R(n_dup, a_dup, EXDEV), R(n_fchdir, a_fchdir, EXDEV),
				   R(n_fsync, a_fsync, EXDEV)};
#undef R
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 5};
	assert_exit0(run_child(&sc, child_args));
}

/* ---- names, architectures, flags ---- */
static void child_unknown(const vs_seccomp *sc)
{
	(void)sc;
	EXPECT(1, syscall(SYS_getppid), EPERM);
}

static void test_unknown_syscall_skipped(void **state)
{
	(void)state;
	need_api(4);
	static char *names[] = {"no_such_syscall_vessel", "getppid", NULL};
	static char *archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
	static char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
				"SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL};
	vs_seccomp_rule rules[] = {{.names = names, .n_names = 2, .action = VS_SCMP_ERRNO}};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 1, .flags = flags};
#ifdef __x86_64__
	sc.architectures = archs;
#else
	(void)archs;
#endif
	assert_exit0(run_child(&sc, child_unknown));
}

/* ---- SCMP_ACT_NOTIFY: the child supervises its own grandchild ---- */
static void test_notify(void **state)
{
	(void)state;
	need_api(5);
	vs_seccomp_rule rules[] = {{.names = n_getppid, .n_names = 1, .action = VS_SCMP_NOTIFY}};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 1};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = {0};
		int fd;
		if (vs_seccomp_load(&sc, &fd, &err) < 0 || fd < 0)
			_exit(100);
		pid_t gc = fork();
		if (gc == 0)
			_exit(syscall(SYS_getppid) == 4242 ? 0 : 1);
		struct seccomp_notif *req;
		struct seccomp_notif_resp *resp;
		if (gc < 0 || seccomp_notify_alloc(&req, &resp) < 0)
			_exit(101);
		if (seccomp_notify_receive(fd, req) < 0 || req->data.nr != SYS_getppid)
			_exit(102);
		resp->id = req->id;
		resp->val = 4242;
		resp->error = 0;
		resp->flags = 0;
		if (seccomp_notify_respond(fd, resp) < 0)
			_exit(103);
		seccomp_notify_free(req, resp);
		int st;
		if (waitpid(gc, &st, 0) != gc || !WIFEXITED(st))
			_exit(104);
		_exit(WEXITSTATUS(st));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}

/* ---- validation ---- */
static void expect_check_fails(const vs_seccomp *sc, int code, const char *needle)
{
	vs_err err = {0};
	assert_int_equal(vs_seccomp_check(sc, &err), -1);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

static void test_check_rejects_bad_values(void **state)
{
	(void)state;
	static char *bad_arch[] = {"SCMP_ARCH_PDP11", NULL};
	static char *bad_flag[] = {"SECCOMP_FILTER_FLAG_BOGUS", NULL};
	static char *empty[] = {NULL};
	vs_seccomp_arg bad_index[] = {{.index = 6, .value = 1, .op = VS_SCMP_OP_EQ}};
	vs_seccomp_arg bad_op[] = {{.index = 0, .value = 1, .op = (vs_seccomp_op)42}};

	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .architectures = bad_arch};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "SCMP_ARCH_PDP11");

	sc = (vs_seccomp){.default_action = VS_SCMP_ALLOW, .flags = bad_flag};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "SECCOMP_FILTER_FLAG_BOGUS");

	sc = (vs_seccomp){.default_action = VS_SCMP_NOTIFY};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "defaultAction");

	sc = (vs_seccomp){.default_action = VS_SCMP_ALLOW, .has_default_errno_ret = true, .default_errno_ret = 1};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "errnoRet");

	sc = (vs_seccomp){.default_action = (vs_seccomp_action)99};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "unknown action");

	vs_seccomp_rule r = {.names = n_getppid, .n_names = 1, .action = VS_SCMP_ERRNO, .has_errno_ret = true,
			     .errno_ret = 70000};
	sc = (vs_seccomp){.default_action = VS_SCMP_ALLOW, .rules = &r, .n_rules = 1};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "syscalls[0]: errnoRet 70000");

	r = (vs_seccomp_rule){.names = n_getppid, .n_names = 1, .action = VS_SCMP_ERRNO, .args = bad_index,
			      .n_args = 1};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "index 6");
	r.args = bad_op;
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "operator");

	r = (vs_seccomp_rule){.names = empty, .action = VS_SCMP_ERRNO};
	expect_check_fails(&sc, VS_EINVAL_CONFIG, "names is empty");

	/* A valid profile passes. */
	r = (vs_seccomp_rule){.names = n_getppid, .n_names = 1, .action = VS_SCMP_TRACE, .has_errno_ret = true,
			      .errno_ret = 1};
	vs_err err = {0};
	assert_int_equal(vs_seccomp_check(&sc, &err), 0);
}

static void test_wait_killable_named_when_unsupported(void **state)
{
	(void)state;
	static char *flags[] = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .flags = flags};
	vs_err err = {0};
	if (vs_seccomp_check(&sc, &err) == 0)
		skip(); /* this libseccomp supports it */
	assert_int_equal(err.code, VS_ENOTSUP_HOST);
	assert_non_null(strstr(err.msg, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
}

/* A failed load must not leave a filter behind. */
static void test_failed_load_installs_nothing(void **state)
{
	(void)state;
	static char *names[] = {"getppid", NULL};
	vs_seccomp_arg bad[] = {{.index = 9, .op = VS_SCMP_OP_EQ}};
	vs_seccomp_rule rules[] = {
		{.names = names, .n_names = 1, .action = VS_SCMP_ERRNO},
		{.names = names, .n_names = 1, .action = VS_SCMP_ERRNO, .args = bad, .n_args = 1},
	};
	vs_seccomp sc = {.default_action = VS_SCMP_ALLOW, .rules = rules, .n_rules = 2};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = {0};
		int fd;
		if (vs_seccomp_load(&sc, &fd, &err) == 0)
			_exit(1);
		EXPECT(2, syscall(SYS_getppid), 0);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_default_eperm_and_errno_ret),
		cmocka_unit_test(test_default_errno_ret),
		cmocka_unit_test(test_kill_process),
		cmocka_unit_test(test_arg_conditions),
		cmocka_unit_test(test_unknown_syscall_skipped),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_check_rejects_bad_values),
		cmocka_unit_test(test_wait_killable_named_when_unsupported),
		cmocka_unit_test(test_failed_load_installs_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
