/* vessel-agent: PID 1 of a VM-isolated container's guest. It brings the
 * guest up (boot.c), connects to the host over vsock and runs the one
 * container the host describes (container.c), speaking hybrid/proto.h. */
#ifndef VS_AGENT_AGENT_H
#define VS_AGENT_AGENT_H

#include <stdbool.h>

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

/* Where the container's rootfs is mounted; the host's bind mount files. */
#define VS_AGENT_ROOT "/newroot"
#define BINDS "/binds"

/* What wakes a relay when a process may have exited: PID 1's signalfd of
 * SIGCHLD, or (fd -1) a pidfd of the process; and a listener to serve
 * meanwhile (PID 1: the exec port), or -1. */
struct vs_config;
struct vs_process;
typedef struct vs_agent_wake {
	int fd;
	bool is_signalfd;
	int listen_fd;
	void (*on_accept)(int listen_fd, void *arg);
	void *arg;
} vs_agent_wake;

/* Run one process of the container and relay it until EXIT (container.c). */
int vs_agent_run(int conn, vs_proto_reader *r, const struct vs_config *cfg, const struct vs_process *proc,
		 bool ready, const vs_agent_wake *wake, vs_err *err);
/* START received: run the container's process, serving exec and ps
 * connections on VS_PROTO_EXEC_PORT meanwhile (exec.c). */
int vs_agent_serve(int conn, vs_proto_reader *r, const struct vs_config *cfg, vs_err *err);
/* A FILE message: the host's copy of a bind mount's file, in BINDS. */
int vs_agent_save_file(const vs_proto_msg *m, vs_err *err);

/* Report an error to the host (best effort). */
void vs_agent_send_error(int conn, const vs_err *err);

#endif
