/* cgroups: path resolution, creation and removal, limits landing in the
 * right files of the right hierarchy, partial updates, named errors. Runs
 * against the real cgroup fs (v1, v2 or hybrid), as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include <cmocka.h>

#include "test_cgroup_util.h"

static vs_cgroup_mode expected_mode(void)
{
	struct statfs fs;
	if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return VS_CG_V2;
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return VS_CG_HYBRID;
	return VS_CG_V1;
}

static void test_mode_matches_mounts(void **state)
{
	(void)state;
	vs_cgroup_mode m;
	vs_err err = {0};
	assert_int_equal(vs_cgroup_mode_detect(&m, &err), 0);
	assert_int_equal(m, expected_mode());
}

static char *open_path(const char *p, const char *id, bool systemd, vs_err *err)
{
	vs_cgroup *cg;
	if (vs_cgroup_open(p, id, systemd, &cg, err) < 0)
		return NULL;
	char *s = strdup(vs_cgroup_path(cg));
	vs_cgroup_free(cg);
	return s;
}

static void test_path_resolution(void **state)
{
	(void)state;
	vs_err err = {0};
	char *s;
	assert_non_null(s = open_path("/a//b/", "x", false, &err));
	assert_string_equal(s, "/a/b");
	free(s);
	assert_non_null(s = open_path(NULL, "ctr1", false, &err));
	assert_string_equal(s, "/vessel/ctr1");
	free(s);
	assert_non_null(s = open_path("system.slice:docker:abc", "x", true, &err));
	assert_string_equal(s, "/system.slice/docker-abc.scope");
	free(s);
	assert_non_null(s = open_path("machine-vm.slice:p:n", "x", true, &err));
	assert_string_equal(s, "/machine.slice/machine-vm.slice/p-n.scope");
	free(s);
	/* Re-opening the stored path works with --systemd-cgroup too. */
	assert_non_null(s = open_path("/system.slice/docker-abc.scope", "x", true, &err));
	assert_string_equal(s, "/system.slice/docker-abc.scope");
	free(s);

	/* Relative: under our own cgroup (the unified line if there is one). */
	char *self = NULL, want[512];
	assert_int_equal(vs_cg_self_path("/proc/self/cgroup", &self, &err), 0);
	snprintf(want, sizeof(want), "%s/rel/x", strcmp(self, "/") ? self : "");
	assert_non_null(s = open_path("rel/x", "x", false, &err));
	assert_string_equal(s, want);
	free(s);
	free(self);

	/* Each hierarchy gets <mount point><path>. */
	vs_cgroup *cg;
	assert_int_equal(vs_cgroup_open("/a/b", NULL, false, &cg, &err), 0);
	for (size_t i = 0; i < cg->n; i++) {
		char d[512];
		snprintf(d, sizeof(d), "%s/a/b", cg->h[i].mnt);
		assert_string_equal(cg->h[i].dir, d);
	}
	vs_cgroup_free(cg);

	const char *bad[] = {"/a/../b", "/", "./x", "/a/./b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(open_path(bad[i], "x", false, &err));
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		assert_non_null(strstr(err.msg, "linux.cgroupsPath"));
	}
	assert_null(open_path("no-colons", "x", true, &err));
	assert_int_equal(err.code, VS_EINVAL_CONFIG);
	assert_null(open_path("bad/slice.slice:p:n", "x", true, &err));
	assert_null(open_path(NULL, "a/b", false, &err));
}

static void test_create_and_destroy_every_hierarchy(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("cd", NULL);
	assert_non_null(cg);
	struct stat st;
	for (size_t i = 0; i < cg->n; i++)
		assert_int_equal(stat(cg->h[i].dir, &st), 0);
	vs_err err = {0};
	assert_int_equal(vs_cgroup_destroy(cg, &err), 0);
	for (size_t i = 0; i < cg->n; i++) {
		assert_int_equal(stat(cg->h[i].dir, &st), -1);
		char parent[512];
		snprintf(parent, sizeof(parent), "%s%s", cg->h[i].mnt, tcg_parent);
		assert_int_equal(stat(parent, &st), 0); /* only the leaf goes */
	}
	assert_int_equal(vs_cgroup_destroy(cg, &err), 0); /* already gone is fine */
	vs_cgroup_free(cg);
}

/* A resources struct asking for what this host's controllers can do. */
static vs_resources some_limits(vs_cgroup *cg, bool *huge)
{
	vs_resources r = {0};
	if (vs_cgroup_dir(cg, "memory"))
		r.mem_limit = (vs_opt_i64){true, 64 << 20};
	if (vs_cgroup_dir(cg, "cpu")) {
		r.cpu_quota = (vs_opt_i64){true, 50000};
		r.cpu_period = (vs_opt_u64){true, 100000};
		r.cpu_shares = (vs_opt_u64){true, 512};
	}
	if (vs_cgroup_dir(cg, "pids"))
		r.pids_limit = (vs_opt_i64){true, 42};
	if (vs_cgroup_dir(cg, "cpuset"))
		r.cpu_cpus = r.cpu_mems = "0";
	static vs_hugepage_limit hp = {"2MB", 4 << 20};
	*huge = vs_cgroup_dir(cg, "hugetlb") && access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0;
	if (*huge) {
		r.hugepage_limits = &hp;
		r.n_hugepage_limits = 1;
	}
	return r;
}

static void assert_file(vs_cgroup *cg, const char *ctrl, const char *v1, const char *v2, const char *want)
{
	char *s = tcg_read(cg, ctrl, tcg_is_v2(cg, ctrl) ? v2 : v1);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_limits_land_in_the_right_files(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("lim", NULL);
	assert_non_null(cg);
	bool huge;
	vs_resources r = some_limits(cg, &huge);
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(cg, &r, &err), 0);
	if (r.mem_limit.set)
		assert_file(cg, "memory", "memory.limit_in_bytes", "memory.max", "67108864");
	if (r.cpu_quota.set) {
		if (tcg_is_v2(cg, "cpu")) {
			assert_file(cg, "cpu", "", "cpu.max", "50000 100000");
			assert_file(cg, "cpu", "", "cpu.weight", "20");
		} else {
			assert_file(cg, "cpu", "cpu.cfs_quota_us", "", "50000");
			assert_file(cg, "cpu", "cpu.cfs_period_us", "", "100000");
			assert_file(cg, "cpu", "cpu.shares", "", "512");
		}
	}
	if (r.pids_limit.set)
		assert_file(cg, "pids", "pids.max", "pids.max", "42");
	if (r.cpu_cpus) {
		assert_file(cg, "cpuset", "cpuset.cpus", "cpuset.cpus", "0");
		assert_file(cg, "cpuset", "cpuset.mems", "cpuset.mems", "0");
	}
	if (huge) {
		assert_file(cg, "hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max", "4194304");
		/* No v1 hugetlb mount (this CI host): the limit is in the unified tree. */
		if (vs_cgroup_get_mode(cg) == VS_CG_HYBRID && access("/sys/fs/cgroup/hugetlb", F_OK) != 0)
			assert_true(tcg_is_v2(cg, "hugetlb"));
	} else {
		print_message("no hugetlb controller or 2MB pages: hugetlb not checked\n");
	}
	vs_cgroup_free(cg);
}

static void test_partial_update_changes_only_set_fields(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("upd", NULL);
	assert_non_null(cg);
	bool huge;
	vs_resources r = some_limits(cg, &huge);
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(cg, &r, &err), 0);

	vs_resources u = {0};
	u.pids_limit = (vs_opt_i64){true, 7};
	u.cpu_period = (vs_opt_u64){true, 200000};
	if (!vs_cgroup_dir(cg, "pids") || !vs_cgroup_dir(cg, "cpu")) {
		vs_cgroup_free(cg);
		skip();
	}
	assert_int_equal(vs_cgroup_apply(cg, &u, &err), 0);
	assert_file(cg, "pids", "pids.max", "pids.max", "7");
	if (tcg_is_v2(cg, "cpu")) {
		assert_file(cg, "cpu", "", "cpu.max", "50000 200000"); /* quota kept */
	} else {
		assert_file(cg, "cpu", "cpu.cfs_quota_us", "", "50000");
		assert_file(cg, "cpu", "cpu.cfs_period_us", "", "200000");
		assert_file(cg, "cpu", "cpu.shares", "", "512");
	}
	if (r.mem_limit.set)
		assert_file(cg, "memory", "memory.limit_in_bytes", "memory.max", "67108864");
	if (r.cpu_cpus)
		assert_file(cg, "cpuset", "cpuset.cpus", "cpuset.cpus", "0");

	/* Swap alone: computed against the limit already in force. */
	vs_resources s = {0};
	s.mem_swap = (vs_opt_i64){true, 96 << 20};
	bool v2 = tcg_is_v2(cg, "memory");
	char *memsw = v2 ? NULL : tcg_read(cg, "memory", "memory.memsw.limit_in_bytes");
	if (r.mem_limit.set && (v2 || memsw)) {
		assert_int_equal(vs_cgroup_apply(cg, &s, &err), 0);
		assert_file(cg, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max", v2 ? "33554432" : "100663296");
		assert_file(cg, "memory", "memory.limit_in_bytes", "memory.max", "67108864");
	}
	free(memsw);
	vs_cgroup_free(cg);
}

/* code 0: any errno (the kernel's choice varies between versions). */
static void expect_error(vs_cgroup *cg, const vs_resources *r, int code, const char *msg_part)
{
	vs_err err = {0};
	assert_int_equal(vs_cgroup_apply(cg, r, &err), -1);
	if ((code ? err.code != code : err.code <= 0 || err.code >= VS_EINVAL_CONFIG) || !strstr(err.msg, msg_part))
		fail_msg("got \"%s\" (%d), want %d with \"%s\"", err.msg, err.code, code, msg_part);
}

static void test_impossible_values_name_field_and_file(void **state)
{
	(void)state;
	vs_cgroup *cg = tcg_make("bad", NULL);
	assert_non_null(cg);
	vs_resources r = {0};
	char want[512];

	/* Checked before any write: the memory limit stays as it was. */
	r.mem_limit = (vs_opt_i64){true, 64 << 20};
	r.mem_swap = (vs_opt_i64){true, 32 << 20};
	expect_error(cg, &r, VS_EINVAL_CONFIG, "memory.swap=33554432: must be >= memory.limit=67108864");
	if (vs_cgroup_dir(cg, "memory")) {
		char *before = tcg_read(cg, "memory", tcg_is_v2(cg, "memory") ? "memory.max" : "memory.limit_in_bytes");
		assert_non_null(before);
		assert_string_not_equal(before, "67108864");
		free(before);
	}

	if (vs_cgroup_dir(cg, "cpuset")) {
		r = (vs_resources){.cpu_cpus = "0-1023"};
		snprintf(want, sizeof(want), "linux.resources.cpu.cpus=0-1023: write 0-1023 to %s/cpuset.cpus",
			 vs_cgroup_dir(cg, "cpuset"));
		expect_error(cg, &r, 0, want); /* ERANGE or EINVAL, by kernel version */
	}
	if (vs_cgroup_dir(cg, "cpu")) {
		r = (vs_resources){.cpu_quota = {true, 500}};
		expect_error(cg, &r, EINVAL, "linux.resources.cpu.quota=500: write 500");
	}
	if (vs_cgroup_dir(cg, "hugetlb")) {
		static vs_hugepage_limit odd = {"3MB", 1 << 20};
		r = (vs_resources){.hugepage_limits = &odd, .n_hugepage_limits = 1};
		expect_error(cg, &r, ENOENT, "hugetlb.3MB.");
	}
	static vs_hugepage_limit evil = {"../2MB", 1};
	r = (vs_resources){.hugepage_limits = &evil, .n_hugepage_limits = 1};
	expect_error(cg, &r, VS_EINVAL_CONFIG, "hugepageLimits[0].pageSize=../2MB");
	r = (vs_resources){.blkio_weight = {true, 5}};
	expect_error(cg, &r, VS_EINVAL_CONFIG, "linux.resources.blockIO.weight=5: must be 10..1000");
	static vs_device_rule odd_dev = {true, 'x', 1, 3, "rwm"};
	r = (vs_resources){.devices = &odd_dev, .n_devices = 1};
	expect_error(cg, &r, VS_EINVAL_CONFIG, "linux.resources.devices[0]");
	if (!vs_cgroup_dir(cg, "net_cls")) {
		r = (vs_resources){.net_class_id = {true, 0x100001}};
		expect_error(cg, &r, VS_ENOTSUP_HOST, "linux.resources.network.classID: no net_cls hierarchy");
	}
	if (vs_cgroup_get_mode(cg) == VS_CG_V1) {
		static vs_kv kv = {"memory.high", "1M"};
		r = (vs_resources){.unified = &kv, .n_unified = 1};
		expect_error(cg, &r, VS_ENOTSUP_HOST, "linux.resources.unified");
	}
	vs_cgroup_free(cg);
}

/* mkdir fails in one hierarchy only (the unified tree refuses more depth):
 * what create made in the others is removed again. */
static void test_failed_create_leaves_nothing(void **state)
{
	(void)state;
	vs_cgroup *deep = tcg_make("deep", NULL);
	assert_non_null(deep);
	const char *u = vs_cgroup_dir(deep, NULL);
	if (!u) {
		vs_cgroup_free(deep);
		skip();
	}
	char depth[512];
	snprintf(depth, sizeof(depth), "%s/cgroup.max.depth", u);
	assert_int_equal(vs_write_str(depth, "0", NULL), 0);

	vs_cgroup *cg;
	vs_err err = {0};
	char path[128];
	snprintf(path, sizeof(path), "%s/deep/sub/leaf", tcg_parent);
	assert_int_equal(vs_cgroup_open(path, NULL, false, &cg, &err), 0);
	assert_int_equal(vs_cgroup_create(cg, &err), -1);
	assert_non_null(strstr(err.msg, "create cgroup"));
	struct stat st;
	for (size_t i = 0; i < cg->n; i++) {
		char sub[512];
		snprintf(sub, sizeof(sub), "%s%s/deep/sub", cg->h[i].mnt, tcg_parent);
		if (stat(sub, &st) == 0)
			fail_msg("%s left behind", sub);
		snprintf(sub, sizeof(sub), "%s%s/deep", cg->h[i].mnt, tcg_parent);
		assert_int_equal(stat(sub, &st), 0); /* it existed before: kept */
	}
	vs_cgroup_free(cg);
	vs_cgroup_free(deep);
}

static void test_v1_to_v2_mapping(void **state)
{
	(void)state;
	assert_int_equal(vs_cg_shares_to_weight(2), 1);
	assert_int_equal(vs_cg_shares_to_weight(1024), 39);
	assert_int_equal(vs_cg_shares_to_weight(262144), 10000);
	assert_int_equal(vs_cg_shares_to_weight(0), 0);
	assert_int_equal(vs_cg_blkio_to_io_weight(10), 1);
	assert_int_equal(vs_cg_blkio_to_io_weight(500), 4950);
	assert_int_equal(vs_cg_blkio_to_io_weight(1000), 10000);
	int64_t v;
	vs_err err = {0};
	assert_int_equal(vs_cg_swap_to_v2(2LL << 30, 1LL << 30, &v, &err), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(vs_cg_swap_to_v2(-1, 1LL << 30, &v, &err), 0);
	assert_int_equal(v, -1);
	assert_int_equal(vs_cg_swap_to_v2(0, -1, &v, &err), 0);
	assert_int_equal(v, -1);
	assert_int_equal(vs_cg_swap_to_v2(1 << 20, 1 << 30, &v, &err), -1);
	assert_non_null(strstr(err.msg, "memory.swap=1048576: must be >= memory.limit"));
	assert_int_equal(vs_cg_swap_to_v2(1 << 30, -1, &v, &err), -1);
	assert_non_null(strstr(err.msg, "needs a memory.limit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_matches_mounts),
		cmocka_unit_test(test_path_resolution),
		cmocka_unit_test(test_v1_to_v2_mapping),
		cmocka_unit_test(test_create_and_destroy_every_hierarchy),
		cmocka_unit_test(test_limits_land_in_the_right_files),
		cmocka_unit_test(test_partial_update_changes_only_set_fields),
		cmocka_unit_test(test_impossible_values_name_field_and_file),
		cmocka_unit_test(test_failed_create_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, tcg_setup, tcg_teardown);
}
