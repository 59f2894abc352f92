/* OCI hooks, run as /bin/sh scripts that leave evidence in a temp dir. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "ctr/hooks.h"

static char dir[64];
static char envbuf[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vessel-hooks-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(envbuf, sizeof(envbuf), "D=%s", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return vs_rmtree(dir, NULL);
}

/* A hook running `sh -c script` with D=<temp dir> in its environment. */
static vs_hook sh_hook(const char *script, int timeout)
{
	static char *args[8][4];
	static char *envs[8][2];
	static int n;
	int i = n++ % 8;
	args[i][0] = "sh";
	args[i][1] = "-c";
	args[i][2] = (char *)script;
	args[i][3] = NULL;
	envs[i][0] = envbuf;
	envs[i][1] = NULL;
	return (vs_hook){.path = "/bin/sh", .args = args[i], .env = envs[i], .timeout = timeout};
}

static char *slurp(const char *name)
{
	char path[128], *s = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (vs_read_file(path, &s, &len, NULL) < 0)
		return NULL;
	return s;
}

static void assert_file(const char *name, const char *want)
{
	char *got = slurp(name);
	if (!got)
		fail_msg("hook did not write %s", name);
	assert_string_equal(got, want);
	free(got);
}

static void test_state_on_stdin_argv_env(void **state)
{
	(void)state;
	const char *json = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42}";
	setenv("VESSEL_TEST_LEAK", "1", 1);
	vs_hook hooks[] = {
		sh_hook("cat > \"$D/state\"", 0),
		/* args[0] is argv[0]; only the hook's env is visible. */
		sh_hook("tr '\\0' ' ' < /proc/$$/cmdline > \"$D/argv\"; "
			"echo \"${VESSEL_TEST_LEAK:-unset}\" > \"$D/env\"", 0),
	};
	static char *argv0[] = {"my-hook", "-c", NULL, NULL};
	argv0[2] = hooks[1].args[2];
	hooks[1].args = argv0;
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_CREATE_RUNTIME] = hooks;
	cfg.n_hooks[VS_HOOK_CREATE_RUNTIME] = 2;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_CREATE_RUNTIME, json, &err), 0);
	unsetenv("VESSEL_TEST_LEAK");
	assert_file("state", json);
	char *argv = slurp("argv");
	assert_non_null(argv);
	assert_int_equal(strncmp(argv, "my-hook -c ", 11), 0);
	free(argv);
	assert_file("env", "unset\n");
}

static void test_timeout_kills_hook(void **state)
{
	(void)state;
	vs_hook h = sh_hook("echo $$ > \"$D/pid\"; exec sleep 60", 1);
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_PRESTART] = &h;
	cfg.n_hooks[VS_HOOK_PRESTART] = 1;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_PRESTART, "{}", &err), -1);
	assert_string_equal(err.msg, "hook /bin/sh (prestart): timed out after 1 s");
	char *pid = slurp("pid");
	assert_non_null(pid);
	/* Reaped, not left running. */
	assert_int_equal(kill(atoi(pid), 0), -1);
	assert_int_equal(errno, ESRCH);
	free(pid);
}

static void test_exit_status_fatal_for_prestart(void **state)
{
	(void)state;
	vs_hook hooks[] = {sh_hook("exit 3", 0), sh_hook("touch \"$D/second\"", 0)};
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_PRESTART] = hooks;
	cfg.n_hooks[VS_HOOK_PRESTART] = 2;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_PRESTART, "{}", &err), -1);
	assert_string_equal(err.msg, "hook /bin/sh (prestart): exited with status 3");
	assert_null(slurp("second")); /* later hooks do not run */
}

static void test_exit_status_only_warns_for_poststop(void **state)
{
	(void)state;
	vs_hook hooks[] = {sh_hook("exit 1", 0), sh_hook("touch \"$D/second\"", 0)};
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_POSTSTOP] = hooks;
	cfg.n_hooks[VS_HOOK_POSTSTOP] = 2;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_POSTSTOP, "{}", &err), 0);
	assert_file("second", ""); /* the remaining hooks still run */
}

static void test_missing_binary(void **state)
{
	(void)state;
	vs_hook h = {.path = "/nonexistent/vessel-hook"};
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_CREATE_CONTAINER] = &h;
	cfg.n_hooks[VS_HOOK_CREATE_CONTAINER] = 1;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_CREATE_CONTAINER, "{}", &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg, "hook /nonexistent/vessel-hook (createContainer): exec");
}

/* A hook that never reads a large state must not hang or SIGPIPE the runtime. */
static void test_hook_ignoring_stdin(void **state)
{
	(void)state;
	size_t n = 4 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = 0;
	vs_hook h = sh_hook("exec 0<&-; exit 0", 0);
	vs_config cfg = {0};
	cfg.hooks[VS_HOOK_START_CONTAINER] = &h;
	cfg.n_hooks[VS_HOOK_START_CONTAINER] = 1;
	vs_err err = {0};
	assert_int_equal(vs_hooks_run(&cfg, VS_HOOK_START_CONTAINER, big, &err), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_on_stdin_argv_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_fatal_for_prestart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_only_warns_for_poststop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_ignoring_stdin, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
