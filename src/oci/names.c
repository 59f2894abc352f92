/* Name <-> number tables for config.json vocabulary. */
#include "oci/names.h"

#include <string.h>
#include <sys/resource.h>

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
	"CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
	"CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
	"CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS (int)(sizeof(cap_names) / sizeof(cap_names[0]))

int vs_cap_from_name(const char *name)
{
	for (int i = 0; i < N_CAPS; i++)
		if (!strcmp(cap_names[i], name))
			return i;
	return -1;
}

const char *vs_cap_name(int cap)
{
	return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

int vs_cap_last(void)
{
	return N_CAPS - 1;
}

static const struct {
	const char *name;
	int resource;
} rlimits[] = {
	{"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

int vs_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++)
		if (!strcmp(rlimits[i].name, name))
			return rlimits[i].resource;
	return -1;
}

const char *vs_rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++)
		if (rlimits[i].resource == resource)
			return rlimits[i].name;
	return NULL;
}

/* Indexed by vs_ns_kind. */
static const char *const ns_names[VS_NS_KINDS] = {
	[VS_NS_PID] = "pid",   [VS_NS_NET] = "network", [VS_NS_MNT] = "mount",   [VS_NS_IPC] = "ipc",
	[VS_NS_UTS] = "uts",   [VS_NS_USER] = "user",   [VS_NS_CGROUP] = "cgroup", [VS_NS_TIME] = "time",
};

const char *vs_ns_name(vs_ns_kind kind)
{
	return (unsigned)kind < VS_NS_KINDS ? ns_names[kind] : NULL;
}

int vs_ns_from_name(const char *name)
{
	for (int i = 0; i < VS_NS_KINDS; i++)
		if (!strcmp(ns_names[i], name))
			return i;
	return -1;
}

/* Indexed by vs_seccomp_action. */
const char *const vs_seccomp_action_names[] = {
	[VS_SCMP_KILL] = "SCMP_ACT_KILL",
	[VS_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
	[VS_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
	[VS_SCMP_TRAP] = "SCMP_ACT_TRAP",
	[VS_SCMP_ERRNO] = "SCMP_ACT_ERRNO",
	[VS_SCMP_TRACE] = "SCMP_ACT_TRACE",
	[VS_SCMP_ALLOW] = "SCMP_ACT_ALLOW",
	[VS_SCMP_LOG] = "SCMP_ACT_LOG",
	[VS_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
	NULL,
};

/* Indexed by vs_seccomp_op. */
const char *const vs_seccomp_op_names[] = {
	[VS_SCMP_OP_NE] = "SCMP_CMP_NE", [VS_SCMP_OP_LT] = "SCMP_CMP_LT",
	[VS_SCMP_OP_LE] = "SCMP_CMP_LE", [VS_SCMP_OP_EQ] = "SCMP_CMP_EQ",
	[VS_SCMP_OP_GE] = "SCMP_CMP_GE", [VS_SCMP_OP_GT] = "SCMP_CMP_GT",
	[VS_SCMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ", NULL,
};

/* What libseccomp 2.5 can build filters for. */
const char *const vs_seccomp_arch_names[] = {
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",       "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",
	"SCMP_ARCH_S390",    "SCMP_ARCH_S390X",     "SCMP_ARCH_X32",       "SCMP_ARCH_X86",
	"SCMP_ARCH_X86_64",  NULL,
};

const char *const vs_seccomp_flag_names[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

const char *const vs_hook_names[] = {
	[VS_HOOK_PRESTART] = "prestart",
	[VS_HOOK_CREATE_RUNTIME] = "createRuntime",
	[VS_HOOK_CREATE_CONTAINER] = "createContainer",
	[VS_HOOK_START_CONTAINER] = "startContainer",
	[VS_HOOK_POSTSTART] = "poststart",
	[VS_HOOK_POSTSTOP] = "poststop",
	NULL,
};

static int lookup(const char *const *list, const char *name)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return i;
	return -1;
}

int vs_seccomp_action_from_name(const char *name)
{
	return lookup(vs_seccomp_action_names, name);
}

const char *vs_seccomp_action_name(vs_seccomp_action a)
{
	return (unsigned)a <= VS_SCMP_NOTIFY ? vs_seccomp_action_names[a] : NULL;
}

int vs_seccomp_op_from_name(const char *name)
{
	return lookup(vs_seccomp_op_names, name);
}

const char *vs_seccomp_op_name(vs_seccomp_op op)
{
	return (unsigned)op <= VS_SCMP_OP_MASKED_EQ ? vs_seccomp_op_names[op] : NULL;
}

bool vs_seccomp_arch_known(const char *name)
{
	return lookup(vs_seccomp_arch_names, name) >= 0;
}

bool vs_seccomp_flag_known(const char *name)
{
	return lookup(vs_seccomp_flag_names, name) >= 0;
}
