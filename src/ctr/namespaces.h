/* Joining and creating namespaces for a container process. */
#ifndef VS_CTR_NAMESPACES_H
#define VS_CTR_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/config.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int vs_ns_clone_flag(vs_ns_kind kind);
/* Name of the /proc/<pid>/ns/ entry for kind ("mnt", "net", ...). */
const char *vs_ns_proc_name(vs_ns_kind kind);

/* Open every linux.namespaces path (fds[kind], -1 when not joined). */
int vs_ns_open_paths(const vs_linux *lx, int fds[VS_NS_KINDS], vs_err *err);
/* setns() into the opened fds: user first, then the rest. Closes the fds. */
int vs_ns_join(int fds[VS_NS_KINDS], vs_err *err);
/* The clone flags of the namespaces to create (enabled, no path), without CLONE_NEWUSER. */
int vs_ns_new_flags(const vs_linux *lx);
/* Write linux.uidMappings/gidMappings for pid (by the runtime, outside). */
int vs_ns_write_id_maps(pid_t pid, const vs_linux *lx, vs_err *err);
/* Write linux.timeOffsets to /proc/self/timens_offsets (after unshare(CLONE_NEWTIME)). */
int vs_ns_write_time_offsets(const vs_linux *lx, vs_err *err);
/* Open /proc/<pid>/ns/<kind> for each namespace the target has that differs from ours (for exec). */
int vs_ns_open_of_pid(pid_t pid, int fds[VS_NS_KINDS], vs_err *err);

#endif
