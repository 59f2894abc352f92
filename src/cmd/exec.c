/* `exec`: runc's flags, or a full process.json with --process. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "cmd/commands.h"
#include "cmd/foreground.h"
#include "cmd/opts.h"
#include "ctr/container.h"
#include "hybrid/hybrid.h"
#include <signal.h>
#include <sys/signalfd.h>

typedef struct {
	const char *process_file, *cwd, *user, *console_socket, *pid_file, *apparmor, *label, *cgroup;
	vs_strlist env, caps, gids;
	bool tty, detach, no_new_privs, ignore_paused;
	long preserve_fds;
} exec_flags;

/* Container env with --env entries replacing those of the same name. */
static char **merge_env(char **base, const vs_strlist *extra)
{
	size_t n = 0;
	while (base && base[n])
		n++;
	char **env = calloc(n + (size_t)extra->n + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(base[i], "=");
		bool replaced = false;
		for (int j = 0; j < extra->n; j++)
			if (!strncmp(extra->items[j], base[i], klen) && extra->items[j][klen] == '=')
				replaced = true;
		if (!replaced)
			env[k++] = strdup(base[i]);
	}
	for (int j = 0; j < extra->n; j++)
		env[k++] = strdup(extra->items[j]);
	return env;
}

/* A uid or gid as the config parser takes it: 0..2147483647 (the top half
 * holds (uid_t)-1, "unchanged" to setresuid). */
static int parse_id(const char *s, char **end, uint32_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, end, 10);
	if (errno || v > INT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_user(const char *s, vs_process *p)
{
	char *end;
	if (parse_id(s, &end, &p->uid) < 0 || (*end && *end != ':'))
		return -1;
	if (*end == ':' && (parse_id(end + 1, &end, &p->gid) < 0 || *end))
		return -1;
	return 0;
}

/* The process to run: --process FILE as given, or the container's process
 * with the flags applied (runc semantics). */
static int build_process(const exec_flags *f, const vs_config *cfg, char **args, vs_process *p, vs_err *err)
{
	if (f->process_file) {
		char *buf;
		size_t len;
		if (vs_read_regular(f->process_file, VS_CONFIG_MAX, &buf, &len, err) < 0)
			return -1;
		int rc = vs_process_parse(buf, len, p, err);
		free(buf);
		return rc;
	}
	const vs_process *base = &cfg->process;
	memset(p, 0, sizeof(*p));
	size_t n = 0;
	while (args[n])
		n++;
	p->args = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		p->args[i] = strdup(args[i]);
	p->n_args = n;
	p->env = merge_env(base->env, &f->env);
	p->cwd = strdup(f->cwd ? f->cwd : base->cwd ? base->cwd : "/");
	p->uid = base->uid;
	p->gid = base->gid;
	if (f->user && parse_user(f->user, p) < 0)
		return vs_fail(err, EINVAL, "--user %s: expected UID[:GID], each 0..2147483647", f->user);
	if (f->gids.n) {
		p->additional_gids = calloc((size_t)f->gids.n, sizeof(uint32_t));
		if (!p->additional_gids)
			return vs_fail(err, ENOMEM, "--additional-gids");
		for (int i = 0; i < f->gids.n; i++) {
			char *end;
			if (parse_id(f->gids.items[i], &end, &p->additional_gids[i]) < 0 || *end)
				return vs_fail(err, EINVAL, "--additional-gids %s: expected a gid 0..2147483647",
					       f->gids.items[i]);
		}
		p->n_additional_gids = (size_t)f->gids.n;
	} else if (!f->user && base->n_additional_gids) {
		p->additional_gids = calloc(base->n_additional_gids, sizeof(uint32_t));
		memcpy(p->additional_gids, base->additional_gids, base->n_additional_gids * sizeof(uint32_t));
		p->n_additional_gids = base->n_additional_gids;
	}
	p->terminal = f->tty;
	p->has_caps = base->has_caps;
	memcpy(p->caps, base->caps, sizeof(p->caps));
	for (int i = 0; i < f->caps.n; i++) {
		int c = vs_cap_from_name(f->caps.items[i]);
		if (c < 0)
			return vs_fail(err, EINVAL, "--cap %s: unknown capability", f->caps.items[i]);
		for (int s = 0; s < VS_CAP_SETS; s++)
			if (s != VS_CAP_AMBIENT)
				p->caps[s] |= 1ULL << c;
	}
	p->no_new_privileges = base->no_new_privileges || f->no_new_privs;
	p->apparmor_profile = strdup(f->apparmor ? f->apparmor : base->apparmor_profile ? base->apparmor_profile : "");
	p->selinux_label = strdup(f->label ? f->label : base->selinux_label ? base->selinux_label : "");
	if (base->n_rlimits) {
		p->rlimits = calloc(base->n_rlimits, sizeof(vs_rlimit));
		memcpy(p->rlimits, base->rlimits, base->n_rlimits * sizeof(vs_rlimit));
		p->n_rlimits = base->n_rlimits;
	}
	p->has_umask = base->has_umask;
	p->umask = base->umask;
	return 0;
}

/* exec in a VM-isolated container: the process goes to the agent as
 * process.json; stdio and signals through the agent. */
static int hybrid_exec(vs_global *g, const char *id, const exec_flags *f, const vs_process *proc)
{
	if (f->tty || f->console_socket || f->preserve_fds) {
		fprintf(stderr, "vessel exec: --tty, --console-socket and --preserve-fds are not supported with VM "
				"isolation yet\n");
		return 2;
	}
	vs_err err = {0};
	size_t len;
	char *json = vs_hyb_process_json(proc, &len, &err);
	if (!json)
		return vs_cmd_fail(&err);
	sigset_t set, old;
	sigemptyset(&set);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t k = 0; k < sizeof(fwd) / sizeof(fwd[0]); k++)
		sigaddset(&set, fwd[k]);
	int sfd = -1;
	if (!f->detach) {
		sigprocmask(SIG_BLOCK, &set, &old);
		sfd = signalfd(-1, &set, SFD_CLOEXEC);
	}
	signal(SIGPIPE, SIG_IGN);
	vs_hyb_exec_opts o = {.root = g->root, .id = id, .pid_file = f->pid_file, .process = json,
			      .process_len = len, .detach = f->detach, .sig_fd = sfd};
	pid_t pid;
	int status = 1;
	int rc = vs_hyb_exec(&o, &pid, &status, &err);
	free(json);
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (rc < 0)
		return vs_cmd_fail(&err);
	return f->detach ? 0 : status;
}

VS_CMD(exec)
{
	vs_err err = {0};
	exec_flags f = {0};
	vs_opt opts[] = {
		{"process", 'p', OPT_STR, &f.process_file},
		{"cwd", 0, OPT_STR, &f.cwd},
		{"env", 'e', OPT_LIST, &f.env},
		{"tty", 't', OPT_BOOL, &f.tty},
		{"user", 'u', OPT_STR, &f.user},
		{"additional-gids", 'g', OPT_LIST, &f.gids},
		{"cap", 'c', OPT_LIST, &f.caps},
		{"detach", 'd', OPT_BOOL, &f.detach},
		{"pid-file", 0, OPT_STR, &f.pid_file},
		{"console-socket", 0, OPT_STR, &f.console_socket},
		{"apparmor", 0, OPT_STR, &f.apparmor},
		{"process-label", 0, OPT_STR, &f.label},
		{"no-new-privs", 0, OPT_BOOL, &f.no_new_privs},
		{"preserve-fds", 0, OPT_INT, &f.preserve_fds},
		{"cgroup", 0, OPT_STR, &f.cgroup},
		{"ignore-paused", 0, OPT_BOOL, &f.ignore_paused},
		{0},
	};
	int i = vs_opts_parse_id("exec", argc, argv, opts);
	int rc = 2;
	if (i < 0)
		goto out;
	if (!f.process_file && i + 1 >= argc) {
		fprintf(stderr, "vessel exec: a command or --process is required\n");
		goto out;
	}
	char pid_buf[PATH_MAX], sock_buf[PATH_MAX], cwd[PATH_MAX];
	rc = 1;
	if (getcwd(cwd, sizeof(cwd))) {
		if (f.pid_file && f.pid_file[0] != '/') {
			if (vs_path_fmt(pid_buf, sizeof(pid_buf), &err, "%s/%s", cwd, f.pid_file) < 0) {
				vs_cmd_fail(&err);
				goto out;
			}
			f.pid_file = pid_buf;
		}
		if (f.console_socket && f.console_socket[0] != '/') {
			if (vs_path_fmt(sock_buf, sizeof(sock_buf), &err, "%s/%s", cwd, f.console_socket) < 0) {
				vs_cmd_fail(&err);
				goto out;
			}
			f.console_socket = sock_buf;
		}
	}
	vs_state st;
	vs_config *cfg = NULL;
	vs_process proc = {0};
	if (vs_state_load(g->root, argv[i], &st, &err) < 0) {
		/* Not a container of --root (where runc fails): a vesseld instance? */
		/* vesseld's exec takes a command only: a runc flag is refused
		 * rather than dropped (--user would otherwise run as root). */
		bool plain = !f.process_file && !f.cwd && !f.user && !f.console_socket && !f.pid_file && !f.apparmor &&
			     !f.label && !f.cgroup && !f.env.n && !f.caps.n && !f.gids.n && !f.tty && !f.detach &&
			     !f.no_new_privs && !f.preserve_fds;
		if (err.code == ENOENT && vs_client_wanted(g) && !plain) {
			fprintf(stderr, "vessel exec: %s: not a container of the runtime; a vesseld instance takes no "
					"runc exec flags\n", argv[i]);
			goto out;
		}
		if (err.code == ENOENT && plain && vs_client_wanted(g)) {
			vs_err derr = {0};
			int code = vs_client_exec(g, argv[i], argc - i - 1, argv + i + 1, &derr);
			if (code >= 0) {
				rc = code;
				goto out;
			}
			if (derr.code != ENOENT) {
				fprintf(stderr, "vessel exec: %s\n", derr.msg);
				goto out;
			}
		}
		vs_cmd_fail(&err);
		goto out;
	}
	if (vs_container_config(&st, &cfg, &err) < 0 || build_process(&f, cfg, argv + i + 1, &proc, &err) < 0) {
		vs_cmd_fail(&err);
		goto done;
	}
	if (vs_hyb_is_vm(&st)) {
		rc = hybrid_exec(g, argv[i], &f, &proc);
		goto done;
	}
	if (!f.detach)
		vs_fg_prepare();
	vs_exec_opts o = {.root = g->root,
			  .id = argv[i],
			  .proc = &proc,
			  .pid_file = f.pid_file,
			  .console_socket = f.console_socket,
			  .preserve_fds = (int)f.preserve_fds,
			  .detach = f.detach,
			  .ignore_paused = f.ignore_paused,
			  .keep_pty = !f.detach && !f.console_socket};
	pid_t pid;
	int pty;
	if (vs_container_exec(&o, &pid, &pty, &err) < 0) {
		vs_cmd_fail(&err);
		goto done;
	}
	rc = f.detach ? 0 : vs_fg_wait(pid, pty);
done:
	vs_process_clear(&proc);
	vs_config_free(cfg);
	vs_state_clear(&st);
out:
	free(f.env.items);
	free(f.caps.items);
	free(f.gids.items);
	return rc;
}
