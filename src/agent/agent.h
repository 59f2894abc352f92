/* vessel-agent: PID 1 of a VM-isolated container's guest. It brings the
 * guest up (boot.c), connects to the host over vsock and runs the one
 * container the host describes (container.c), speaking hybrid/proto.h. */
#ifndef VS_AGENT_AGENT_H
#define VS_AGENT_AGENT_H

#include "base/error.h"
#include "hybrid/proto.h"

/* /proc, /sys, /dev; the kernel modules listed in /lib/modules/load. */
int vs_agent_boot(vs_err *err);
/* Wait (bounded) for a path to appear: devices probe asynchronously. */
int vs_agent_wait_path(const char *path, int ms, vs_err *err);
/* Connect to the host's port (CID 2), retrying while the transport comes up. */
int vs_agent_connect(unsigned port, int ms, vs_err *err);

/* The container: CREATE's config -> READY, wait for START, run, relay
 * stdio, EXIT. Returns when the process has exited (or on error, which
 * the caller reports to the host as ERROR). */
int vs_agent_container(int conn, vs_proto_reader *r, const vs_proto_msg *create, vs_err *err);

/* Report an error to the host (best effort). */
void vs_agent_send_error(int conn, const vs_err *err);

#endif
