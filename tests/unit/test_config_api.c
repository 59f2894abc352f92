/* The rest of the oci/ API: vs_config_load on a bundle directory,
 * process.json for exec, resources for update, and the name tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "oci/names.h"
#include "unit/config_util.h"

static char bundle[] = "/tmp/vessel-test-config.XXXXXX";

static void write_config(const char *json)
{
	char path[256];
	vs_err err = {0};
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	assert_int_equal(vs_write_file(path, json, strlen(json), 0644, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	char rootfs[256];
	if (!mkdtemp(bundle))
		return -1;
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	return mkdir(rootfs, 0755);
}

static int teardown(void **state)
{
	(void)state;
	vs_err err;
	return vs_rmtree(bundle, &err);
}

static void test_load_resolves_root(void **state)
{
	(void)state;
	char want[512];
	vs_err err = {0};
	vs_config *c = NULL;
	write_config(config_base);
	assert_int_equal(vs_config_load(bundle, &c, &err), 0);
	snprintf(want, sizeof(want), "%s/rootfs", bundle);
	assert_string_equal(c->root_path, want);
	vs_config_free(c);

	/* A relative bundle path still yields an absolute root. */
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/tmp"), 0);
	assert_int_equal(vs_config_load(bundle + strlen("/tmp/"), &c, &err), 0);
	assert_string_equal(c->root_path, want);
	vs_config_free(c);
	assert_int_equal(chdir(cwd), 0);
}

static void test_load_checks_rootfs(void **state)
{
	(void)state;
	char want[512];
	vs_err err = {0};
	vs_config *c = NULL;
	char *p = patched("{\"root\":{\"path\":\"nope\"}}");
	write_config(p);
	free(p);
	assert_int_equal(vs_config_load(bundle, &c, &err), -1);
	assert_null(c);
	snprintf(want, sizeof(want), "root.path %s/nope: no such directory", bundle);
	assert_non_null(strstr(err.msg, want));

	p = patched("{\"root\":{\"path\":\"config.json\"}}");
	write_config(p);
	free(p);
	assert_int_equal(vs_config_load(bundle, &c, &err), -1);
	assert_non_null(strstr(err.msg, "config.json: not a directory"));

	/* An absolute root.path is used as is. */
	p = patched("{\"root\":{\"path\":\"/tmp\"}}");
	write_config(p);
	free(p);
	assert_int_equal(vs_config_load(bundle, &c, &err), 0);
	assert_string_equal(c->root_path, "/tmp");
	vs_config_free(c);
}

static void test_load_errors_name_the_file(void **state)
{
	(void)state;
	vs_err err = {0};
	vs_config *c = NULL;
	char *p = patched("{\"process\":{\"args\":[]}}");
	write_config(p);
	free(p);
	assert_int_equal(vs_config_load(bundle, &c, &err), -1);
	assert_string_equal(err.msg, "config.json: process.args: required and must not be empty");
	assert_int_equal(err.code, VS_EINVAL_CONFIG);

	assert_int_equal(vs_config_load("/nonexistent/bundle", &c, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/bundle"));
}

static void test_process_json(void **state)
{
	(void)state;
	vs_err err = {0};
	vs_process p = {0};
	const char ok[] = "{\"terminal\":false,\"user\":{\"uid\":5,\"gid\":6},\"args\":[\"ls\",\"-l\"],"
			  "\"env\":[\"A=1\"],\"cwd\":\"/tmp\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},"
			  "\"noNewPrivileges\":true,\"oomScoreAdj\":10}";
	assert_int_equal(vs_process_parse(ok, strlen(ok), &p, &err), 0);
	assert_int_equal(p.uid, 5);
	assert_int_equal(p.n_args, 2);
	assert_string_equal(p.args[1], "-l");
	assert_string_equal(p.cwd, "/tmp");
	assert_int_equal(p.caps[VS_CAP_BOUNDING], 1ULL << 5);
	assert_true(p.no_new_privileges);
	assert_int_equal(p.oom_score_adj, 10);
	vs_process_clear(&p);
	assert_null(p.args);

	const char bad[] = "{\"args\":[\"ls\"],\"cwd\":\"relative\"}";
	p.uid = 77; /* untouched on error */
	assert_int_equal(vs_process_parse(bad, strlen(bad), &p, &err), -1);
	assert_int_equal(p.uid, 77);
	assert_string_equal(err.msg, "process.json: cwd: 'relative' must be absolute");
	assert_int_equal(vs_process_parse("[]", 2, &p, &err), -1);
	assert_non_null(strstr(err.msg, "expected a JSON object"));
	assert_int_equal(vs_process_parse("{", 1, &p, &err), -1);
}

static void test_resources_json(void **state)
{
	(void)state;
	vs_err err = {0};
	vs_resources r = {0};
	const char ok[] = "{\"memory\":{\"limit\":1048576,\"swap\":-1},\"cpu\":{\"quota\":-1,\"cpus\":\"0\"},"
			  "\"pids\":{\"limit\":-1},\"blockIO\":{\"weight\":100},\"unified\":{\"pids.max\":\"5\"}}";
	assert_int_equal(vs_resources_parse(ok, strlen(ok), &r, &err), 0);
	assert_true(r.mem_limit.set);
	assert_int_equal(r.mem_limit.v, 1048576);
	assert_int_equal(r.mem_swap.v, -1);
	assert_false(r.mem_reservation.set);
	assert_int_equal(r.cpu_quota.v, -1);
	assert_string_equal(r.cpu_cpus, "0");
	assert_int_equal(r.pids_limit.v, -1);
	assert_false(r.cpu_shares.set);
	assert_string_equal(r.unified[0].key, "pids.max");
	vs_resources_clear(&r);

	const char bad[] = "{\"memory\":{\"limit\":\"1G\"}}";
	assert_int_equal(vs_resources_parse(bad, strlen(bad), &r, &err), -1);
	assert_string_equal(err.msg, "memory.limit: expected integer, got string");
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(vs_cap_last(), 40);
	for (int c = 0; c <= vs_cap_last(); c++)
		assert_int_equal(vs_cap_from_name(vs_cap_name(c)), c);
	assert_int_equal(vs_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(vs_cap_from_name("sys_admin"), -1);
	assert_null(vs_cap_name(41));
	assert_null(vs_cap_name(-1));
	assert_string_equal(vs_ns_name(VS_NS_NET), "network");
	assert_string_equal(vs_ns_name(VS_NS_MNT), "mount");
	assert_null(vs_ns_name(VS_NS_KINDS));
	for (int k = 0; k < VS_NS_KINDS; k++)
		assert_int_equal(vs_ns_from_name(vs_ns_name((vs_ns_kind)k)), k);
	assert_string_equal(vs_rlimit_name(vs_rlimit_from_name("RLIMIT_MEMLOCK")), "RLIMIT_MEMLOCK");
	assert_int_equal(vs_seccomp_action_from_name("SCMP_ACT_KILL_PROCESS"), VS_SCMP_KILL_PROCESS);
	assert_string_equal(vs_seccomp_op_name(VS_SCMP_OP_GE), "SCMP_CMP_GE");
	assert_true(vs_seccomp_arch_known("SCMP_ARCH_AARCH64"));
	assert_false(vs_seccomp_flag_known("SECCOMP_FILTER_FLAG_NEW_LISTENER"));
}

/* Every option `vessel features` advertises is understood, i.e. never
 * passed through to the filesystem as data. */
static void test_mount_options_advertised(void **state)
{
	(void)state;
	for (size_t i = 0; vs_mount_option_names[i]; i++) {
		char patch[256];
		vs_err err = {0};
		vs_config *c = NULL;
		snprintf(patch, sizeof(patch),
			 "{\"mounts\":[{\"destination\":\"/m\",\"source\":\"/s\",\"type\":\"bind\",\"options\":[\"%s\"]}],"
			 "\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,"
			 "\"hostID\":1,\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
			 vs_mount_option_names[i]);
		if (parse_patched(patch, &c, &err) < 0)
			fail_msg("%s: %s", vs_mount_option_names[i], err.msg);
		if (c->mounts[0].data)
			fail_msg("%s passed through as data", vs_mount_option_names[i]);
		vs_config_free(c);
		if (i > 0)
			assert_true(strcmp(vs_mount_option_names[i - 1], vs_mount_option_names[i]) < 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_resolves_root), cmocka_unit_test(test_load_checks_rootfs),
		cmocka_unit_test(test_load_errors_name_the_file), cmocka_unit_test(test_process_json),
		cmocka_unit_test(test_resources_json),      cmocka_unit_test(test_names),
		cmocka_unit_test(test_mount_options_advertised),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
