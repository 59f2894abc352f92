/* The last steps of every container process (init and exec alike): rlimits,
 * oom score, LSM labels, inherited fds close-on-exec, cwd, capabilities and
 * user, cwd again (checked inside the root), no_new_privs, umask, seccomp
 * compiled — then, after the init's wait for `start`, the seccomp filter and
 * execve with nothing in between. runc loads the filter before dropping
 * capabilities when noNewPrivileges is off; we hold CAP_SYS_ADMIN until
 * execve instead, so a default-deny profile never meets our own syscalls. */
#ifndef VS_CTR_PROCESS_H
#define VS_CTR_PROCESS_H

#include <stddef.h>

#include "base/error.h"
#include "oci/config.h"

typedef struct vs_proc_opts {
	const vs_process *proc;
	const vs_seccomp *seccomp; /* NULL: no filter */
	int preserve_fds;          /* fds 3 .. 3+N-1 stay open across exec */
	struct vs_seccomp_filter **filter; /* out of setup, into exec: 1 slot */
} vs_proc_opts;

/* Find process.args[0] using the PATH of process.env (runc semantics). */
int vs_proc_resolve(const vs_process *p, char *path, size_t len, vs_err *err);
/* Steps up to (not including) the filter and exec, all that may fail with
 * a message the runtime can still report. */
int vs_proc_setup(const vs_proc_opts *o, vs_err *err);
/* Final: the seccomp filter and execve. Returns only on failure. */
int vs_proc_exec(const vs_proc_opts *o, const char *path, vs_err *err);

#endif
