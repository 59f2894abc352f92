/* Invalid configs: each must fail with one message that names the field,
 * never crash, never leak (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "unit/config_util.h"

static const struct {
	const char *patch; /* merge patch over config_base, or raw JSON when starting with '!' */
	const char *want;  /* substring of the error message */
} cases[] = {
	/* JSON and top level */
	{"!{\"ociVersion\":", "unexpected end of JSON"},
	{"!{\"ociVersion\" 1}", "parse config.json"},
	{"![1,2]", "expected a JSON object"},
	{"!\"x\"", "expected a JSON object"},
	{"{\"ociVersion\":null}", "ociVersion: required field missing"},
	{"{\"ociVersion\":\"2.0.0\"}", "ociVersion: '2.0.0' is not supported"},
	{"{\"ociVersion\":\"1\"}", "ociVersion: '1' is not supported"},
	{"{\"ociVersion\":1}", "ociVersion: expected string"},
	{"{\"root\":null}", "root: required field missing"},
	{"{\"root\":{\"path\":\"\"}}", "root.path: must not be empty"},
	{"{\"root\":{\"readonly\":\"yes\"}}", "root.readonly: expected boolean"},
	{"{\"hostname\":\"h\"}", "hostname: needs a private uts namespace"},
	{"{\"domainname\":\"d\"}", "domainname: needs a private uts namespace"},
	{"{\"annotations\":{\"a\":1}}", "annotations.a: expected string"},
	{"{\"annotations\":[]}", "annotations: expected object"},
	{"{\"hostname\":\"a\\u0000b\"}", "hostname: string contains a NUL byte"},
	/* process */
	{"{\"process\":{\"args\":[]}}", "process.args: required and must not be empty"},
	{"{\"process\":{\"args\":null}}", "process.args: required and must not be empty"},
	{"{\"process\":{\"args\":[\"\"]}}", "process.args: required and must not be empty"},
	{"{\"process\":{\"args\":[\"sh\",3]}}", "process.args[1]: expected string"},
	{"{\"process\":{\"args\":\"sh\"}}", "process.args: expected array"},
	{"{\"process\":{\"cwd\":\"tmp\"}}", "process.cwd: 'tmp' must be absolute"},
	{"{\"process\":{\"cwd\":null}}", "process.cwd: required field missing"},
	{"{\"process\":{\"env\":[\"NOEQUALS\"]}}", "process.env[0]: 'NOEQUALS' is not KEY=VALUE"},
	{"{\"process\":{\"user\":{\"uid\":-1}}}", "process.user.uid: -1 out of range"},
	{"{\"process\":{\"user\":{\"uid\":4294967296}}}", "process.user.uid: 4294967296 out of range"},
	{"{\"process\":{\"user\":{\"gid\":1.5}}}", "process.user.gid: expected integer, got double"},
	{"{\"process\":{\"user\":{\"additionalGids\":[1,\"x\"]}}}", "process.user.additionalGids[1]: \"x\" is not a gid"},
	/* (uid_t)-1 is "unchanged" to setresuid: 4294967295 would keep root. */
	{"{\"process\":{\"user\":{\"uid\":4294967295}}}", "process.user.uid: 4294967295 out of range [0, 2147483647]"},
	{"{\"process\":{\"user\":{\"gid\":2147483648}}}", "process.user.gid: 2147483648 out of range [0, 2147483647]"},
	{"{\"process\":{\"user\":{\"additionalGids\":[5,4294967295]}}}",
	 "process.user.additionalGids[1]: 4294967295 is not a gid (0..2147483647)"},
	{"{\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"uid\":4294967295}]}}",
	 "linux.devices[0].uid: 4294967295 out of range [0, 2147483647]"},
	{"{\"process\":{\"terminal\":1}}", "process.terminal: expected boolean"},
	{"{\"process\":{\"user\":{\"umask\":512}}}", "process.user.umask: 1000 is not a permission mask"},
	{"{\"process\":{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_HIGH\"}}}", "process.ioPriority.class: unknown class"},
	{"{\"process\":{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}}}",
	 "process.ioPriority.priority: 8 out of range"},
	{"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FAST\"}}}", "process.scheduler.policy: unknown policy"},
	{"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FIFO\"}}}",
	 "process.scheduler.priority: must be 1..99 for a real-time policy"},
	{"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":20}}}",
	 "process.scheduler.nice: 20 out of range"},
	{"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":[\"SCHED_FLAG_X\"]}}}",
	 "process.scheduler.flags[0]: unknown flag 'SCHED_FLAG_X'"},
	{"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":5,\"deadline\":4}}}",
	 "process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period"},
	{"{\"process\":{\"execCPUAffinity\":{\"initial\":\"all\"}}}",
	 "process.execCPUAffinity.initial: 'all' is not a CPU list"},
	{"{\"process\":{\"consoleSize\":{\"height\":70000,\"width\":1}}}", "process.consoleSize.height: 70000 out of range"},
	{"{\"process\":{\"consoleSize\":{\"height\":10}}}", "process.consoleSize.width: required field missing"},
	{"{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}",
	 "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"},
	{"{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]}}",
	 "process.rlimits[0].hard: required field missing"},
	{"{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}}",
	 "process.rlimits[0]: soft limit 2 exceeds hard limit 1"},
	{"{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
	 "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]}}",
	 "process.rlimits[1].type: duplicate 'RLIMIT_NOFILE'"},
	{"{\"process\":{\"rlimits\":[7]}}", "process.rlimits[0]: expected object"},
	{"{\"process\":{\"oomScoreAdj\":1001}}", "process.oomScoreAdj: 1001 out of range"},
	{"{\"process\":{\"capabilities\":{\"bounding\":[1]}}}", "process.capabilities.bounding[0]: expected string"},
	{"{\"process\":{\"capabilities\":[]}}", "process.capabilities: expected object"},
	/* mounts */
	{"{\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"/b\"},{\"destination\":\"/c\"},"
	 "{\"destination\":\"rel\"}]}",
	 "mounts[3].destination: 'rel' must be absolute"},
	{"{\"mounts\":[{\"type\":\"tmpfs\"}]}", "mounts[0].destination: required field missing"},
	{"{\"mounts\":[{\"destination\":\"/x\",\"options\":[\"ro\",5]}]}", "mounts[0].options[1]: expected string"},
	{"{\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]}", "mounts[0].source: bind mount needs a source"},
	{"{\"mounts\":[{\"destination\":\"/x\",\"source\":\"/y\",\"options\":[\"bind\"],"
	 "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}]}",
	 "mounts[0]: uidMappings and gidMappings must be given together"},
	{"{\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"idmap\"]}]}",
	 "mounts[0]: idmapped mounts are only supported for bind mounts"},
	{"{\"mounts\":{}}", "mounts: expected array"},
	/* linux */
	{"{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"foo\"}]}}",
	 "linux.namespaces[2].type: unknown namespace 'foo'"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "linux.namespaces: duplicate 'pid'"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}}", "unknown namespace 'net'"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"proc/1/ns/net\"}]}}",
	 "linux.namespaces[0].path: 'proc/1/ns/net' must be absolute"},
	{"{\"linux\":{\"namespaces\":[{}]}}", "linux.namespaces[0].type: required field missing"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", "linux.uidMappings: a new user namespace needs uid mappings"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	 "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
	 "linux.gidMappings: a new user namespace needs gid mappings"},
	{"{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
	 "linux.uidMappings: given but there is no user namespace"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000}]}}",
	 "linux.uidMappings[0].size: required field missing"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	 "\"uidMappings\":[{\"containerID\":0,\"hostID\":4294967295,\"size\":2}]}}",
	 "linux.uidMappings[0].hostID: 4294967295 out of range [0, 2147483647]"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	 "\"uidMappings\":[{\"containerID\":2147483648,\"hostID\":0,\"size\":1}]}}",
	 "linux.uidMappings[0].containerID: 2147483648 out of range [0, 2147483647]"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	 "\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":1}],"
	 "\"gidMappings\":[{\"containerID\":0,\"hostID\":2147483647,\"size\":2147483649}]}}",
	 "linux.gidMappings[0].size: 2147483649 is empty or reaches past id 4294967294"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	 "\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":0}]}}",
	 "linux.uidMappings[0].size: 0 is empty"},
	{"{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}",
	 "linux.sysctl: net.ipv4.ip_forward needs a private network namespace"},
	{"{\"linux\":{\"sysctl\":{\"kernel.shmmax\":\"1\"}}}", "linux.sysctl: kernel.shmmax needs a private ipc namespace"},
	{"{\"linux\":{\"sysctl\":{\"vm.swappiness\":\"1\"}}}", "vm.swappiness is not in a separate kernel namespace"},
	{"{\"linux\":{\"sysctl\":{\"kernel.hostname\":\"x\"}}}", "kernel.hostname conflicts with the hostname field"},
	{"{\"linux\":{\"sysctl\":{\"net.core.somaxconn\":1024}}}", "linux.sysctl.net.core.somaxconn: expected string"},
	{"{\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\",\"major\":1,\"minor\":1}]}}",
	 "linux.devices[0].type: unknown device type 'q'"},
	{"{\"linux\":{\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]}}",
	 "linux.devices[0].path: 'dev/x' must be absolute"},
	{"{\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"minor\":1}]}}",
	 "linux.devices[0].major: required for device type 'c'"},
	{"{\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"fileMode\":70000}]}}",
	 "linux.devices[0].fileMode: 210560 is not a permission mode"},
	{"{\"linux\":{\"rootfsPropagation\":\"sideways\"}}", "linux.rootfsPropagation: unknown propagation 'sideways'"},
	{"{\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}}", "linux.maskedPaths[0]: 'proc/kcore' must be absolute"},
	{"{\"linux\":{\"readonlyPaths\":[true]}}", "linux.readonlyPaths[0]: expected string"},
	{"{\"linux\":{\"timeOffsets\":{\"monotonic\":{\"secs\":1}}}}", "linux.timeOffsets: needs a private time namespace"},
	{"{\"linux\":{\"timeOffsets\":{\"realtime\":{\"secs\":1}}}}", "linux.timeOffsets.realtime: unknown clock"},
	{"{\"linux\":{\"namespaces\":[{\"type\":\"time\"}],\"timeOffsets\":{\"boottime\":{\"nanosecs\":1000000000}}}}",
	 "linux.timeOffsets.boottime.nanosecs: must be below 1000000000"},
	{"{\"linux\":{\"personality\":{\"domain\":\"WINDOWS\"}}}", "linux.personality.domain: unknown domain 'WINDOWS'"},
	{"{\"linux\":[]}", "linux: expected object"},
	{"{\"linux\":{\"intelRdt\":{\"closID\":\"../x\"}}}", "linux.intelRdt.closID: '../x' is not a valid resctrl group name"},
	{"{\"linux\":{\"netDevices\":{\"eth0\":{\"name\":\"a/b\"}}}}", "linux.netDevices.eth0: 'a/b' is not a valid interface name"},
	{"{\"linux\":{\"netDevices\":{\"eth0\":[]}}}", "linux.netDevices.eth0: expected object"},
	{"{\"linux\":{\"resources\":{\"rdma\":{\"mlx\":{\"hcaHandles\":4294967296}}}}}",
	 "linux.resources.rdma.mlx.hcaHandles: 4294967296 out of range"},
	{"{\"linux\":{\"resources\":{\"cpu\":{\"idle\":2}}}}", "linux.resources.cpu.idle: 2 out of range"},
	/* resources */
	{"{\"linux\":{\"resources\":{\"devices\":[{\"access\":\"rwm\"}]}}}", "linux.resources.devices[0].allow: required"},
	{"{\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}}}",
	 "linux.resources.devices[0].access: 'rwx' is not a subset"},
	{"{\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rr\"}]}}}",
	 "linux.resources.devices[0].access: 'rr' is not a subset"},
	{"{\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"p\"}]}}}",
	 "linux.resources.devices[0].type: unknown device type 'p'"},
	{"{\"linux\":{\"resources\":{\"memory\":{\"limit\":-2}}}}", "linux.resources.memory.limit: -2 out of range"},
	{"{\"linux\":{\"resources\":{\"memory\":{\"limit\":18446744073709551615}}}}",
	 "linux.resources.memory.limit: 18446744073709551615 out of range"},
	{"{\"linux\":{\"resources\":{\"memory\":{\"swappiness\":101}}}}", "linux.resources.memory.swappiness: 101 out of range"},
	{"{\"linux\":{\"resources\":{\"cpu\":{\"shares\":-1}}}}", "linux.resources.cpu.shares: -1 out of range"},
	{"{\"linux\":{\"resources\":{\"cpu\":{\"cpus\":5}}}}", "linux.resources.cpu.cpus: expected string"},
	{"{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":1001}}}}", "linux.resources.blockIO.weight: 1001 out of range"},
	{"{\"linux\":{\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}}}",
	 "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field missing"},
	{"{\"linux\":{\"resources\":{\"hugepageLimits\":[{\"limit\":1}]}}}",
	 "linux.resources.hugepageLimits[0].pageSize: required field missing"},
	{"{\"linux\":{\"resources\":{\"network\":{\"priorities\":[{\"name\":\"eth0\"}]}}}}",
	 "linux.resources.network.priorities[0].priority: required field missing"},
	{"{\"linux\":{\"resources\":{\"unified\":{\"memory.high\":5}}}}", "linux.resources.unified.memory.high: expected string"},
	/* seccomp */
	{"{\"linux\":{\"seccomp\":{}}}", "linux.seccomp.defaultAction: required field missing"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_MAYBE\"}}}",
	 "linux.seccomp.defaultAction: unknown seccomp action 'SCMP_ACT_MAYBE'"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/s\"}}}",
	 "SCMP_ACT_NOTIFY cannot be the default action"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}}}",
	 "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}}}",
	 "linux.seccomp.architectures[0]: unknown seccomp architecture 'SCMP_ARCH_Z80'"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FAST\"]}}}",
	 "linux.seccomp.flags[0]: unknown seccomp flag"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],"
	 "\"action\":\"SCMP_ACT_ERRNO\"}]}}}",
	 "linux.seccomp.syscalls[0].names: required and must not be empty"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}}}",
	 "linux.seccomp.syscalls[0].action: required field missing"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	 "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}}",
	 "linux.seccomp.syscalls[0].args[0].index: 6 out of range"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	 "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}}}",
	 "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator 'SCMP_CMP_ABOUT'"},
	{"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	 "\"action\":\"SCMP_ACT_NOTIFY\"}]}}}",
	 "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY"},
	/* hooks */
	{"{\"hooks\":{\"prestart\":[{\"args\":[\"x\"]}]}}", "hooks.prestart[0].path: required field missing"},
	{"{\"hooks\":{\"poststop\":[{\"path\":\"bin/true\"}]}}", "hooks.poststop[0].path: 'bin/true' must be absolute"},
	{"{\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/true\",\"timeout\":0}]}}",
	 "hooks.createRuntime[0].timeout: must be greater than zero"},
	{"{\"hooks\":{\"startContainer\":{}}}", "hooks.startContainer: expected array"},
};

static void test_invalid_configs(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vs_err err = {0};
		vs_config *cfg = NULL;
		int rc;
		if (cases[i].patch[0] == '!')
			rc = vs_config_parse(cases[i].patch + 1, strlen(cases[i].patch + 1), "/b", &cfg, &err);
		else
			rc = parse_patched(cases[i].patch, &cfg, &err);
		if (rc == 0) {
			printf("# case %zu accepted: %s\n", i, cases[i].patch);
			vs_config_free(cfg);
			failures++;
		} else if (err.code != VS_EINVAL_CONFIG || !strstr(err.msg, cases[i].want)) {
			printf("# case %zu: got '%s' (code %d), want '%s'\n", i, err.msg, err.code, cases[i].want);
			failures++;
		} else if (cfg) {
			printf("# case %zu: *out set on error\n", i);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The base config itself is valid: otherwise every case above would pass
 * for the wrong reason. */
static void test_base_is_valid(void **state)
{
	(void)state;
	vs_err err = {0};
	vs_config *cfg = NULL;
	assert_int_equal(parse_patched("{}", &cfg, &err), 0);
	vs_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_is_valid),
		cmocka_unit_test(test_invalid_configs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
