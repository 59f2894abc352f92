/* VM-isolated containers, the host side: the bundle's rootfs becomes a
 * disk image, one VMM process boots the agent's initramfs with it, and the
 * runtime drives the agent over vsock (hybrid/proto.h). Library code: no
 * printing, no environment; the CLI (src/cmd/hybrid.c) decides. */
#ifndef VS_HYBRID_HYBRID_H
#define VS_HYBRID_HYBRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "hybrid/proto.h"
#include <signal.h>

/* The annotation that asks for VM isolation in config.json. */
#define VS_HYB_ANNOTATION "io.vessel.isolation"

/* Where the container's process does its I/O on the host, and how long
 * the agent may take (ms) for each step before it counts as broken. */
typedef struct vs_hyb_io {
	int in_fd;      /* relayed to the process's stdin; -1: none (EOF at once) */
	int out_fd, err_fd;
	int sig_fd;     /* a signalfd: each signal is passed on to the process
			 * (VS_HYB_SIG_FWD: the signal in its value); -1: none */
	int vmm_pidfd;  /* the VMM process: its end ends the session; -1: none */
	int hello_ms, ready_ms, rest_ms;
} vs_hyb_io;

/* `vessel kill` queues this signal on the keeper with the signal to pass
 * on as its value, so that SIGKILL and SIGSTOP reach the guest too. */
#define VS_HYB_SIG_FWD (SIGRTMIN + 3)

/* A host file of a bind mount, sent to the agent before CREATE. */
typedef struct vs_hyb_file {
	uint32_t index; /* of the mount in config.json's mounts */
	const char *data;
	size_t len;
} vs_hyb_file;

/* The agent's side of a container, in phases (session.c):
 * HELLO, FILE..., CREATE(config), READY; */
int vs_hyb_session_create(int conn, vs_proto_reader *r, const char *config, size_t config_len,
			  const vs_hyb_file *files, size_t n_files, const vs_hyb_io *io, vs_err *err);
/* then START, stdio until EXIT: *status gets the process's exit code, or
 * 128+N when signal N killed it. Any message the agent should not send
 * now, or sends malformed, ends it with an error. */
int vs_hyb_session_start(int conn, vs_proto_reader *r, const vs_hyb_io *io, int *status, vs_err *err);
/* Both, on a fresh connection (the tests' and fuzzer's entry). */
int vs_hyb_session(int conn, const char *config, size_t config_len, const vs_hyb_io *io, int *status,
		   vs_err *err);
/* An exec connection: EXEC(process), READY (then *started is called, if
 * set), stdio until EXIT. */
int vs_hyb_session_exec(int conn, const char *process, size_t len, const vs_hyb_io *io,
			void (*started)(void *), void *arg, int *status, vs_err *err);
/* A ps connection: PS, PIDS. *text (caller frees) gets the checked lines. */
int vs_hyb_session_ps(int conn, int ms, char **text, size_t *len, vs_err *err);

/* The disk image of a rootfs: an ext4 file system built from DIR with
 * mkfs.ext4 -d (no journal: the image is the container's throwaway copy). */
int vs_hyb_image_build(const char *dir, const char *image, vs_err *err);

/* The VMM of one container, in a child process of its own. */
typedef struct vs_hyb_vm_cfg {
	const char *kernel, *initrd, *disk, *uds;
	const char *api;  /* the VMM's API socket (pause/resume), or NULL */
	unsigned cpus;
	uint64_t mem;
	bool console;    /* the guest's serial console on err_fd (debugging) */
	int console_fd;
	bool allow_pvm;
} vs_hyb_vm_cfg;

typedef struct vs_hyb_vm {
	pid_t pid;
	int pidfd;       /* readable once the VMM process has ended */
	int msg_fd;      /* its failure message, if any */
} vs_hyb_vm;

int vs_hyb_vm_spawn(const vs_hyb_vm_cfg *cfg, vs_hyb_vm *vm, vs_err *err);
/* Stop (SIGTERM: the VMM stops the guest) if still running, reap, close.
 * Returns the VMM's exit status; when it failed, err says why. */
int vs_hyb_vm_end(vs_hyb_vm *vm, bool stop, vs_err *err);

/* The newest /boot/vmlinuz-REL with /lib/modules/REL installed. */
int vs_hyb_default_kernel(char *path, size_t len, char *rel, size_t rel_len, vs_err *err);

/* A VM-isolated container, as the runtime's commands see it (create.c,
 * lifecycle.c, exec.c). State lives in <root>/<id>/ as a plain
 * container's: state.json (pid: the keeper, the process that holds the
 * VMM and relays the container's stdio, as the init does for a plain
 * container; annotation io.vessel.isolation=vm), config.json, exec.fifo
 * until start, the disk image, the vsock and API sockets, vmm.pid. */
typedef struct vs_hyb_opts {
	const char *root, *id, *bundle, *pid_file;
	const char *kernel, *initrd;
	unsigned cpus;
	uint64_t mem;
	bool console, allow_pvm;
	/* How the keeper reports a failure after create has returned (its
	 * stderr is the container's: the caller decides how it reads). */
	void (*report)(const vs_err *err);
} vs_hyb_opts;

/* create: state dir, image, the keeper (and its VMM), the agent's READY.
 * The keeper inherits stdin/stdout/stderr: they are the container's. On
 * return *keeper runs, a child of the caller, waiting for start. */
int vs_hyb_create(const vs_hyb_opts *o, pid_t *keeper, vs_err *err);
/* start: the keeper sends START (exec.fifo, as a plain container). */
int vs_hyb_start(const char *root, const char *id, vs_err *err);
/* The state says VM isolation (its annotation). */
struct vs_state;
bool vs_hyb_is_vm(const struct vs_state *st);
/* Status as for a plain container, paused when the VMM says so. */
int vs_hyb_status(const struct vs_state *st);
/* kill: the signal through the agent to the container's process; for
 * SIGKILL, if the keeper has not ended within a few seconds (or the VM is
 * paused), SIGKILL of the keeper and the VMM. */
int vs_hyb_kill(const char *root, const char *id, int sig, vs_err *err);
/* delete: refused while running unless force; then nothing is left. */
int vs_hyb_delete(const char *root, const char *id, bool force, vs_err *err);
/* pause/resume: the VM through the VMM's API. */
int vs_hyb_freeze(const char *root, const char *id, bool frozen, vs_err *err);

/* exec: the process (process.json bytes) in the running container. With
 * detach, a keeper of its own relays its stdio (the caller's) and exits
 * with its status; *pid gets it, and the pid file (if any). Without,
 * *status gets the process's status. sig_fd as in vs_hyb_io. */
typedef struct vs_hyb_exec_opts {
	const char *root, *id, *pid_file;
	const char *process;
	size_t process_len;
	bool detach;
	int sig_fd;
} vs_hyb_exec_opts;
int vs_hyb_exec(const vs_hyb_exec_opts *o, pid_t *pid, int *status, vs_err *err);
/* ps: lines "PID COMM" of the container's processes (guest pids). */
int vs_hyb_ps(const char *root, const char *id, char **text, size_t *len, vs_err *err);

/* events --stats: the host's view (stats.c). */
typedef struct vs_hyb_stats_out {
	unsigned long long cpu_usage_ns, cpu_user_ns, cpu_kernel_ns; /* keeper + VMM */
	unsigned long long mem_usage, mem_limit;                     /* their RSS; the guest's RAM */
	unsigned long long pids_current;                             /* in the guest */
	bool stopped;
} vs_hyb_stats_out;
int vs_hyb_stats(const char *root, const char *id, vs_hyb_stats_out *s, vs_err *err);

/* A process as process.json (what exec sends the agent). Caller frees. */
struct vs_process;
char *vs_hyb_process_json(const struct vs_process *p, size_t *len, vs_err *err);

/* `run` in a microVM: create, start, wait for the keeper (each signal
 * read from sig_fd, a signalfd, goes to the process), delete. */
int vs_hyb_run(const vs_hyb_opts *o, int sig_fd, int *status, vs_err *err);

/* Inside (create.c, keeper.c, lifecycle.c). */
typedef struct vs_hyb_paths {
	char dir[4096], image[4200], uds[4200], port_uds[4300], api[4200], fifo[4200], vmm_pid[4200];
} vs_hyb_paths;
int vs_hyb_paths_of(const char *dir, vs_hyb_paths *p, vs_err *err);
/* Connect to a guest port through the VMM's vsock socket (CONNECT). */
int vs_hyb_vsock_connect(const char *uds, unsigned port, int ms, vs_err *err);
/* One request to the VMM's API: *code gets the HTTP status; body (if
 * set) the response body, NUL-terminated, cut at len - 1. */
int vs_hyb_api(const char *sock, const char *method, const char *path, const char *body, int *code, char *resp,
	       size_t len, vs_err *err);
/* Wait (bounded) for a process that is not our child to be gone. */
int vs_hyb_wait_gone(pid_t pid, unsigned long long start, int ms);

#endif
