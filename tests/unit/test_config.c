/* Valid configs parse into the values the engines rely on: runc's own
 * `runc spec` output, and a config that sets every field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "base/fs.h"
#include "oci/names.h"
#include "unit/config_util.h"

#define CORPUS "tests/fuzz/corpus/"
#define CAP(n) (1ULL << (n))

static vs_config *parse_file(const char *path)
{
	char *buf;
	size_t len;
	vs_err err = {0};
	vs_config *cfg = NULL;
	assert_int_equal(vs_read_file(path, &buf, &len, &err), 0);
	int rc = vs_config_parse(buf, len, "/bundle", &cfg, &err);
	free(buf);
	if (rc < 0)
		fail_msg("%s: %s", path, err.msg);
	return cfg;
}

static const vs_mount *find_mount(const vs_config *c, const char *dst)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		if (!strcmp(c->mounts[i].destination, dst))
			return &c->mounts[i];
	fail_msg("no mount at %s", dst);
	return NULL;
}

static void test_runc_spec(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "runc_spec.json");
	assert_string_equal(c->oci_version, "1.0.2-dev");
	assert_string_equal(c->root_path, "/bundle/rootfs");
	assert_true(c->root_readonly);
	assert_true(c->has_process);
	assert_true(c->process.terminal);
	assert_int_equal(c->process.n_args, 1);
	assert_string_equal(c->process.args[0], "sh");
	assert_null(c->process.args[1]);
	assert_int_equal(c->process.n_env, 2);
	assert_string_equal(c->process.cwd, "/");
	uint64_t want = CAP(vs_cap_from_name("CAP_AUDIT_WRITE")) | CAP(vs_cap_from_name("CAP_KILL")) |
			CAP(vs_cap_from_name("CAP_NET_BIND_SERVICE"));
	assert_true(c->process.has_caps);
	assert_int_equal(c->process.caps[VS_CAP_BOUNDING], want);
	assert_int_equal(c->process.caps[VS_CAP_AMBIENT], want);
	assert_int_equal(c->process.caps[VS_CAP_INHERITABLE], 0);
	assert_int_equal(c->process.n_rlimits, 1);
	assert_int_equal(c->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(c->process.rlimits[0].soft, 1024);
	assert_true(c->process.no_new_privileges);
	assert_string_equal(c->hostname, "runc");
	assert_int_equal(c->n_mounts, 7);
	const vs_mount *dev = find_mount(c, "/dev");
	assert_int_equal(dev->flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(dev->data, "mode=755,size=65536k");
	assert_false(dev->is_bind);
	const vs_mount *pts = find_mount(c, "/dev/pts");
	assert_int_equal(pts->flags, MS_NOSUID | MS_NOEXEC);
	assert_string_equal(pts->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	const vs_mount *cg = find_mount(c, "/sys/fs/cgroup");
	assert_int_equal(cg->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
	assert_null(cg->data);
	assert_null(find_mount(c, "/proc")->data);
	assert_true(c->linux_.ns[VS_NS_PID].enabled);
	assert_true(c->linux_.ns[VS_NS_NET].enabled);
	assert_null(c->linux_.ns[VS_NS_NET].path);
	assert_false(c->linux_.ns[VS_NS_USER].enabled);
	assert_false(c->linux_.ns[VS_NS_CGROUP].enabled);
	assert_true(c->linux_.has_resources);
	assert_int_equal(c->linux_.resources.n_devices, 1);
	assert_false(c->linux_.resources.devices[0].allow);
	assert_int_equal(c->linux_.resources.devices[0].type, 'a');
	assert_int_equal(c->linux_.resources.devices[0].major, -1);
	assert_string_equal(c->linux_.resources.devices[0].access, "rwm");
	assert_int_equal(c->linux_.n_masked_paths, 10);
	assert_int_equal(c->linux_.n_readonly_paths, 5);
	assert_string_equal(c->linux_.readonly_paths[4], "/proc/sysrq-trigger");
	assert_int_equal(c->linux_.rootfs_propagation, 0);
	assert_false(c->linux_.has_seccomp);
	vs_config_free(c);
}

static void test_runc_spec_rootless(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "runc_spec_rootless.json");
	assert_true(c->linux_.ns[VS_NS_USER].enabled);
	assert_false(c->linux_.ns[VS_NS_NET].enabled);
	assert_int_equal(c->linux_.n_uid_mappings, 1);
	assert_int_equal(c->linux_.uid_mappings[0].size, 1);
	const vs_mount *sys = find_mount(c, "/sys");
	assert_true(sys->is_bind);
	assert_int_equal(sys->flags, MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	vs_config_free(c);
}

static void test_full_process(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "full.json");
	const vs_process *p = &c->process;
	assert_true(p->has_console_size);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->uid, 1000);
	assert_int_equal(p->gid, 100);
	assert_true(p->has_umask);
	assert_int_equal(p->umask, 022);
	assert_int_equal(p->n_additional_gids, 3);
	assert_int_equal(p->additional_gids[2], 2147483647u); /* the largest valid gid */
	assert_int_equal(p->n_args, 3);
	assert_string_equal(p->args[2], "x y");
	assert_string_equal(p->env[2], "A=b=c");
	assert_string_equal(p->cwd, "/work");
	/* Unknown CAP_NOT_A_CAP is skipped, the rest kept. */
	assert_int_equal(p->caps[VS_CAP_PERMITTED], CAP(5));
	assert_int_equal(p->caps[VS_CAP_BOUNDING], CAP(0) | CAP(21) | CAP(40));
	assert_int_equal(p->caps[VS_CAP_INHERITABLE], 0);
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_int_equal(p->rlimits[1].hard, UINT64_MAX);
	assert_string_equal(p->apparmor_profile, "vessel-default");
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_true(p->has_io_priority);
	assert_int_equal(p->io_priority_class, 2);
	assert_int_equal(p->io_priority, 4);
	assert_true(p->has_scheduler);
	assert_int_equal(p->scheduler.policy, 1 /* SCHED_FIFO */);
	assert_int_equal(p->scheduler.priority, 10);
	assert_int_equal(p->scheduler.flags, 1);
	assert_string_equal(p->exec_cpu_affinity_final, "0-1");
	vs_config_free(c);
}

static void test_full_mounts_hooks(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "full.json");
	assert_string_equal(c->domainname, "example.org");
	const vs_mount *data = find_mount(c, "/data");
	assert_true(data->is_bind);
	assert_int_equal(data->flags, MS_BIND | MS_REC | MS_RDONLY | MS_NODEV);
	assert_int_equal(data->propagation, MS_PRIVATE | MS_REC);
	const vs_mount *ro = find_mount(c, "/ro");
	assert_int_equal(ro->flags, MS_BIND); /* "rw" clears nothing that was set */
	assert_int_equal(ro->attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
	assert_int_equal(ro->attr_clr, MOUNT_ATTR__ATIME);
	const vs_mount *idm = find_mount(c, "/idm");
	assert_true(idm->idmap);
	assert_true(idm->idmap_recursive);
	assert_int_equal(idm->n_gid_mappings, 1);
	assert_int_equal(idm->uid_mappings[0].host_id, 100000);
	const vs_mount *tmp = find_mount(c, "/tmp");
	assert_true(tmp->tmpcopyup);
	assert_int_equal(tmp->flags, MS_MANDLOCK); /* noexec/exec and sync/async cancel out */
	assert_null(tmp->data);
	assert_int_equal(c->n_hooks[VS_HOOK_PRESTART], 1);
	assert_string_equal(c->hooks[VS_HOOK_PRESTART][0].args[1], "a");
	assert_string_equal(c->hooks[VS_HOOK_PRESTART][0].env[0], "X=1");
	assert_int_equal(c->hooks[VS_HOOK_PRESTART][0].timeout, 5);
	assert_int_equal(c->n_hooks[VS_HOOK_CREATE_RUNTIME], 2);
	assert_string_equal(c->hooks[VS_HOOK_CREATE_RUNTIME][1].path, "/bin/cr2");
	assert_int_equal(c->hooks[VS_HOOK_CREATE_RUNTIME][1].timeout, 0);
	assert_int_equal(c->n_hooks[VS_HOOK_POSTSTOP], 1);
	assert_int_equal(c->n_annotations, 2);
	assert_string_equal(c->annotations[0].key, "org.example.key");
	assert_string_equal(c->annotations[1].value, "");
	vs_config_free(c);
}

static void test_full_linux(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "full.json");
	const vs_linux *lx = &c->linux_;
	for (int k = 0; k < VS_NS_KINDS; k++)
		assert_true(lx->ns[k].enabled);
	assert_string_equal(lx->ns[VS_NS_NET].path, "/var/run/netns/x");
	assert_int_equal(lx->n_uid_mappings, 2);
	assert_int_equal(lx->uid_mappings[1].size, 65535);
	assert_true(lx->time_monotonic.set);
	assert_int_equal(lx->time_monotonic.secs, -3600);
	assert_int_equal(lx->time_boottime.nanosecs, 0);
	assert_int_equal(lx->n_devices, 3);
	assert_int_equal(lx->devices[0].type, 'c');
	assert_int_equal(lx->devices[0].minor, 229);
	assert_true(lx->devices[0].has_file_mode);
	assert_int_equal(lx->devices[0].file_mode, 0666);
	assert_false(lx->devices[1].has_uid);
	assert_int_equal(lx->devices[2].type, 'p');
	assert_string_equal(lx->cgroups_path, "/vessel/full");
	assert_int_equal(lx->n_sysctl, 4);
	assert_int_equal(lx->rootfs_propagation, MS_SLAVE | MS_REC);
	assert_string_equal(lx->masked_paths[1], "/sys/firmware");
	assert_string_equal(lx->mount_label, "system_u:object_r:container_file_t:s0");
	assert_true(lx->has_personality);
	assert_int_equal(lx->personality, PER_LINUX32);
	assert_true(lx->has_intel_rdt);
	assert_string_equal(lx->intel_rdt.clos_id, "guaranteed");
	assert_true(lx->intel_rdt.enable_cmt);
	assert_false(lx->intel_rdt.enable_mbm);
	assert_int_equal(lx->n_net_devices, 2);
	assert_string_equal(lx->net_devices[0].value, "net0");
	assert_string_equal(lx->net_devices[1].value, "dummy0");
	const vs_seccomp *s = &lx->seccomp;
	assert_true(lx->has_seccomp);
	assert_int_equal(s->default_action, VS_SCMP_ERRNO);
	assert_true(s->has_default_errno_ret);
	assert_int_equal(s->default_errno_ret, 1);
	assert_string_equal(s->architectures[2], "SCMP_ARCH_X32");
	assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(s->listener_path, "/run/seccomp.sock");
	assert_int_equal(s->n_rules, 4);
	assert_int_equal(s->rules[0].n_names, 3);
	assert_int_equal(s->rules[1].n_args, 2);
	assert_int_equal(s->rules[1].args[1].index, 5);
	assert_int_equal(s->rules[1].args[1].value_two, 8);
	assert_int_equal(s->rules[1].args[1].op, VS_SCMP_OP_MASKED_EQ);
	assert_int_equal(s->rules[2].action, VS_SCMP_NOTIFY);
	assert_int_equal(s->rules[3].errno_ret, 38);
	vs_config_free(c);
}

static void test_full_resources(void **state)
{
	(void)state;
	vs_config *c = parse_file(CORPUS "full.json");
	const vs_resources *r = &c->linux_.resources;
	assert_int_equal(r->n_devices, 3);
	assert_int_equal(r->devices[2].major, 8);
	assert_int_equal(r->devices[2].minor, -1);
	assert_string_equal(r->devices[1].access, "rw");
	assert_true(r->mem_limit.set);
	assert_int_equal(r->mem_limit.v, 536870912);
	assert_int_equal(r->mem_swap.v, -1);
	assert_int_equal(r->mem_swappiness.v, 60);
	assert_true(r->has_disable_oom_killer && r->disable_oom_killer);
	assert_int_equal(r->cpu_shares.v, 1024);
	assert_int_equal(r->cpu_quota.v, 50000);
	assert_int_equal(r->cpu_burst.v, 1000);
	assert_string_equal(r->cpu_cpus, "0-1");
	assert_true(r->cpu_idle.set);
	assert_int_equal(r->pids_limit.v, 100);
	assert_int_equal(r->blkio_weight.v, 500);
	assert_int_equal(r->n_blkio_weight_devices, 2);
	assert_false(r->blkio_weight_devices[1].weight.set);
	assert_int_equal(r->n_blkio_throttle[VS_THR_WRITE_IOPS], 2);
	assert_int_equal(r->blkio_throttle[VS_THR_WRITE_IOPS][1].rate, 300);
	assert_int_equal(r->blkio_throttle[VS_THR_READ_BPS][0].rate, 1048576);
	assert_int_equal(r->n_hugepage_limits, 2);
	assert_string_equal(r->hugepage_limits[1].page_size, "1GB");
	assert_int_equal(r->net_class_id.v, 1048577);
	assert_string_equal(r->net_priorities[0].name, "eth0");
	assert_int_equal(r->n_rdma, 1);
	assert_int_equal(r->rdma[0].hca_objects.v, 10000);
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified[1].value, "default 100");
	assert_false(r->mem_kernel_tcp.v);
	vs_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_spec),       cmocka_unit_test(test_runc_spec_rootless),
		cmocka_unit_test(test_full_process),    cmocka_unit_test(test_full_mounts_hooks),
		cmocka_unit_test(test_full_linux),      cmocka_unit_test(test_full_resources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
