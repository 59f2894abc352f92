#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "ctr/cgroup.h"
#include "ctr/console.h"
#include "ctr/container.h"
#include "ctr/hooks.h"
#include "ctr/launch.h"
#include "ctr/rootfs.h"
#include "ctr/sync.h"

int vs_write_pid_file(const char *path, pid_t pid, vs_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	return vs_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

int vs_container_hooks(const vs_config *cfg, const vs_state *st, int kind, vs_status status, vs_err *err)
{
	if (!cfg->n_hooks[kind])
		return 0;
	char *json = vs_state_json(st, status, false);
	int rc = vs_hooks_run(cfg, kind, json, err);
	free(json);
	return rc;
}

/* The UTC calendar date of a day count since 1970-01-01 (proleptic
 * Gregorian, eras of 400 years). Not gmtime_r: glibc's reads /etc/localtime
 * on first use even for UTC, seven syscalls on every create. */
static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *now_rfc3339(void)
{
	struct timespec ts;
	char buf[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	long long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
	if (secs < 0)
		secs += 86400, days--;
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", y, m, d, secs / 3600, secs / 60 % 60,
		 secs % 60, ts.tv_nsec);
	return strdup(buf);
}

static int copy_config(const vs_config *cfg, const char *bundle, const char *dir, vs_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX], *buf;
	size_t len;
	snprintf(dst, sizeof(dst), "%s/" VS_CONFIG_COPY, dir);
	if (cfg->raw) /* the bytes that were parsed */
		return vs_write_file(dst, cfg->raw, cfg->raw_len, 0600, err);
	snprintf(src, sizeof(src), "%s/config.json", bundle);
	if (vs_read_regular(src, VS_CONFIG_MAX, &buf, &len, err) < 0)
		return -1;
	int rc = vs_write_file(dst, buf, len, 0600, err);
	free(buf);
	return rc;
}

static void fill_state(vs_state *st, const vs_create_opts *o, const vs_config *cfg, char *dir)
{
	st->id = strdup(o->id);
	st->dir = dir;
	st->bundle = strdup(o->bundle);
	st->rootfs = strdup(cfg->root_path);
	st->created = now_rfc3339();
	st->owner = strdup("");
	st->creating = true;
	st->systemd_cgroup = o->systemd_cgroup;
	st->own_pidns = cfg->linux_.ns[VS_NS_PID].enabled && !cfg->linux_.ns[VS_NS_PID].path;
	st->annotations = calloc(cfg->n_annotations + 1, sizeof(vs_kv));
	for (size_t i = 0; i < cfg->n_annotations; i++) {
		st->annotations[i].key = strdup(cfg->annotations[i].key);
		st->annotations[i].value = strdup(cfg->annotations[i].value);
	}
	st->n_annotations = cfg->n_annotations;
}

static int check_request(const vs_create_opts *o, const vs_config *cfg, vs_err *err)
{
	if (!cfg->has_process)
		return vs_fail(err, VS_EINVAL_CONFIG, "config.json: process: required to create a container");
	if (cfg->process.terminal && !o->console_socket && !o->keep_pty)
		return vs_fail(err, EINVAL, "process.terminal is set: --console-socket is required (or run in the foreground)");
	return 0;
}

/* The runtime's half of the handshake with the container process (stage 2). */
static int drive_init(const vs_create_opts *o, const vs_config *cfg, vs_state *st, int sock, int *pty_master,
		      vs_err *err)
{
	vs_sync_msg msg;
	int fd;
	for (;;) {
		if (vs_sync_recv(sock, 0, &msg, &fd, err) < 0)
			return -1;
		switch (msg.type) {
		case VS_SYNC_HOOKS:
			if (vs_container_hooks(cfg, st, VS_HOOK_PRESTART, VS_STATUS_CREATING, err) < 0 ||
			    vs_container_hooks(cfg, st, VS_HOOK_CREATE_RUNTIME, VS_STATUS_CREATING, err) < 0 ||
			    vs_sync_send(sock, VS_SYNC_GO, st->pid, -1, err) < 0)
				return -1;
			break;
		case VS_SYNC_PTY:
			if (vs_pty_hand_over(o->console_socket, fd, pty_master, err) < 0)
				return -1;
			break;
		case VS_SYNC_READY:
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return vs_fail(err, EPROTO, "unexpected sync message %u", msg.type);
		}
	}
}

/* The setup process vanishing (EPIPE on the sync socket) says nothing of
 * why; a tiny memory limit is the usual reason, and the cgroup knows. */
static void explain_setup_death(vs_cgroup *cg, const vs_config *cfg, vs_err *err)
{
	uint64_t kills;
	if (!err || (err->code != EPIPE && err->code != ECONNRESET) || vs_cgroup_oom_kills(cg, &kills, NULL) < 0 ||
	    kills == 0)
		return;
	const vs_resources *r = &cfg->linux_.resources;
	if (cfg->linux_.has_resources && r->mem_limit.set && r->mem_limit.v > 0)
		vs_fail(err, VS_EINVAL_CONFIG,
			"container was killed by the memory limit (linux.resources.memory.limit = %lld) during setup",
			(long long)r->mem_limit.v);
	else
		vs_fail(err, ENOMEM, "container was killed by the out-of-memory killer during setup");
}

/* Fork the init, straight into its namespaces where it can be done in one
 * clone, else through stage 1 (joins, user namespace maps). Closes the
 * child's end of the sync socket and the namespace fds; returns the init's
 * host pid. */
static pid_t start_init(vs_launch *l, const vs_config *cfg, int socks[2], vs_err *err)
{
	bool direct = vs_launch_direct_ok(l);
	pid_t child = -1;
	if (direct) {
		child = vs_cgroup_clone(l->cg, (uint64_t)(l->new_ns_flags & ~CLONE_NEWCGROUP), &l->born_in_v2, err);
		if (child < 0 && err->code != ENOSYS)
			goto out;
		direct = child >= 0;
	}
	if (!direct)
		child = vs_cgroup_fork(l->cg, &l->born_in_v2, err);
	if (child == 0) {
		close(socks[0]);
		if (direct)
			vs_launch_direct(l);
		vs_launch_stage1(l);
	}
out:
	close(socks[1]);
	for (int k = 0; k < VS_NS_KINDS; k++)
		if (l->ns_fds[k] >= 0)
			close(l->ns_fds[k]);
	if (child < 0 || direct)
		return child;
	/* Stage 1: USERMAP comes before the PID message. */
	vs_sync_msg msg;
	pid_t init = -1;
	for (;;) {
		if (vs_sync_recv(socks[0], 0, &msg, NULL, err) < 0)
			break;
		if (msg.type == VS_SYNC_USERMAP) {
			if (vs_ns_write_id_maps(child, &cfg->linux_, err) < 0 ||
			    vs_sync_send(socks[0], VS_SYNC_GO, 0, -1, err) < 0)
				break;
			continue;
		}
		if (msg.type == VS_SYNC_PID)
			init = msg.value;
		else
			vs_fail(err, EPROTO, "unexpected sync message %u", msg.type);
		break;
	}
	if (init < 0)
		kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return init;
}

int vs_container_create(const vs_create_opts *o, pid_t *pid, int *pty_master, vs_err *err)
{
	vs_config *cfg = o->config;
	vs_cgroup *cg = NULL;
	vs_state st = {0};
	char *dir = NULL;
	int socks[2] = {-1, -1}, fifo_fd = -1;
	bool cgroup_made = false;
	*pty_master = -1;

	if (vs_id_validate(o->id, err) < 0 || (!cfg && vs_config_load(o->bundle, &cfg, err) < 0)) {
		vs_config_free(cfg);
		return -1;
	}
	if (check_request(o, cfg, err) < 0 ||
	    vs_cgroup_open(cfg->linux_.cgroups_path, o->id, o->systemd_cgroup, &cg, err) < 0 ||
	    vs_state_create_dir(o->root, o->id, &dir, err) < 0)
		goto fail_early;
	fill_state(&st, o, cfg, dir);
	st.cgroup_path = strdup(vs_cgroup_path(cg));
	/* Saved before anything exists outside the state dir, so `delete` can clean up after a crash. */
	if (copy_config(cfg, o->bundle, dir, err) < 0 || vs_state_save(&st, err) < 0)
		goto fail;
	cgroup_made = true;
	if (vs_cgroup_create(cg, err) < 0 ||
	    (cfg->linux_.has_resources && vs_cgroup_apply(cg, &cfg->linux_.resources, err) < 0))
		goto fail;

	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/" VS_EXEC_FIFO, dir);
	if (mkfifo(fifo, 0600) < 0) {
		vs_fail(err, errno, "mkfifo %s", fifo);
		goto fail;
	}
	fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0) {
		vs_fail(err, errno, "open %s", fifo);
		goto fail;
	}

	vs_launch l = {.cfg = cfg,
		       .proc = &cfg->process,
		       .state = &st,
		       .is_init = true,
		       .fifo_fd = fifo_fd,
		       .root_fd = -1,
		       .new_userns = cfg->linux_.ns[VS_NS_USER].enabled && !cfg->linux_.ns[VS_NS_USER].path,
		       .new_ns_flags = vs_ns_new_flags(&cfg->linux_),
		       .cgroup_path = st.cgroup_path,
		       .preserve_fds = o->preserve_fds,
		       .no_pivot = o->no_pivot,
		       .no_new_keyring = o->no_new_keyring};
	if (vs_ns_open_paths(&cfg->linux_, l.ns_fds, err) < 0 || vs_sync_pair(socks, err) < 0)
		goto fail;
	/* Relative paths in config.json (mount sources, hooks) are relative to the bundle. */
	if (chdir(o->bundle) < 0) {
		vs_fail(err, errno, "chdir %s", o->bundle);
		goto fail;
	}
	l.sync_fd = socks[1];
	l.cg = cg;
	pid_t init = start_init(&l, cfg, socks, err);
	socks[1] = -1;
	if (init < 0)
		goto fail;
	st.pid = init;
	st.pid_start = vs_pid_start_time(st.pid);
	if (vs_state_save(&st, err) < 0 || drive_init(o, cfg, &st, socks[0], pty_master, err) < 0)
		goto fail;
	st.creating = false;
	if (vs_state_save(&st, err) < 0 || (o->pid_file && vs_write_pid_file(o->pid_file, st.pid, err) < 0))
		goto fail;
	*pid = st.pid;
	close(socks[0]);
	close(fifo_fd);
	if (o->keep) {
		*o->keep = (vs_container){.st = st, .cfg = cfg, .cg = cg};
		return 0;
	}
	vs_cgroup_free(cg);
	vs_config_free(cfg);
	vs_state_clear(&st);
	return 0;

fail:
	if (cgroup_made)
		explain_setup_death(cg, cfg, err);
	vs_wrap(err, "create container %s", o->id);
	if (st.pid > 0)
		kill(st.pid, SIGKILL);
	if (st.pid > 0)
		for (int i = 0; i < 200 && vs_pid_alive(st.pid, st.pid_start); i++)
			usleep(5000);
	if (*pty_master >= 0)
		close(*pty_master);
	*pty_master = -1;
	if (socks[0] >= 0)
		close(socks[0]);
	if (socks[1] >= 0)
		close(socks[1]);
	if (fifo_fd >= 0)
		close(fifo_fd);
	if (cgroup_made) {
		vs_cgroup_kill(cg, SIGKILL, NULL);
		vs_cgroup_destroy(cg, NULL);
	}
	vs_rootfs_release(cfg, NULL);
	if (st.dir)
		vs_state_remove(&st, NULL);
	vs_state_clear(&st);
	vs_cgroup_free(cg);
	vs_config_free(cfg);
	return -1;
fail_early:
	vs_cgroup_free(cg);
	vs_config_free(cfg);
	if (dir) {
		rmdir(dir);
		free(dir);
	}
	return -1;
}
