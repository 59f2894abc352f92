/* The last steps of every container process (init and exec alike), in
 * runc's order: rlimits, oom score, LSM labels, seccomp (early when
 * noNewPrivileges is off, since loading then needs CAP_SYS_ADMIN),
 * capabilities and user, no_new_privs, seccomp (late otherwise), cwd, umask,
 * fds — then execve of the resolved program. */
#ifndef VS_CTR_PROCESS_H
#define VS_CTR_PROCESS_H

#include <stddef.h>

#include "base/error.h"
#include "oci/config.h"

typedef struct vs_proc_opts {
	const vs_process *proc;
	const vs_seccomp *seccomp; /* NULL: no filter */
	int preserve_fds;          /* fds 3 .. 3+N-1 stay open across exec */
} vs_proc_opts;

/* Find process.args[0] using the PATH of process.env (runc semantics). */
int vs_proc_resolve(const vs_process *p, char *path, size_t len, vs_err *err);
/* Steps up to (not including) seccomp-late and exec, all that may fail with
 * a message the runtime can still report. */
int vs_proc_setup(const vs_proc_opts *o, vs_err *err);
/* Final: late seccomp and execve. Returns only on failure. */
int vs_proc_exec(const vs_proc_opts *o, const char *path, vs_err *err);

#endif
