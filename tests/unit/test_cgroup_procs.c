/* cgroups with processes in them: entering, listing, freezing, killing,
 * the memory limit enforced, device rules enforced (v1 files and the v2
 * BPF program), and statistics. Real cgroups, as root. */
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "test_cgroup_util.h"

static volatile uint64_t *counter; /* shared with the children */

static void spin(void *arg)
{
	(void)arg;
	for (;;)
		(*counter)++;
}

/* Wait (bounded, generously) until cond() holds; false if it never does. */
static bool eventually(bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < 2000; i++) {
		if (cond(arg))
			return true;
		tcg_msleep(5);
	}
	return false;
}

static bool counter_above(void *arg)
{
	return *counter > *(uint64_t *)arg;
}

static bool cgroup_empty(void *arg)
{
	while (waitpid(-1, NULL, WNOHANG) > 0) /* reap what died (we are subreaper) */
		;
	pid_t *pids = NULL;
	size_t n = 99;
	vs_cgroup_pids(arg, &pids, &n, NULL);
	free(pids);
	return n == 0;
}

static void test_enter_shows_in_pids_and_every_hierarchy(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("procs", NULL);
	assert_non_null(cg);
	pid_t pid = tcg_spawn(cg, tcg_sleep_forever, NULL);
	assert_true(pid > 0);
	pid_t *pids;
	size_t n;
	vs_err err = {0};
	assert_int_equal(vs_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], pid);
	free(pids);

	char path[64], *s, want[128];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "%s/procs\n", tcg_parent);
	assert_int_equal(vs_read_file(path, &s, NULL, NULL), 0);
	size_t hits = 0;
	for (char *p = s; (p = strstr(p, want)); p++)
		hits++;
	free(s);
	assert_int_equal(hits, cg->n); /* one line per hierarchy */
	tcg_reap_all();
	vs_cgroup_free(cg);
}

static void test_freeze_stops_and_thaw_resumes(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("freeze", NULL);
	assert_non_null(cg);
	*counter = 0;
	uint64_t zero = 0;
	assert_true(tcg_spawn(cg, spin, NULL) > 0);
	assert_true(eventually(counter_above, &zero));

	vs_err err = {0};
	bool frozen = false;
	assert_int_equal(vs_cgroup_freeze(cg, true, &err), 0);
	assert_int_equal(vs_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_true(frozen);
	char *st = tcg_read(cg, "freezer", "freezer.state");
	if (st) /* v1 */
		assert_string_equal(st, "FROZEN");
	free(st);
	uint64_t before = *counter;
	tcg_msleep(200);
	assert_true(*counter == before); /* no progress while frozen */

	assert_int_equal(vs_cgroup_freeze(cg, false, &err), 0);
	assert_int_equal(vs_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	assert_true(eventually(counter_above, &before));
	tcg_reap_all();
	vs_cgroup_free(cg);
}

/* Forks as fast as it can (bounded, so a missing pids limit is harmless). */
static void forker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		pid_t p = fork();
		if (p == 0)
			tcg_sleep_forever(NULL);
		(*counter)++;
	}
	tcg_sleep_forever(NULL);
}

static void test_kill_reaches_every_process(void **state)
{
	(void)state;
	vs_resources r = {0};
	vs_cgroup *probe = tcg_make("kill", NULL);
	assert_non_null(probe);
	if (vs_cgroup_dir(probe, "pids"))
		r.pids_limit = (vs_opt_i64){true, 64};
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(probe, &r, &err), 0);
	*counter = 0;
	uint64_t some = 10;
	assert_true(tcg_spawn(probe, forker, NULL) > 0);
	assert_true(eventually(counter_above, &some));

	assert_int_equal(vs_cgroup_kill(probe, SIGKILL, &err), 0);
	assert_true(eventually(cgroup_empty, probe));
	bool frozen = true;
	assert_int_equal(vs_cgroup_is_frozen(probe, &frozen, &err), 0);
	assert_false(frozen); /* kill thaws what it froze */
	tcg_reap_all();
	vs_cgroup_free(probe);
}

/* A frozen leftover (paused, or frozen by a runtime killed half-way) is
 * thawed by SIGKILL so its tasks can die, and left empty and thawed. */
static void test_kill_empties_and_thaws_a_frozen_cgroup(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("kill-frozen", NULL);
	assert_non_null(cg);
	for (int i = 0; i < 3; i++)
		assert_true(tcg_spawn(cg, tcg_sleep_forever, NULL) > 0);
	vs_err err = {0};
	assert_int_equal(vs_cgroup_freeze(cg, true, &err), 0);
	assert_int_equal(vs_cgroup_kill(cg, SIGKILL, &err), 0);
	assert_true(eventually(cgroup_empty, cg));
	bool frozen = true;
	assert_int_equal(vs_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	tcg_reap_all();
	vs_cgroup_free(cg);
}

static void on_usr1(int sig)
{
	(void)sig;
	(*counter)++;
}

static void count_usr1(void *arg)
{
	(void)arg;
	signal(SIGUSR1, on_usr1);
	*counter = 1; /* ready */
	tcg_sleep_forever(NULL);
}

static bool is_frozen(void *cg)
{
	bool f = false;
	return vs_cgroup_is_frozen(cg, &f, NULL) == 0 && f;
}

/* A signal to a paused container waits for resume; it stays paused. */
static void test_kill_keeps_a_paused_container_paused(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("kill-paused", NULL);
	assert_non_null(cg);
	*counter = 0;
	uint64_t zero = 0, one = 1;
	assert_true(tcg_spawn(cg, count_usr1, NULL) > 0);
	assert_true(eventually(counter_above, &zero));
	vs_err err = {0};
	assert_int_equal(vs_cgroup_freeze(cg, true, &err), 0);
	assert_int_equal(vs_cgroup_kill(cg, SIGUSR1, &err), 0);
	/* (v2 may wake the task for a moment to look at the signal) */
	assert_true(eventually(is_frozen, cg));
	tcg_msleep(100);
	assert_int_equal(*counter, 1); /* handler has not run */
	assert_int_equal(vs_cgroup_freeze(cg, false, &err), 0);
	assert_true(eventually(counter_above, &one));
	tcg_reap_all();
	vs_cgroup_free(cg);
}

static void hog(void *arg)
{
	size_t len = (size_t)arg;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	(*counter)++;
	tcg_sleep_forever(NULL);
}

static void test_memory_limit_is_enforced(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("oom", NULL);
	assert_non_null(cg);
	if (!vs_cgroup_dir(cg, "memory")) {
		vs_cgroup_free(cg);
		skip();
	}
	vs_resources r = {0};
	r.mem_limit = (vs_opt_i64){true, 32 << 20};
	r.mem_swap = (vs_opt_i64){true, 32 << 20}; /* no swapping out of the limit */
	vs_err err = {0};
	if (vs_cgroup_apply(cg, &r, &err) < 0)
		fail_msg("%s", err.msg);
	*counter = 0;
	pid_t pid = tcg_spawn(cg, hog, (void *)(size_t)(256 << 20));
	assert_true(pid > 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(*counter, 0); /* it never got all its memory */
	uint64_t kills = 0;
	const char *dir = vs_cgroup_dir(cg, "memory");
	assert_int_equal(vs_cg_read_key(dir, tcg_is_v2(cg, "memory") ? "memory.events" : "memory.oom_control",
					"oom_kill", &kills, &err),
			 0);
	assert_true(kills >= 1);
	uint64_t seen = 0;
	assert_int_equal(vs_cgroup_oom_kills(cg, &seen, &err), 0); /* what create reports a setup death with */
	assert_int_equal(seen, kills);
	vs_cgroup_free(cg);
}

/* v1 refuses a limit below what is in use (v2 would OOM-kill instead). */
static void test_limit_below_usage_is_a_named_error(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("busy", NULL);
	assert_non_null(cg);
	if (!vs_cgroup_dir(cg, "memory") || tcg_is_v2(cg, "memory")) {
		vs_cgroup_free(cg);
		skip();
	}
	*counter = 0;
	uint64_t zero = 0;
	assert_true(tcg_spawn(cg, hog, (void *)(size_t)(48 << 20)) > 0);
	assert_true(eventually(counter_above, &zero));
	vs_resources r = {0};
	r.mem_limit = (vs_opt_i64){true, 8 << 20};
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(cg, &r, &err), -1);
	char want[512];
	snprintf(want, sizeof(want), "linux.resources.memory.limit=8388608: write 8388608 to %s/memory.limit_in_bytes",
		 vs_cgroup_dir(cg, "memory"));
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, EBUSY);
	tcg_reap_all();
	vs_cgroup_free(cg);
}

static char node[64]; /* a c 1:11 (kmsg) node of our own */

static void probe_devices(void *arg)
{
	(void)arg;
	int bits = 0, fd;
	if ((fd = open(node, O_RDONLY)) >= 0)
		bits |= 1, close(fd);
	if ((fd = open(node, O_WRONLY)) >= 0)
		bits |= 2, close(fd);
	else if (errno != EPERM)
		bits |= 8;
	if ((fd = open("/dev/null", O_RDWR)) >= 0)
		bits |= 4, close(fd);
	_exit(bits);
}

static int device_bits(vs_cgroup *cg)
{
	int status;
	pid_t pid = tcg_spawn(cg, probe_devices, NULL);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static vs_device_rule read_only_kmsg[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 11, "r"}};
static vs_device_rule read_write_kmsg[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 11, "rw"}};

static int make_node(void)
{
	snprintf(node, sizeof(node), "/tmp/vessel-cgdev-%d", (int)getpid());
	unlink(node);
	return mknod(node, S_IFCHR | 0600, makedev(1, 11));
}

/* Through vs_cgroup_apply: devices.allow/deny on v1, the BPF program on v2. */
static void test_device_rules_are_enforced(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("dev1", NULL);
	assert_non_null(cg);
	assert_int_equal(make_node(), 0);
	vs_resources r = {.devices = read_only_kmsg, .n_devices = 2};
	vs_err err = {0};
	if (vs_cgroup_apply(cg, &r, &err) < 0)
		fail_msg("%s (%d)", err.msg, err.code);
	const char *v1 = vs_cgroup_dir(cg, "devices");
	if (v1) {
		char *list = NULL;
		assert_int_equal(vs_cg_read(v1, "devices.list", &list, &err), 0);
		assert_non_null(strstr(list, "c 1:11 r\n"));
		assert_non_null(strstr(list, "c 1:3 rwm\n")); /* OCI default: /dev/null */
		assert_null(strstr(list, "a *:* rwm"));
		free(list);
	}
	assert_int_equal(device_bits(cg), 1 | 4); /* read kmsg, not write; null ok */
	unlink(node);
	vs_cgroup_free(cg);
}

static uint32_t attached_programs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	uint32_t ids[8];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = 8;
	long rc = syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a));
	close(fd);
	return rc == 0 ? a.query.prog_cnt : 999;
}

/* The BPF program works in any cgroup2 tree, also the unified tree of a
 * hybrid host, so it is tested on every host. */
static void test_v2_bpf_device_program(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("dev2", NULL);
	assert_non_null(cg);
	const char *u = vs_cgroup_dir(cg, NULL);
	if (!u) {
		vs_cgroup_free(cg);
		skip();
	}
	assert_int_equal(make_node(), 0);
	vs_resources r = {.devices = read_only_kmsg, .n_devices = 2};
	vs_err err = {0};
	if (vs_cg_v2_devices(u, &r, &err) < 0)
		fail_msg("%s (%d)", err.msg, err.code);
	assert_int_equal(attached_programs(u), 1);
	assert_int_equal(device_bits(cg), 1 | 4);

	r.devices = read_write_kmsg; /* an update replaces the program */
	assert_int_equal(vs_cg_v2_devices(u, &r, &err), 0);
	assert_int_equal(attached_programs(u), 1);
	assert_int_equal(device_bits(cg), 1 | 2 | 4);

	/* Later rules win: allow all, then deny kmsg entirely. */
	static vs_device_rule deny_last[] = {{true, 'a', -1, -1, "rwm"}, {false, 'c', 1, 11, "rwm"}};
	r.devices = deny_last;
	assert_int_equal(vs_cg_v2_devices(u, &r, &err), 0);
	assert_int_equal(device_bits(cg), 4);
	unlink(node);
	vs_cgroup_free(cg);
}

static void test_stats(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("stats", NULL);
	assert_non_null(cg);
	vs_resources r = {0};
	if (vs_cgroup_dir(cg, "pids"))
		r.pids_limit = (vs_opt_i64){true, 10};
	if (vs_cgroup_dir(cg, "memory"))
		r.mem_limit = (vs_opt_i64){true, 64 << 20};
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(cg, &r, &err), 0);
	*counter = 0;
	uint64_t zero = 0, lots = 20 * 1000 * 1000;
	assert_true(tcg_spawn(cg, hog, (void *)(size_t)(8 << 20)) > 0);
	assert_true(eventually(counter_above, &zero));
	assert_true(tcg_spawn(cg, spin, NULL) > 0);
	assert_true(eventually(counter_above, &lots));
	vs_cgroup_stats st;
	assert_int_equal(vs_cgroup_stats_read(cg, &st, &err), 0);
	assert_true(st.cpu_usage_ns > 0);
	assert_true(st.cpu_user_ns > 0);
	if (r.pids_limit.set) {
		assert_int_equal(st.pids_current, 2);
		assert_int_equal(st.pids_limit, 10);
	}
	if (r.mem_limit.set) {
		assert_int_equal(st.mem_limit, 64 << 20);
		assert_true(st.mem_usage >= 8 << 20);
	}
	tcg_reap_all();
	vs_cgroup_free(cg);
}

static int setup(void **state)
{
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return counter == MAP_FAILED ? -1 : tcg_setup(state);
}

static int teardown(void **state)
{
	if (node[0])
		unlink(node);
	return tcg_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enter_shows_in_pids_and_every_hierarchy),
		cmocka_unit_test(test_freeze_stops_and_thaw_resumes),
		cmocka_unit_test(test_kill_reaches_every_process),
		cmocka_unit_test(test_kill_keeps_a_paused_container_paused),
		cmocka_unit_test(test_kill_empties_and_thaws_a_frozen_cgroup),
		cmocka_unit_test(test_memory_limit_is_enforced),
		cmocka_unit_test(test_limit_below_usage_is_a_named_error),
		cmocka_unit_test(test_device_rules_are_enforced),
		cmocka_unit_test(test_v2_bpf_device_program),
		cmocka_unit_test(test_stats),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
