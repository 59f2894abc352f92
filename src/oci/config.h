/* The OCI runtime-spec 1.2 config.json as one plain struct. oci/ parses and
 * validates it once; the engines (ctr/, later the VM-isolated path) read only
 * this struct and never see JSON. Optional scalars carry a has_* flag; arrays
 * are pointer + count; string vectors are NULL-terminated. */
#ifndef VS_OCI_CONFIG_H
#define VS_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct { bool set; int64_t v; } vs_opt_i64;
typedef struct { bool set; uint64_t v; } vs_opt_u64;

typedef struct vs_kv {
	char *key;
	char *value;
} vs_kv;

/* ---- mounts ---- */
typedef struct vs_mount {
	char *destination;
	char *type;   /* may be NULL (bind mounts) */
	char *source; /* may be NULL */
	char **options;
	size_t n_options;
	/* Derived from options by the parser: */
	unsigned long flags;       /* MS_* to set (MS_BIND|MS_REC for rbind, MS_RDONLY, ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [|MS_REC], 0 = none */
	unsigned long attr_set;    /* MOUNT_ATTR_* for recursive options (rro, rnosuid, ...) */
	unsigned long attr_clr;
	char *data; /* the options that are not flags, comma-joined ("mode=755,size=65536k"), or NULL */
	bool is_bind; /* flags has MS_BIND */
	bool tmpcopyup;       /* "tmpcopyup": copy the image's files into the new tmpfs */
	bool idmap;           /* "idmap"/"ridmap" or per-mount mappings: idmapped bind mount */
	bool idmap_recursive; /* "ridmap" (or rbind with mappings) */
	struct vs_id_map *uid_mappings; /* per-mount mappings (runtime-spec 1.2), may be NULL */
	size_t n_uid_mappings;
	struct vs_id_map *gid_mappings;
	size_t n_gid_mappings;
} vs_mount;

/* ---- process ---- */
enum { VS_CAP_BOUNDING, VS_CAP_EFFECTIVE, VS_CAP_INHERITABLE, VS_CAP_PERMITTED, VS_CAP_AMBIENT, VS_CAP_SETS };

typedef struct vs_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
} vs_rlimit;

typedef struct vs_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	uint32_t uid, gid;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	uint32_t umask;
	char **args; /* NULL-terminated; n_args >= 1 after validation */
	size_t n_args;
	char **env; /* "K=V", NULL-terminated (may be NULL) */
	size_t n_env;
	char *cwd; /* absolute */
	bool has_caps; /* "capabilities" present; else keep runtime defaults */
	uint64_t caps[VS_CAP_SETS]; /* bit N = capability N */
	vs_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	bool has_oom_score_adj;
	int oom_score_adj;
	/* runtime-spec 1.2 additions: */
	bool has_io_priority;
	int io_priority_class; /* IOPRIO_CLASS_RT=1, _BE=2, _IDLE=3 */
	int io_priority;       /* 0..7 */
	bool has_scheduler;
	struct vs_sched {
		int policy;       /* SCHED_* */
		int nice;         /* -20..19 */
		int priority;
		uint64_t flags;   /* SCHED_FLAG_* bits */
		uint64_t runtime, deadline, period; /* ns, SCHED_DEADLINE */
	} scheduler;
	char *exec_cpu_affinity_initial; /* "0-3,7" or NULL */
	char *exec_cpu_affinity_final;
} vs_process;

/* ---- hooks ---- */
enum {
	VS_HOOK_PRESTART,
	VS_HOOK_CREATE_RUNTIME,
	VS_HOOK_CREATE_CONTAINER,
	VS_HOOK_START_CONTAINER,
	VS_HOOK_POSTSTART,
	VS_HOOK_POSTSTOP,
	VS_HOOK_KINDS
};

typedef struct vs_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	char **env;  /* NULL-terminated, may be NULL */
	int timeout; /* seconds; 0 = none */
} vs_hook;

/* ---- linux.resources ---- */
typedef struct vs_device_rule {
	bool allow;
	char type;      /* 'a', 'b', 'c' */
	int64_t major;  /* -1 = wildcard */
	int64_t minor;  /* -1 = wildcard */
	char access[4]; /* subset of "rwm", NUL-terminated */
} vs_device_rule;

typedef struct vs_blkio_weight_dev {
	int64_t major, minor;
	vs_opt_u64 weight, leaf_weight;
} vs_blkio_weight_dev;

typedef struct vs_blkio_throttle {
	int64_t major, minor;
	uint64_t rate;
} vs_blkio_throttle;

enum { VS_THR_READ_BPS, VS_THR_WRITE_BPS, VS_THR_READ_IOPS, VS_THR_WRITE_IOPS, VS_THR_KINDS };

typedef struct vs_hugepage_limit {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
} vs_hugepage_limit;

typedef struct vs_net_prio {
	char *name;
	uint32_t priority;
} vs_net_prio;

typedef struct vs_resources {
	vs_device_rule *devices;
	size_t n_devices;

	/* memory: -1 means unlimited where the spec allows it */
	vs_opt_i64 mem_limit, mem_reservation, mem_swap, mem_kernel, mem_kernel_tcp;
	vs_opt_u64 mem_swappiness;
	bool has_disable_oom_killer, disable_oom_killer;
	bool has_use_hierarchy, use_hierarchy;
	bool has_check_before_update, check_before_update;

	vs_opt_u64 cpu_shares, cpu_period, cpu_realtime_period;
	vs_opt_i64 cpu_quota, cpu_realtime_runtime, cpu_idle;
	vs_opt_u64 cpu_burst;
	char *cpu_cpus; /* "0-1" */
	char *cpu_mems;

	vs_opt_i64 pids_limit; /* <= 0 means unlimited */

	vs_opt_u64 blkio_weight, blkio_leaf_weight;
	vs_blkio_weight_dev *blkio_weight_devices;
	size_t n_blkio_weight_devices;
	vs_blkio_throttle *blkio_throttle[VS_THR_KINDS];
	size_t n_blkio_throttle[VS_THR_KINDS];

	vs_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	vs_opt_u64 net_class_id;
	vs_net_prio *net_priorities;
	size_t n_net_priorities;

	vs_kv *unified; /* cgroup v2 file -> value */
	size_t n_unified;

	struct vs_rdma_limit {
		char *device;
		vs_opt_u64 hca_handles, hca_objects; /* uint32 range */
	} *rdma;
	size_t n_rdma;
} vs_resources;

/* ---- linux.seccomp ---- */
typedef enum {
	VS_SCMP_KILL,         /* SCMP_ACT_KILL == kill thread */
	VS_SCMP_KILL_PROCESS,
	VS_SCMP_KILL_THREAD,
	VS_SCMP_TRAP,
	VS_SCMP_ERRNO,
	VS_SCMP_TRACE,
	VS_SCMP_ALLOW,
	VS_SCMP_LOG,
	VS_SCMP_NOTIFY,
} vs_seccomp_action;

typedef enum {
	VS_SCMP_OP_NE, VS_SCMP_OP_LT, VS_SCMP_OP_LE, VS_SCMP_OP_EQ,
	VS_SCMP_OP_GE, VS_SCMP_OP_GT, VS_SCMP_OP_MASKED_EQ,
} vs_seccomp_op;

typedef struct vs_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	vs_seccomp_op op;
} vs_seccomp_arg;

typedef struct vs_seccomp_rule {
	char **names; /* NULL-terminated */
	size_t n_names;
	vs_seccomp_action action;
	bool has_errno_ret;
	uint32_t errno_ret;
	vs_seccomp_arg *args;
	size_t n_args;
} vs_seccomp_rule;

typedef struct vs_seccomp {
	vs_seccomp_action default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", NULL-terminated, may be NULL */
	char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ..., may be NULL */
	char *listener_path;
	char *listener_metadata;
	vs_seccomp_rule *rules;
	size_t n_rules;
} vs_seccomp;

/* ---- linux ---- */
typedef enum {
	VS_NS_PID, VS_NS_NET, VS_NS_MNT, VS_NS_IPC, VS_NS_UTS, VS_NS_USER, VS_NS_CGROUP, VS_NS_TIME,
	VS_NS_KINDS
} vs_ns_kind;

typedef struct vs_namespace {
	bool enabled; /* listed in linux.namespaces */
	char *path;   /* join this one instead of creating; NULL = new */
} vs_namespace;

typedef struct vs_id_map {
	uint32_t container_id, host_id, size;
} vs_id_map;

typedef struct vs_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid, has_gid;
	uint32_t uid, gid;
} vs_device;

typedef struct vs_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
} vs_time_offset;

typedef struct vs_linux {
	vs_namespace ns[VS_NS_KINDS];
	vs_id_map *uid_mappings;
	size_t n_uid_mappings;
	vs_id_map *gid_mappings;
	size_t n_gid_mappings;
	vs_device *devices;
	size_t n_devices;
	char *cgroups_path;
	bool has_resources;
	vs_resources resources;
	vs_kv *sysctl;
	size_t n_sysctl;
	bool has_seccomp;
	vs_seccomp seccomp;
	unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = runtime default (rslave) */
	char **masked_paths;
	size_t n_masked_paths;
	char **readonly_paths;
	size_t n_readonly_paths;
	char *mount_label;
	vs_time_offset time_monotonic, time_boottime;
	bool has_personality;
	unsigned long personality;
	bool has_intel_rdt;
	struct vs_intel_rdt {
		char *clos_id;
		char *l3_cache_schema;
		char *mem_bw_schema;
		bool enable_cmt, enable_mbm;
	} intel_rdt;
	vs_kv *net_devices; /* host interface name -> name in the container */
	size_t n_net_devices;
} vs_linux;

typedef struct vs_config {
	char *oci_version;
	char *root_path; /* absolute after vs_config_load (resolved against the bundle) */
	bool root_readonly;
	bool has_process;
	vs_process process;
	char *hostname;
	char *domainname;
	vs_mount *mounts;
	size_t n_mounts;
	vs_hook *hooks[VS_HOOK_KINDS];
	size_t n_hooks[VS_HOOK_KINDS];
	vs_kv *annotations;
	size_t n_annotations;
	vs_linux linux_;
	/* The file as read by vs_config_load (create keeps a copy of it in the
	 * state dir: the bytes it parsed, without reading the file twice). */
	char *raw;
	size_t raw_len;
} vs_config;

/* Load <bundle>/config.json, parse and validate; root_path is made absolute
 * relative to the bundle. On error *out is untouched and err names the field. */
int vs_config_load(const char *bundle, vs_config **out, vs_err *err);
/* Parse a config from a JSON buffer (bundle used to resolve root.path; may be NULL). */
int vs_config_parse(const char *json, size_t len, const char *bundle, vs_config **out, vs_err *err);
void vs_config_free(vs_config *cfg);

/* Parse a process.json (runc exec --process) into *proc. */
int vs_process_parse(const char *json, size_t len, vs_process *proc, vs_err *err);
void vs_process_clear(vs_process *proc);

/* Parse a linux.resources JSON object (runc update --resources). */
int vs_resources_parse(const char *json, size_t len, vs_resources *res, vs_err *err);
void vs_resources_clear(vs_resources *res);

/* Capability name ("CAP_SYS_ADMIN") <-> number; -1 if unknown. */
int vs_cap_from_name(const char *name);
const char *vs_cap_name(int cap);
int vs_cap_last(void); /* highest capability number this build knows */

/* Namespace kind names as in config.json ("pid", "network", ...). */
const char *vs_ns_name(vs_ns_kind kind);

#endif
