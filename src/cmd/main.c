/* vessel CLI: global flags as runc takes them, then one command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "cmd/commands.h"
#include "cmd/opts.h"
#include "ctr/cloned_binary.h"

#define VESSEL_VERSION "0.1.0"

/* sealed: the command puts processes into a container, so it first
 * switches to a sealed view of the vessel binary (CVE-2019-5736). */
static const struct {
	const char *name;
	int (*fn)(vs_global *, int, char **);
	const char *help;
	bool sealed;
	bool client; /* the vesseld client group */
} commands[] = {
	{"create", cmd_create, "create a container from a bundle", true},
	{"start", cmd_start, "run the user process of a created container"},
	{"run", cmd_run, "create and start a container", true},
	{"state", cmd_state, "print a container's state as JSON"},
	{"kill", cmd_kill, "send a signal to a container's processes"},
	{"delete", cmd_delete, "remove a container"},
	{"list", cmd_list, "list containers"},
	{"exec", cmd_exec, "run a process inside a running container", true},
	{"ps", cmd_ps, "list the processes of a container"},
	{"pause", cmd_pause, "freeze a container's processes"},
	{"resume", cmd_resume, "thaw a paused container"},
	{"update", cmd_update, "change a container's resource limits"},
	{"events", cmd_events, "print container statistics"},
	{"features", cmd_features, "print the runtime-spec features JSON"},
	{"spec", cmd_spec, "write a default config.json"},
	{"checkpoint", cmd_checkpoint, "checkpoint a container (needs CRIU: not in this build)"},
	{"restore", cmd_restore, "restore a container (needs CRIU: not in this build)"},
	{"vm", cmd_vm, "run a microVM (vessel vm run --kernel ...)"},
	{"check", cmd_check, "report what this host offers"},
	{"launch", cmd_launch, "create and start an instance from an image", false, true},
	{"ls", cmd_ls, "list instances (table, --format json|yaml)", false, true},
	{"stop", cmd_stop, "stop an instance [--force] [--timeout S]", false, true},
	{"restart", cmd_restart, "restart an instance", false, true},
	{"rm", cmd_rm, "delete an instance [-f: stop it first]", false, true},
	{"info", cmd_info, "show an instance", false, true},
	{"image", cmd_image, "image import FILE | pull REF [--alias NAME] | ls | rm", false, true},
	{"audit", cmd_audit, "print the audit log; audit verify checks its hash chain", false, true},
	{"snapshot", cmd_snapshot, "snapshot create|list|restore|delete NAME [SNAPSHOT]", false, true},
	{"config", cmd_config, "config set NAME KEY=VALUE... | unset NAME KEY... | show NAME", false, true},
	{"logs", cmd_logs, "print an instance's console output", false, true},
	{"file", cmd_file, "file pull NAME PATH [DEST] | push SRC NAME PATH [--mode M --uid U --gid G]", false, true},
	{"network", cmd_network, "network create NAME [ipv4.address=GW/PREFIX] | ls | rm NAME | leases NAME", false, true},
};

int vs_cmd_fail(const vs_err *err)
{
	char buf[768];
	vs_err_str(err, buf, sizeof(buf));
	vs_error("%s", buf);
	/* With --log the message also goes to stderr, where users and podman look. */
	if (vs_log_fd() != 2)
		fprintf(stderr, "vessel: %s\n", buf);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vessel [global flags] COMMAND [flags] [args]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!commands[i].client)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nvesseld client (--socket PATH or VESSEL_SOCKET; `start NAME` and `exec NAME`\n"
		   "too, when NAME is not a container of the runtime's --root):\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].client)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nGlobal flags: --root DIR --log FILE --log-format text|json --debug\n"
		   "              --systemd-cgroup --rootless auto|true|false --socket PATH --version\n"
		   "              --isolation container|vm (vm: each container in its own microVM;\n"
		   "                also when invoked as vessel-vm, or with the annotation io.vessel.isolation=vm)\n");
}

extern char **environ;

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	vs_global g = {.root = "/run/vessel", .log_format = "text", .rootless = "auto", .argv0 = argv[0],
		       .isolation = !strcmp(base, "vessel-vm") ? "vm" : "container"};
	bool version = false, help = false;
	const char *criu = NULL;
	vs_opt opts[] = {
		{"root", 0, OPT_STR, &g.root},
		{"log", 0, OPT_STR, &g.log_path},
		{"log-format", 0, OPT_STR, &g.log_format},
		{"debug", 0, OPT_BOOL, &g.debug},
		{"systemd-cgroup", 0, OPT_BOOL, &g.systemd_cgroup},
		{"rootless", 0, OPT_STR, &g.rootless},
		{"criu", 0, OPT_STR, &criu},
		{"socket", 0, OPT_STR, &g.socket},
		{"isolation", 0, OPT_STR, &g.isolation},
		{"version", 'v', OPT_BOOL, &version},
		{"help", 'h', OPT_BOOL, &help},
		{0},
	};
	int i = vs_opts_parse("", argc - 1, argv + 1, opts);
	if (i < 0)
		return 2;
	i += 1;
	if (version) {
		printf("vessel version %s\nspec: 1.2.0\n", VESSEL_VERSION);
		return 0;
	}
	if (help || i >= argc) {
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	if (strcmp(g.log_format, "text") && strcmp(g.log_format, "json")) {
		fprintf(stderr, "vessel: --log-format must be text or json, not '%s'\n", g.log_format);
		return 2;
	}
	if (strcmp(g.isolation, "container") && strcmp(g.isolation, "vm")) {
		fprintf(stderr, "vessel: --isolation must be container or vm, not '%s'\n", g.isolation);
		return 2;
	}
	if (vs_log_open(g.log_path, !strcmp(g.log_format, "json"), g.debug) < 0) {
		fprintf(stderr, "vessel: open log %s: %m\n", g.log_path);
		return 1;
	}
	const char *name = argv[i];
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (strcmp(commands[c].name, name))
			continue;
		if (!strcmp(g.isolation, "vm") && (commands[c].fn == cmd_update ||
						     commands[c].fn == cmd_checkpoint || commands[c].fn == cmd_restore)) {
			fprintf(stderr, "vessel: %s: not yet supported with VM isolation\n", name);
			return 2;
		}
		/* Before the command does anything: the first image is thrown away. */
		vs_err err = {0};
		if (commands[c].sealed && vs_ensure_cloned_binary(argv, environ, &err) < 0)
			return vs_cmd_fail(&err);
		return commands[c].fn(&g, argc - i - 1, argv + i + 1);
	}
	fprintf(stderr, "vessel: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
