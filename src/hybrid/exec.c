/* exec and ps of a VM-isolated container: each opens its own connection
 * to the agent's exec port through the VMM's vsock socket. A detached
 * exec gets a keeper of its own (it relays the process's stdio and exits
 * with its status, for the caller's subreaper: conmon, a shim). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fds.h"
#include "ctr/container.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"
#include "oci/config.h"
#include "oci/names.h"

#define CONNECT_MS (10 * 1000)

static struct json_object *strv(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; v && i < n && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char *vs_hyb_process_json(const vs_process *p, size_t *len, vs_err *err)
{
	static const char *sets[VS_CAP_SETS] = {[VS_CAP_BOUNDING] = "bounding", [VS_CAP_EFFECTIVE] = "effective",
						[VS_CAP_INHERITABLE] = "inheritable", [VS_CAP_PERMITTED] = "permitted",
						[VS_CAP_AMBIENT] = "ambient"};
	struct json_object *o = json_object_new_object(), *u = json_object_new_object();
	json_object_object_add(o, "terminal", json_object_new_boolean(p->terminal));
	json_object_object_add(u, "uid", json_object_new_int64(p->uid));
	json_object_object_add(u, "gid", json_object_new_int64(p->gid));
	if (p->has_umask)
		json_object_object_add(u, "umask", json_object_new_int64(p->umask));
	if (p->n_additional_gids) {
		struct json_object *g = json_object_new_array();
		for (size_t i = 0; i < p->n_additional_gids; i++)
			json_object_array_add(g, json_object_new_int64(p->additional_gids[i]));
		json_object_object_add(u, "additionalGids", g);
	}
	json_object_object_add(o, "user", u);
	json_object_object_add(o, "args", strv(p->args, p->n_args));
	size_t n_env = 0;
	while (p->env && p->env[n_env])
		n_env++;
	json_object_object_add(o, "env", strv(p->env, n_env));
	json_object_object_add(o, "cwd", json_object_new_string(p->cwd ? p->cwd : "/"));
	if (p->has_caps) {
		struct json_object *c = json_object_new_object();
		for (int s = 0; s < VS_CAP_SETS; s++) {
			struct json_object *a = json_object_new_array();
			for (int b = 0; b < 64; b++)
				if (p->caps[s] >> b & 1 && vs_cap_name(b))
					json_object_array_add(a, json_object_new_string(vs_cap_name(b)));
			json_object_object_add(c, sets[s], a);
		}
		json_object_object_add(o, "capabilities", c);
	}
	if (p->n_rlimits) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < p->n_rlimits; i++) {
			const char *name = vs_rlimit_name(p->rlimits[i].resource);
			if (!name)
				continue;
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "type", json_object_new_string(name));
			json_object_object_add(r, "soft", json_object_new_uint64(p->rlimits[i].soft));
			json_object_object_add(r, "hard", json_object_new_uint64(p->rlimits[i].hard));
			json_object_array_add(a, r);
		}
		json_object_object_add(o, "rlimits", a);
	}
	json_object_object_add(o, "noNewPrivileges", json_object_new_boolean(p->no_new_privileges));
	if (p->has_oom_score_adj)
		json_object_object_add(o, "oomScoreAdj", json_object_new_int(p->oom_score_adj));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *out = s ? strdup(s) : NULL;
	json_object_put(o);
	if (!out)
		vs_fail(err, ENOMEM, "process.json");
	else
		*len = strlen(out);
	return out;
}

/* The running container's exec port. */
static int connect_exec(const char *root, const char *id, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	int fd = -1;
	vs_hyb_paths p;
	vs_status s = (vs_status)vs_hyb_status(&st);
	if (!vs_hyb_is_vm(&st))
		vs_fail(err, EINVAL, "container %s is not VM-isolated", id);
	else if (s != VS_STATUS_RUNNING)
		vs_fail(err, EINVAL, "container %s is %s, not running", id, vs_status_name(s));
	else if (vs_hyb_paths_of(st.dir, &p, err) == 0)
		fd = vs_hyb_vsock_connect(p.uds, VS_PROTO_EXEC_PORT, CONNECT_MS, err);
	vs_state_clear(&st);
	return fd;
}

static const vs_hyb_io exec_io = {.in_fd = 0, .out_fd = 1, .err_fd = 2, .sig_fd = -1, .vmm_pidfd = -1,
				  .hello_ms = CONNECT_MS, .ready_ms = 60 * 1000, .rest_ms = 10 * 1000};

static void started(void *arg)
{
	int *fd = arg;
	if (*fd >= 0) {
		dprintf(*fd, "0:");
		close(*fd);
		*fd = -1;
	}
}

int vs_hyb_exec(const vs_hyb_exec_opts *o, pid_t *pid, int *status, vs_err *err)
{
	int conn = connect_exec(o->root, o->id, err);
	if (conn < 0)
		return -1;
	vs_hyb_io io = exec_io;
	if (!o->detach) {
		io.sig_fd = o->sig_fd;
		int rc = vs_hyb_session_exec(conn, o->process, o->process_len, &io, NULL, NULL, status, err);
		close(conn);
		return rc;
	}
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(conn);
		return vs_fail(err, errno, "pipe for the exec's keeper");
	}
	pid_t k = fork();
	if (k < 0) {
		close(conn), close(rep[0]), close(rep[1]);
		return vs_fail(err, errno, "fork the exec's keeper");
	}
	if (k == 0) {
		close(rep[0]);
		setsid();
		signal(SIGPIPE, SIG_IGN);
		sigset_t set;
		sigfillset(&set);
		sigdelset(&set, SIGCHLD), sigdelset(&set, SIGPIPE), sigdelset(&set, SIGSEGV), sigdelset(&set, SIGBUS);
		sigprocmask(SIG_BLOCK, &set, NULL);
		io.sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
		int keep[] = {conn, rep[1], io.sig_fd}, st = 1;
		vs_fds_close_except(3, keep, 3, NULL);
		vs_err e = {0};
		if (vs_hyb_session_exec(conn, o->process, o->process_len, &io, started, &rep[1], &st, &e) < 0) {
			if (rep[1] >= 0)
				dprintf(rep[1], "%d:%s", e.code ? e.code : EIO, e.msg);
			_exit(1);
		}
		_exit(st);
	}
	close(conn), close(rep[1]);
	char msg[700];
	ssize_t n;
	while ((n = read(rep[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(rep[0]);
	msg[n > 0 ? n : 0] = 0;
	if (strncmp(msg, "0:", 2)) {
		char *colon = strchr(msg, ':');
		waitpid(k, NULL, 0);
		return vs_fail(err, colon ? atoi(msg) : EIO, "%s", colon ? colon + 1 : "the exec's keeper ended");
	}
	*pid = k;
	if (o->pid_file && vs_write_pid_file(o->pid_file, k, err) < 0)
		return -1;
	return 0;
}

int vs_hyb_ps(const char *root, const char *id, char **text, size_t *len, vs_err *err)
{
	int conn = connect_exec(root, id, err);
	if (conn < 0)
		return -1;
	int rc = vs_hyb_session_ps(conn, CONNECT_MS, text, len, err);
	close(conn);
	return rc;
}
