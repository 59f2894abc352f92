/* Every CLI command: int cmd_x(vs_global *g, int argc, char **argv), argv
 * starting after the command name. Returns the process exit status. */
#ifndef VS_CMD_COMMANDS_H
#define VS_CMD_COMMANDS_H

#include <stdbool.h>

typedef struct vs_global {
	const char *root;        /* state dir, default /run/vessel */
	const char *log_path;
	const char *log_format;  /* "text" | "json" */
	bool debug;
	bool systemd_cgroup;
	const char *rootless;    /* "auto" | "true" | "false" */
	const char *socket;      /* --socket: vesseld's API socket (client group) */
	const char *isolation;   /* "container" | "vm" (--isolation; "vm" when invoked as vessel-vm) */
	const char *argv0;       /* to find the agent's initramfs next to the binary */
} vs_global;

#define VS_CMD(name) int cmd_##name(vs_global *g, int argc, char **argv)

/* OCI runtime (src/cmd/lifecycle.c, exec.c, ...) */
VS_CMD(create);
VS_CMD(start);
VS_CMD(run);
VS_CMD(state);
VS_CMD(kill);
VS_CMD(delete);
VS_CMD(list);
VS_CMD(exec);
VS_CMD(ps);
VS_CMD(pause);
VS_CMD(resume);
VS_CMD(update);
VS_CMD(events);
VS_CMD(features);
VS_CMD(spec);
VS_CMD(checkpoint);
VS_CMD(restore);
/* microVM engine (src/cmd/vm.c, check.c) */
VS_CMD(vm);
/* `vessel vm migrate` (src/cmd/vm_migrate.c), below cmd_vm. */
int vs_cmd_vm_migrate(int argc, char **argv);
VS_CMD(check);
/* vesseld client group (src/cmd/client*.c): only talks to vesseld */
VS_CMD(launch);
VS_CMD(ls);
VS_CMD(stop);
VS_CMD(restart);
VS_CMD(rm);
VS_CMD(info);
VS_CMD(image);
VS_CMD(audit);
VS_CMD(snapshot);
VS_CMD(config);
VS_CMD(logs);
VS_CMD(file);
VS_CMD(network);
/* `vessel start NAME` when NAME is not a runtime container (lifecycle.c). */
struct vs_err;
int vs_client_start(vs_global *g, const char *name, struct vs_err *err);
/* `vessel exec NAME [--] CMD...` likewise (exec.c): the command's exit
 * status, or -1 with err. */
int vs_client_exec(vs_global *g, const char *name, int argc, char **argv, struct vs_err *err);
/* Whether a vesseld socket is named or present (the fallbacks' condition). */
bool vs_client_wanted(const vs_global *g);

/* `run` of a VM-isolated container (src/cmd/hybrid.c); flags from run's. */
typedef struct vs_vm_flags {
	const char *kernel, *initrd, *memory;
	long cpus;
} vs_vm_flags;
int vs_cmd_hybrid_run(vs_global *g, const char *id, const char *bundle, const vs_vm_flags *vf);
int vs_cmd_hybrid_create(vs_global *g, const char *id, const char *bundle, const char *pid_file,
			 const vs_vm_flags *vf);
/* The container id of --root is VM-isolated (its state says so). */
bool vs_cmd_is_vm(const vs_global *g, const char *id);
/* The bundle asks for VM isolation (annotation io.vessel.isolation: vm). */
struct vs_config;
bool vs_cmd_wants_vm(const vs_global *g, const struct vs_config *cfg);

/* Print err the way runc does for the configured log format; returns 1. */
struct vs_err;
int vs_cmd_fail(const struct vs_err *err);

#endif
