/* Driving the runtime binary (build/vessel) the way containerd drives
 * runc: one process per command, `--root <root>/runtime`. Instances are
 * the runtime's containers, so they live outside vesseld: its death or
 * restart never stops one. */
#ifndef VSD_RUNTIME_H
#define VSD_RUNTIME_H

#include "platform/vsd.h"

/* Run `vessel --root RT ARGS...` (NULL-terminated args) and wait.
 * console NULL: stdout is captured into *out (may be NULL to drop) and
 * stderr becomes the error message on failure. console set: stdout and
 * stderr go to that file (O_APPEND), as a container's init inherits them
 * from `create`; the error is the runtime's last line there. */
int vsd_rt(vsd *d, const char *console, char **out, vs_err *err, const char *const *args);

/* Run the runtime to its end whatever its exit status (exec): stdout,
 * stderr (at most 1 MiB each, malloc'd) and the exit code (128 + signal). */
int vsd_rt_exec(vsd *d, const char *const *args, char **out, char **errout, int *code, vs_err *err);

/* The runtime's view of a container: "running", "paused", "created",
 * "stopped", or "absent" when the runtime has no such container. pid too. */
const char *vsd_rt_status(vsd *d, const char *id, int *pid);

#endif
