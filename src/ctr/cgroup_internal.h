/* Shared between the cgroup_*.c files only; the public contract is
 * cgroup.h. A vs_cgroup is a list of hierarchies (one per mounted v1
 * hierarchy, plus the unified one) and, in each, the container's directory. */
#ifndef VS_CTR_CGROUP_INTERNAL_H
#define VS_CTR_CGROUP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctr/cgroup.h"

/* Controllers by their kernel names. Some exist only in v1 (cpuacct,
 * blkio, devices, freezer, net_*), io only in v2. */
enum {
	VS_CGC_CPU, VS_CGC_CPUACCT, VS_CGC_CPUSET, VS_CGC_MEMORY, VS_CGC_DEVICES, VS_CGC_FREEZER,
	VS_CGC_BLKIO, VS_CGC_PIDS, VS_CGC_HUGETLB, VS_CGC_NET_CLS, VS_CGC_NET_PRIO, VS_CGC_PERF_EVENT,
	VS_CGC_RDMA, VS_CGC_MISC, VS_CGC_IO,
	VS_CGC_COUNT
};
const char *vs_cg_ctrl_name(int ctrl);
int vs_cg_ctrl_from_name(const char *name, size_t len); /* -1 if unknown */
/* The known controllers in a list ("cpu memory", "rw,cpu,cpuacct"), as
 * 1u << VS_CGC_*; a "name=X" item goes to *name if name is not NULL. */
unsigned vs_cg_parse_ctrls(const char *s, const char *seps, char **name);

typedef struct vs_cg_hier {
	char *mnt;       /* mount point, e.g. /sys/fs/cgroup/memory */
	char *mnt_root;  /* the mount's root inside the hierarchy (mountinfo field 4) */
	bool v2;
	unsigned ctrls;  /* 1u << VS_CGC_*: bound (v1) or available at the root (v2) */
	char *name;      /* v1 named hierarchy ("systemd"), else NULL */
	unsigned dev;    /* st_dev of the hierarchy, to skip duplicate mounts */
	char *dir;       /* the container's cgroup in this hierarchy */
	char *made_from; /* outermost directory vs_cgroup_create made, or NULL */
} vs_cg_hier;

/* Longest container directory in a hierarchy: PATH_MAX less room for the
 * longest control file name ("hugetlb.1GB.rsvd.limit_in_bytes" and the like). */
#define VS_CG_DIR_MAX (PATH_MAX - 64)

struct vs_cgroup {
	vs_cgroup_mode mode;
	char *path; /* canonical absolute path, e.g. "/vessel/x" */
	vs_cg_hier *h;
	size_t n;
};

/* ---- cgroup_mounts.c ---- */
/* Parse a mountinfo file into hierarchies (dir/made_from unset). */
int vs_cg_mounts_read(const char *mountinfo, vs_cg_hier **out, size_t *n, vs_err *err);
void vs_cg_hiers_free(vs_cg_hier *h, size_t n);
/* This process's cgroup path in the reference hierarchy (unified "0::"
 * line, else name=systemd, else the first line) from /proc/self/cgroup. */
int vs_cg_self_path(const char *proc_cgroup, char **out, vs_err *err);
/* Turn "slice:prefix:name" into the path systemd would use. */
int vs_cg_systemd_path(const char *spec, char **out, vs_err *err);

/* Hierarchy holding ctrl: a v1 one binding it, else the unified one if the
 * controller is available there; NULL if neither. */
vs_cg_hier *vs_cg_find(vs_cgroup *cg, int ctrl);
vs_cg_hier *vs_cg_unified(vs_cgroup *cg);
/* The hierarchy whose membership freeze, kill and pids act on (cgroup.c). */
vs_cg_hier *vs_cg_procs_hier(vs_cgroup *cg);

/* ---- cgroup_io.c ---- */
/* Write value to dir/file. On failure the message names the config field
 * first: "linux.resources.memory.limit=1024: write 1024 to <path>". */
int vs_cg_set(const char *dir, const char *file, const char *value, vs_err *err, const char *field_fmt,
	      ...) __attribute__((format(printf, 5, 6)));
int vs_cg_read(const char *dir, const char *file, char **out, vs_err *err);
/* Single number; "max" reads as UINT64_MAX. */
int vs_cg_read_u64(const char *dir, const char *file, uint64_t *out, vs_err *err);
/* "key value" lines (cpu.stat, memory.events, cgroup.events). */
int vs_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out, vs_err *err);
bool vs_cg_exists(const char *dir, const char *file);

/* Spec names of the blockIO throttle lists, by VS_THR_* (cgroup_v1.c). */
extern const char *const vs_cg_thr_field[VS_THR_KINDS];

/* ---- v1 -> v2 value mapping (cgroup_v2.c), as runc and crun do ---- */
uint64_t vs_cg_shares_to_weight(uint64_t shares);     /* cpu.shares -> cpu.weight */
uint64_t vs_cg_blkio_to_io_weight(uint64_t weight);   /* blkio.weight -> io.weight */
/* memory.swap (memory+swap) -> memory.swap.max; -1 = "max". */
int vs_cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, vs_err *err);

/* ---- per-version writers: one per controller group, each writes only the
 * fields of res that are set, into the container's dir in that hierarchy. */
typedef int (*vs_cg_writer)(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_cpu(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_cpuset(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_memory(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_pids(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_blkio(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_hugetlb(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_net_cls(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v1_net_prio(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_cpu(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_cpuset(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_memory(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_pids(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_io(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_hugetlb(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_unified(const char *dir, const vs_resources *res, vs_err *err);
/* Device rules (cgroup_devices.c): devices.allow/deny (v1) or a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to dir (v2). The rules are
 * applied on a deny-all base and followed by the OCI default devices. */
int vs_cg_v1_devices(const char *dir, const vs_resources *res, vs_err *err);
int vs_cg_v2_devices(const char *dir, const vs_resources *res, vs_err *err);

#endif
