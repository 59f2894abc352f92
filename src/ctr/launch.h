/* How a container process comes to life, for `create` (the init) and `exec`
 * alike. The runtime forks a stage-1 child that joins/creates namespaces
 * (user first, so the runtime can write its id maps), then forks the real
 * process (stage 2) so that a new or joined pid/time namespace applies to it,
 * reports its pid and exits. Stage 2 sets up the rootfs (init only), the
 * terminal and the process, and either waits for `start` (init) or execs. */
#ifndef VS_CTR_LAUNCH_H
#define VS_CTR_LAUNCH_H

#include <stdbool.h>

#include "ctr/namespaces.h"
#include "ctr/state.h"
#include "oci/config.h"

typedef struct vs_launch {
	const vs_config *cfg;
	const vs_process *proc;   /* the process to run (cfg->process for init) */
	const vs_state *state;    /* for hook state JSON */
	bool is_init;
	int sync_fd;              /* child's end of the sync socketpair */
	int fifo_fd;              /* init: exec.fifo opened O_RDWR; start writes a byte */
	int ns_fds[VS_NS_KINDS];  /* namespaces to join (-1 = none) */
	int root_fd;              /* exec: the init's root, chrooted into after joining (-1 = none) */
	bool new_userns;          /* create a user namespace (maps written by the runtime) */
	int new_ns_flags;         /* other namespaces to create */
	const char *cgroup_path;
	struct vs_cgroup *cg;     /* stage 1 moves itself in (NULL: stay where we are) */
	bool born_in_v2;          /* forked straight into the v2 hierarchy */
	int preserve_fds;
	bool no_pivot;
	bool no_new_keyring;
} vs_launch;

/* Runs in the forked stage-1 child; never returns. */
__attribute__((noreturn)) void vs_launch_stage1(vs_launch *l);
/* The common case needs no stage 1: an init that joins no namespace and
 * creates no user or time namespace can be cloned straight into its new
 * namespaces and v2 cgroup (vs_cgroup_clone with new_ns_flags minus
 * CLONE_NEWCGROUP); the child then runs vs_launch_direct. Saves a fork and
 * a round trip (about 1.6 ms per start here). */
bool vs_launch_direct_ok(const vs_launch *l);
__attribute__((noreturn)) void vs_launch_direct(vs_launch *l);

#endif
