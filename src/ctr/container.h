/* The container lifecycle as runc's commands see it. The CLI parses flags
 * and prints; everything here returns vs_err. */
#ifndef VS_CTR_CONTAINER_H
#define VS_CTR_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "ctr/state.h"
#include "oci/config.h"

/* What create loaded, kept by `run`, which starts and deletes the same
 * container in the same process: state.json and the config copy are then
 * not read back, nor the cgroup hierarchies looked up again. */
typedef struct vs_container {
	vs_state st;
	vs_config *cfg;
	struct vs_cgroup *cg;
} vs_container;

typedef struct vs_create_opts {
	const char *root;           /* --root */
	const char *id;
	const char *bundle;         /* absolute */
	const char *pid_file;       /* absolute or NULL */
	const char *console_socket; /* absolute or NULL */
	bool no_pivot, no_new_keyring, systemd_cgroup;
	int preserve_fds;
	bool keep_pty;              /* `run -t` without a console socket: hand the pty master back */
	vs_container *keep;         /* if set, filled on success instead of freed */
	struct vs_config *config;   /* the bundle's config.json already loaded (create frees it), or NULL */
} vs_create_opts;

/* Create the container: namespaces, cgroup, rootfs, process ready to start. */
int vs_container_create(const vs_create_opts *o, pid_t *pid, int *pty_master, vs_err *err);
/* Let a created container's process exec the user program; runs poststart hooks. */
int vs_container_start(const char *root, const char *id, vs_err *err);
/* The same on a container create kept (o->keep); the status was known at
 * create, so only the start itself is done. */
int vs_container_start_kept(vs_container *c, vs_err *err);
/* delete --force of a kept container; frees what it holds, as does release. */
int vs_container_delete_kept(vs_container *c, vs_err *err);
void vs_container_release(vs_container *c);
/* Signal the init (or, with all, every process in the cgroup). */
int vs_container_kill(const char *root, const char *id, int sig, bool all, vs_err *err);
/* Remove a container; running/paused ones only with force (killed first). */
int vs_container_delete(const char *root, const char *id, bool force, vs_err *err);
/* Pause / resume via the freezer. */
int vs_container_freeze(const char *root, const char *id, bool frozen, vs_err *err);

/* The config saved at create time (for exec, hooks, update). */
int vs_container_config(const vs_state *st, vs_config **cfg, vs_err *err);
/* Run the hooks of kind with the state as JSON. */
int vs_container_hooks(const vs_config *cfg, const vs_state *st, int kind, vs_status status, vs_err *err);

typedef struct vs_exec_opts {
	const char *root, *id;
	vs_process *proc;           /* filled by the CLI from flags or --process */
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool detach;
	bool ignore_paused;
	bool keep_pty;
} vs_exec_opts;

/* Start a process inside a running container; *pid gets its host pid. */
int vs_container_exec(const vs_exec_opts *o, pid_t *pid, int *pty_master, vs_err *err);

/* Write a pid file atomically (runc semantics). */
int vs_write_pid_file(const char *path, pid_t pid, vs_err *err);

#endif
