/* create, start, run, state, kill, delete, list, pause, resume. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "cmd/commands.h"
#include "cmd/foreground.h"
#include "cmd/opts.h"
#include "ctr/cloned_binary.h"
#include "ctr/container.h"
#include "hybrid/hybrid.h"
#include "oci/config.h"

/* Make *path absolute against the cwd, without requiring it to exist. */
static int absolute(const char *cmd, const char **path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	if (!*path || (*path)[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return 0;
	vs_err err;
	if (vs_path_fmt(buf, len, &err, "%s/%s", cwd, *path) < 0) {
		fprintf(stderr, "vessel %s: %s: %s\n", cmd, err.msg, strerror(err.code));
		return -1;
	}
	*path = buf;
	return 0;
}

/* Shared by create and run. */
typedef struct {
	const char *bundle, *pid_file, *console_socket;
	bool no_pivot, no_new_keyring, detach, keep, no_subreaper;
	long preserve_fds;
	vs_vm_flags vm;
	char bundle_buf[PATH_MAX], pid_buf[PATH_MAX], sock_buf[PATH_MAX];
} create_flags;

static int parse_create(const char *cmd, int argc, char **argv, create_flags *f, bool is_run)
{
	memset(f, 0, sizeof(*f));
	f->vm.memory = "256M", f->vm.cpus = 1;
	vs_opt opts[] = {
		{"bundle", 'b', OPT_STR, &f->bundle},
		{"pid-file", 0, OPT_STR, &f->pid_file},
		{"console-socket", 0, OPT_STR, &f->console_socket},
		{"no-pivot", 0, OPT_BOOL, &f->no_pivot},
		{"no-new-keyring", 0, OPT_BOOL, &f->no_new_keyring},
		{"preserve-fds", 0, OPT_INT, &f->preserve_fds},
		{is_run ? "detach" : "no-such-flag", 'd', OPT_BOOL, &f->detach},
		{is_run ? "keep" : "no-such-flag", 0, OPT_BOOL, &f->keep},
		{"no-subreaper", 0, OPT_BOOL, &f->no_subreaper},
		{"vm-kernel", 0, OPT_STR, &f->vm.kernel},
		{"vm-initrd", 0, OPT_STR, &f->vm.initrd},
		{"vm-memory", 0, OPT_STR, &f->vm.memory},
		{"vm-cpus", 0, OPT_INT, &f->vm.cpus},
		{0},
	};
	int i = vs_opts_parse_id(cmd, argc, argv, opts);
	if (i < 0)
		return -1;
	if (f->preserve_fds < 0) {
		fprintf(stderr, "vessel %s: --preserve-fds must not be negative\n", cmd);
		return -1;
	}
	if (!realpath(f->bundle ? f->bundle : ".", f->bundle_buf)) {
		fprintf(stderr, "vessel %s: bundle %s: %s\n", cmd, f->bundle ? f->bundle : ".", strerror(errno));
		return -1;
	}
	f->bundle = f->bundle_buf;
	if (absolute(cmd, &f->pid_file, f->pid_buf, sizeof(f->pid_buf)) < 0 ||
	    absolute(cmd, &f->console_socket, f->sock_buf, sizeof(f->sock_buf)) < 0)
		return -1;
	return i;
}

VS_CMD(create)
{
	create_flags f;
	int i = parse_create("create", argc, argv, &f, false);
	if (i < 0)
		return 2;
	vs_config *cfg = NULL;
	bool vm = !strcmp(g->isolation, "vm");
	if (!vm && vs_config_load(f.bundle, &cfg, NULL) == 0)
		vm = vs_cmd_wants_vm(g, cfg); /* else create loads it again, and reports why it cannot */
	if (vm) {
		vs_config_free(cfg);
		if (f.console_socket) {
			fprintf(stderr, "vessel create: --console-socket is not supported with VM isolation yet\n");
			return 2;
		}
		return vs_cmd_hybrid_create(g, argv[i], f.bundle, f.pid_file, &f.vm);
	}
	vs_create_opts o = {.root = g->root,
			    .id = argv[i],
			    .bundle = f.bundle,
			    .pid_file = f.pid_file,
			    .console_socket = f.console_socket,
			    .no_pivot = f.no_pivot,
			    .no_new_keyring = f.no_new_keyring,
			    .systemd_cgroup = g->systemd_cgroup,
			    .preserve_fds = (int)f.preserve_fds,
			    .config = cfg};
	vs_err err = {0};
	pid_t pid;
	int pty;
	if (vs_container_create(&o, &pid, &pty, &err) < 0)
		return vs_cmd_fail(&err);
	return 0;
}

/* runc's start, unchanged for every container of --root. Only when the
 * runtime has no such container (where runc fails) and a vesseld socket
 * is named (--socket, VESSEL_SOCKET) or exists at the default path does
 * `start NAME` ask vesseld to start its instance NAME; if vesseld has none
 * either, the runtime's own error is printed. */
VS_CMD(start)
{
	vs_opt opts[] = {{0}};
	int i = vs_opts_parse_id("start", argc, argv, opts);
	if (i < 0)
		return 2;
	vs_err err = {0};
	if (vs_cmd_is_vm(g, argv[i]))
		return vs_hyb_start(g->root, argv[i], &err) < 0 ? vs_cmd_fail(&err) : 0;
	if (vs_container_start(g->root, argv[i], &err) == 0)
		return 0;
	/* Only when the container does not exist: start also says ENOENT for
	 * a container of --root whose exec fifo is gone (started already). */
	vs_state st = {0};
	vs_err serr = {0};
	bool absent = err.code == ENOENT && vs_state_load(g->root, argv[i], &st, &serr) < 0 && serr.code == ENOENT;
	vs_state_clear(&st);
	if (absent && vs_client_wanted(g)) {
		vs_err derr = {0};
		if (vs_client_start(g, argv[i], &derr) == 0)
			return 0;
		if (derr.code != ENOENT) {
			fprintf(stderr, "vessel start: %s\n", derr.msg);
			return 1;
		}
	}
	return vs_cmd_fail(&err);
}

VS_CMD(run)
{
	create_flags f;
	int i = parse_create("run", argc, argv, &f, true);
	if (i < 0)
		return 2;
	/* VM isolation: asked for by the flag, the name, or the bundle itself. */
	vs_config *cfg = NULL;
	bool vm = !strcmp(g->isolation, "vm");
	if (!vm && vs_config_load(f.bundle, &cfg, NULL) == 0)
		vm = vs_cmd_wants_vm(g, cfg); /* else create loads it again, and reports why it cannot */
	if (vm) {
		vs_config_free(cfg);
		if (f.console_socket || (f.pid_file && !f.detach)) {
			fprintf(stderr, "vessel run: --console-socket, and --pid-file without --detach, are not supported "
					"with VM isolation yet\n");
			return 2;
		}
		if (f.detach) {
			/* create + start; the keeper goes on alone. */
			int rc = vs_cmd_hybrid_create(g, argv[i], f.bundle, f.pid_file, &f.vm);
			vs_err err = {0};
			if (rc == 0 && vs_hyb_start(g->root, argv[i], &err) < 0)
				rc = vs_cmd_fail(&err);
			return rc;
		}
		return vs_cmd_hybrid_run(g, argv[i], f.bundle, &f.vm);
	}
	if (!f.detach && !f.no_subreaper)
		vs_fg_prepare();
	vs_create_opts o = {.root = g->root,
			    .id = argv[i],
			    .bundle = f.bundle,
			    .pid_file = f.pid_file,
			    .console_socket = f.console_socket,
			    .no_pivot = f.no_pivot,
			    .no_new_keyring = f.no_new_keyring,
			    .systemd_cgroup = g->systemd_cgroup,
			    .preserve_fds = (int)f.preserve_fds,
			    .keep_pty = !f.detach && !f.console_socket,
			    .config = cfg};
	vs_container c = {0};
	o.keep = &c;
	vs_err err = {0};
	pid_t pid;
	int pty;
	if (vs_container_create(&o, &pid, &pty, &err) < 0)
		return vs_cmd_fail(&err);
	if (vs_container_start_kept(&c, &err) < 0) {
		vs_container_delete_kept(&c, NULL);
		return vs_cmd_fail(&err);
	}
	if (f.detach) {
		vs_container_release(&c);
		return 0;
	}
	vs_sealed_settle(); /* while the container runs */
	int status = vs_fg_wait(pid, pty);
	if (f.keep)
		vs_container_release(&c);
	else if (vs_container_delete_kept(&c, &err) < 0)
		vs_cmd_fail(&err);
	return status;
}

/* A VM-isolated container's status also asks its VMM (paused). */
static vs_status status_of(const vs_state *st)
{
	return vs_hyb_is_vm(st) ? (vs_status)vs_hyb_status(st) : vs_state_status(st);
}

VS_CMD(state)
{
	vs_opt opts[] = {{0}};
	int i = vs_opts_parse_id("state", argc, argv, opts);
	if (i < 0)
		return 2;
	vs_state st;
	vs_err err = {0};
	if (vs_state_load(g->root, argv[i], &st, &err) < 0)
		return vs_cmd_fail(&err);
	char *json = vs_state_json(&st, status_of(&st), true);
	printf("%s\n", json);
	free(json);
	vs_state_clear(&st);
	return 0;
}

VS_CMD(kill)
{
	bool all = false;
	vs_opt opts[] = {{"all", 'a', OPT_BOOL, &all}, {0}};
	int i = vs_opts_parse_id("kill", argc, argv, opts);
	if (i < 0)
		return 2;
	int sig = SIGTERM;
	if (i + 1 < argc && (sig = vs_parse_signal(argv[i + 1])) < 0) {
		fprintf(stderr, "vessel kill: unknown signal '%s'\n", argv[i + 1]);
		return 2;
	}
	vs_err err = {0};
	if (vs_cmd_is_vm(g, argv[i]))
		return vs_hyb_kill(g->root, argv[i], sig, &err) < 0 ? vs_cmd_fail(&err) : 0;
	if (vs_container_kill(g->root, argv[i], sig, all, &err) < 0)
		return vs_cmd_fail(&err);
	return 0;
}

VS_CMD(delete)
{
	bool force = false;
	vs_opt opts[] = {{"force", 'f', OPT_BOOL, &force}, {0}};
	int i = vs_opts_parse_id("delete", argc, argv, opts);
	if (i < 0)
		return 2;
	vs_err err = {0};
	if (vs_cmd_is_vm(g, argv[i])) {
		if (vs_hyb_delete(g->root, argv[i], force, &err) < 0)
			return force && err.code == ENOENT ? 0 : vs_cmd_fail(&err);
		return 0;
	}
	if (vs_container_delete(g->root, argv[i], force, &err) < 0) {
		/* runc: deleting a container that does not exist is not an error with --force. */
		if (force && err.code == ENOENT)
			return 0;
		return vs_cmd_fail(&err);
	}
	return 0;
}

static int freeze_cmd(vs_global *g, int argc, char **argv, const char *cmd, bool frozen)
{
	vs_opt opts[] = {{0}};
	int i = vs_opts_parse_id(cmd, argc, argv, opts);
	if (i < 0)
		return 2;
	vs_err err = {0};
	if (vs_cmd_is_vm(g, argv[i]))
		return vs_hyb_freeze(g->root, argv[i], frozen, &err) < 0 ? vs_cmd_fail(&err) : 0;
	if (vs_container_freeze(g->root, argv[i], frozen, &err) < 0)
		return vs_cmd_fail(&err);
	return 0;
}

VS_CMD(pause) { return freeze_cmd(g, argc, argv, "pause", true); }
VS_CMD(resume) { return freeze_cmd(g, argc, argv, "resume", false); }

VS_CMD(list)
{
	const char *format = "table";
	bool quiet = false;
	vs_opt opts[] = {{"format", 'f', OPT_STR, &format}, {"quiet", 'q', OPT_BOOL, &quiet}, {0}};
	if (vs_opts_parse("list", argc, argv, opts) < 0)
		return 2;
	bool json = !strcmp(format, "json");
	if (!json && strcmp(format, "table")) {
		fprintf(stderr, "vessel list: --format must be table or json\n");
		return 2;
	}
	char **ids;
	vs_err err = {0};
	if (vs_state_list(g->root, &ids, &err) < 0)
		return vs_cmd_fail(&err);
	struct json_object *arr = json_object_new_array();
	if (!json && !quiet)
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (char **id = ids; *id; id++) {
		vs_state st;
		if (vs_state_load(g->root, *id, &st, NULL) < 0)
			continue; /* removed meanwhile */
		vs_status s = status_of(&st);
		int pid = s == VS_STATUS_STOPPED ? 0 : st.pid;
		if (json) {
			char *one = vs_state_json(&st, s, false);
			struct json_object *o = json_tokener_parse(one);
			if (o)
				json_object_array_add(arr, o);
			free(one);
		} else if (quiet) {
			printf("%s\n", *id);
		} else {
			printf("%-12s %-8d %-10s %-40s %-30s %s\n", *id, pid, vs_status_name(s),
			       st.bundle ? st.bundle : "", st.created ? st.created : "",
			       st.owner && *st.owner ? st.owner : "root");
		}
		vs_state_clear(&st);
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	vs_strv_free(ids);
	return 0;
}
