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
VS_CMD(check);

/* Print err the way runc does for the configured log format; returns 1. */
struct vs_err;
int vs_cmd_fail(const struct vs_err *err);

#endif
