/* Entering a container's cgroup without paying an RCU grace period.
 *
 * Moving another process (cgroup.procs <- pid) takes the global
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
 * 5-15 ms per container start on this class of host. Two moves avoid it:
 *  - v2: the child is born in the cgroup (clone3 with CLONE_INTO_CGROUP);
 *  - v1: a single-threaded child moves itself by writing "0" to "tasks",
 *    a path on which the kernel skips that lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/cgroup.h"
#include "ctr/cgroup_internal.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static vs_cg_hier *v2_hier(vs_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2)
			return &cg->h[i];
	return NULL;
}

/* clone3 fails this way where it, or CLONE_INTO_CGROUP, is not supported. */
static bool clone3_unsupported(int e)
{
	return e == ENOSYS || e == EINVAL || e == E2BIG || e == EOPNOTSUPP;
}

pid_t vs_cgroup_clone(vs_cgroup *cg, uint64_t ns_flags, bool *born_in_v2, vs_err *err)
{
	*born_in_v2 = false;
	vs_cg_hier *v2 = v2_hier(cg);
	int fd = v2 ? open(v2->dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	struct clone_args args = {.flags = ns_flags | (fd >= 0 ? CLONE_INTO_CGROUP : 0),
				  .exit_signal = SIGCHLD,
				  .cgroup = fd >= 0 ? (uint64_t)fd : 0};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	int e = errno;
	if (fd >= 0)
		close(fd); /* the child too: it must not carry a host directory inside */
	if (pid >= 0) {
		*born_in_v2 = fd >= 0;
		return (pid_t)pid;
	}
	return vs_fail(err, clone3_unsupported(e) ? ENOSYS : e, "clone into cgroup %s",
		       v2 ? v2->dir : vs_cgroup_path(cg));
}

pid_t vs_cgroup_fork(vs_cgroup *cg, bool *born_in_v2, vs_err *err)
{
	*born_in_v2 = false;
	if (v2_hier(cg)) {
		pid_t pid = vs_cgroup_clone(cg, 0, born_in_v2, err);
		if (pid >= 0 || err->code != ENOSYS)
			return pid;
	}
	pid_t pid = fork();
	if (pid < 0)
		return vs_fail(err, errno, "fork");
	return pid;
}

int vs_cgroup_enter_self(vs_cgroup *cg, bool skip_v2, vs_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		vs_cg_hier *h = &cg->h[i];
		if (h->v2 && skip_v2)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", h->dir, h->v2 ? "cgroup.procs" : "tasks");
		if (vs_write_str(path, "0", err) < 0)
			return vs_fail(err, err->code, "enter cgroup %s", h->dir);
	}
	return 0;
}
