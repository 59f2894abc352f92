/* Container cgroups on v1, v2 and hybrid hosts (this project's CI host is
 * hybrid: v1 controllers under /sys/fs/cgroup/<ctrl>, cgroup2 at
 * /sys/fs/cgroup/unified). The layout is derived from cgroupsPath alone, so a
 * later `vessel` process re-opens a container's cgroup from its saved path. */
#ifndef VS_CTR_CGROUP_H
#define VS_CTR_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/config.h"

typedef enum { VS_CG_V1, VS_CG_V2, VS_CG_HYBRID } vs_cgroup_mode;

typedef struct vs_cgroup vs_cgroup;

/* Detect the host's cgroup mode (reads /proc/self/mountinfo once). The one
 * detector for the container engine and `vessel check`; _at reads the given
 * mountinfo file (a fixture in tests). v1 controllers and cgroup2 -> hybrid;
 * a v1 tree with no controller (name=systemd only) does not count as v1.
 * No cgroup mounted: VS_ENOTSUP_HOST. */
int vs_cgroup_mode_detect(vs_cgroup_mode *mode, vs_err *err);
int vs_cgroup_mode_detect_at(const char *mountinfo, vs_cgroup_mode *mode, vs_err *err);

/* Resolve the container's cgroup. cgroups_path: absolute ("/vessel/x") or
 * relative (under the runtime's own cgroup, as runc does), or NULL (default
 * "/vessel/<id>"). With systemd=true, "slice:prefix:name" syntax is expected
 * and mapped to the path systemd would use ("/system.slice/prefix-name.scope",
 * as runc's cgroupfs fallback does; no systemd units are made); an absolute
 * path is taken as already resolved, so re-opening from vs_cgroup_path works
 * either way. A relative path is resolved against one reference hierarchy
 * (the unified one, else name=systemd) so every hierarchy gets the same
 * path. Reads mountinfo and /proc/self/cgroup; creates nothing. */
int vs_cgroup_open(const char *cgroups_path, const char *id, bool systemd, vs_cgroup **out, vs_err *err);
/* The canonical path to store in state ("/vessel/x"). */
const char *vs_cgroup_path(const vs_cgroup *cg);
vs_cgroup_mode vs_cgroup_get_mode(const vs_cgroup *cg);
/* The mount point of hierarchy i (in mountinfo order, duplicates left out)
 * and whether it is cgroup2; NULL past the last. */
const char *vs_cgroup_mount_at(const vs_cgroup *cg, size_t i, bool *v2);
/* The container's directory in the hierarchy holding `controller` ("memory",
 * "hugetlb", ...; NULL = the unified tree); NULL if there is none. */
const char *vs_cgroup_dir(const vs_cgroup *cg, const char *controller);

/* mkdir the cgroup in every mounted controller (v1) / the unified tree (v2),
 * enabling the needed controllers in v2 subtree_control. */
int vs_cgroup_create(vs_cgroup *cg, vs_err *err);
/* Write linux.resources. Only fields that are set are written (so `update`
 * passes a partial struct). v1 values are mapped to v2 files as runc does.
 * Device rules, when given, apply on a deny-all base followed by the OCI
 * default devices (null, zero, full, random, urandom, tty, console, ptmx,
 * pts). An impossible value (e.g. memory limit below usage, cpus not in the
 * parent's set) fails naming the field and the file; a controller the host
 * lacks fails with VS_ENOTSUP_HOST naming the field. */
int vs_cgroup_apply(vs_cgroup *cg, const vs_resources *res, vs_err *err);
/* Move pid into the cgroup (all hierarchies). */
int vs_cgroup_enter(vs_cgroup *cg, pid_t pid, vs_err *err);
/* Fork a child that starts in the cgroup's v2 hierarchy where the kernel
 * allows it (*born_in_v2); returns the pid, 0 in the child, -1 on error. */
pid_t vs_cgroup_fork(vs_cgroup *cg, bool *born_in_v2, vs_err *err);
/* clone3 with ns_flags (CLONE_NEW*), into the v2 cgroup when there is one.
 * Fails with code ENOSYS where clone3 cannot do that, so the caller can take
 * the fork + unshare way. */
pid_t vs_cgroup_clone(vs_cgroup *cg, uint64_t ns_flags, bool *born_in_v2, vs_err *err);
/* Called by a single-threaded child: move itself into every hierarchy
 * (skipping v2 if it was born there). Cheaper than vs_cgroup_enter. */
int vs_cgroup_enter_self(vs_cgroup *cg, bool skip_v2, vs_err *err);
/* Freeze (pause) or thaw (resume); waits until the state is reached. */
int vs_cgroup_freeze(vs_cgroup *cg, bool frozen, vs_err *err);
int vs_cgroup_is_frozen(vs_cgroup *cg, bool *frozen, vs_err *err);
/* All pids in the cgroup (malloc'd array). */
int vs_cgroup_pids(vs_cgroup *cg, pid_t **pids, size_t *n, vs_err *err);
/* Send sig to every process in the cgroup, frozen meanwhile so none can
 * fork past it. A paused container stays paused (the signal lands on
 * resume), except for SIGKILL, which thaws it so the kill completes. */
int vs_cgroup_kill(vs_cgroup *cg, int sig, vs_err *err);
/* Remove the cgroup directories (kills nothing; retries briefly on EBUSY). */
int vs_cgroup_destroy(vs_cgroup *cg, vs_err *err);
/* Statistics for `events --stats`: fills a JSON-ready struct. */
typedef struct vs_cgroup_stats {
	unsigned long long cpu_usage_ns, cpu_user_ns, cpu_kernel_ns;
	unsigned long long mem_usage, mem_limit, mem_max_usage, mem_failcnt;
	unsigned long long pids_current, pids_limit;
} vs_cgroup_stats;
int vs_cgroup_stats_read(vs_cgroup *cg, vs_cgroup_stats *st, vs_err *err);
/* How many tasks the OOM killer has killed in the cgroup (v2 memory.events,
 * v1 memory.oom_control "oom_kill"); 0 without a memory controller. */
int vs_cgroup_oom_kills(vs_cgroup *cg, uint64_t *n, vs_err *err);
void vs_cgroup_free(vs_cgroup *cg);

#endif
