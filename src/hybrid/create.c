/* `create` and `run` of a VM-isolated container. create makes the state
 * dir and the disk image, forks the keeper (keeper.c: it spawns the VMM,
 * talks to the agent, relays the container's stdio and exits with its
 * status, as a plain container's init would) and returns once the agent
 * says READY; run is create, start, wait, delete. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fds.h"
#include "base/fs.h"
#include "ctr/container.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"
#include "hybrid/keeper.h"
#include "oci/config.h"

static int listen_unix(const char *path, vs_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return vs_fail(err, ENAMETOOLONG, "socket path %s", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail(err, errno, "socket for %s", path);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "listen on %s", path);
	}
	return s;
}

/* state.json as for a plain container: pid = the keeper, the annotation
 * that makes every later command take the VM path. */
static int save_state(const vs_hyb_opts *o, const vs_config *cfg, const char *dir, pid_t pid, bool creating,
		      vs_err *err)
{
	struct timespec ts;
	struct tm tm;
	char now[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(now + n, sizeof(now) - n, ".%09ldZ", ts.tv_nsec);
	vs_state st = {.id = strdup(o->id), .bundle = strdup(o->bundle), .rootfs = strdup(cfg->root_path),
		       .pid = pid, .pid_start = pid > 0 ? vs_pid_start_time(pid) : 0, .created = strdup(now),
		       .owner = strdup(""), .dir = strdup(dir), .creating = creating,
		       .annotations = calloc(1, sizeof(vs_kv)), .n_annotations = 1};
	if (st.annotations) {
		st.annotations[0].key = strdup(VS_HYB_ANNOTATION);
		st.annotations[0].value = strdup("vm");
	}
	int rc = -1;
	if (!st.id || !st.bundle || !st.rootfs || !st.created || !st.owner || !st.dir || !st.annotations ||
	    !st.annotations[0].key || !st.annotations[0].value)
		vs_fail(err, ENOMEM, "state of %s", o->id);
	else
		rc = vs_state_save(&st, err);
	vs_state_clear(&st);
	return rc;
}

/* Bind mounts of host files: their bytes go to the agent, which mounts
 * a copy at the destination (the guest cannot see the host). Small
 * regular files only (Podman's /etc/hosts, resolv.conf, hostname,
 * .containerenv); directories are not shared yet. */
static int bind_files(const vs_config *cfg, vs_hyb_file **out, size_t *n, vs_err *err)
{
	*out = calloc(cfg->n_mounts + 1, sizeof(vs_hyb_file));
	*n = 0;
	if (!*out)
		return vs_fail(err, ENOMEM, "bind mounts");
	for (size_t i = 0; i < cfg->n_mounts && i < 4096; i++) {
		const vs_mount *m = &cfg->mounts[i];
		struct stat sb;
		if (!m->is_bind || !m->source || stat(m->source, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		char *data;
		size_t len;
		if (vs_read_regular(m->source, VS_PROTO_FILE_MAX, &data, &len, err) < 0)
			return vs_wrap(err, "bind mount %s", m->destination);
		(*out)[(*n)++] = (vs_hyb_file){.index = (uint32_t)i, .data = data, .len = len};
	}
	return 0;
}

static void free_files(vs_hyb_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free((char *)f[i].data);
	free(f);
}

/* The VMM of a container whose keeper is gone: gone too, within bounds. */
int vs_hyb_reap_vmm(const char *vmm_pid_path)
{
	char *buf;
	size_t len;
	if (vs_read_file(vmm_pid_path, &buf, &len, NULL) < 0)
		return 0;
	int pid = 0;
	unsigned long long start = 0;
	int got = sscanf(buf, "%d %llu", &pid, &start);
	free(buf);
	if (got != 2 || pid <= 0)
		return 0;
	if (vs_pid_alive(pid, start))
		kill(pid, SIGKILL);
	return vs_hyb_wait_gone(pid, start, 10000);
}

int vs_hyb_create(const vs_hyb_opts *o, pid_t *keeper, vs_err *err)
{
	vs_config *cfg = NULL;
	char *json = NULL, *dir = NULL, path[4096];
	size_t json_len, n_files = 0;
	vs_hyb_file *files = NULL;
	vs_hyb_paths p;
	int rc = -1, ls = -1, rep[2] = {-1, -1};
	pid_t pid = -1;
	if (vs_config_load(o->bundle, &cfg, err) < 0)
		return -1;
	if (cfg->has_process && cfg->process.terminal) {
		vs_fail(err, VS_EINVAL_CONFIG, "process.terminal: a terminal is not supported with VM isolation yet "
					       "(set it to false)");
		goto out_cfg;
	}
	if (vs_path_fmt(path, sizeof(path), err, "%s/config.json", o->bundle) < 0 ||
	    vs_read_regular(path, VS_PROTO_CONFIG_MAX, &json, &json_len, err) < 0)
		goto out_cfg;
	/* The id is checked there, before it names anything. */
	if (vs_state_create_dir(o->root, o->id, &dir, err) < 0)
		goto out_cfg;
	if (vs_hyb_paths_of(dir, &p, err) < 0 || save_state(o, cfg, dir, 0, true, err) < 0 ||
	    vs_path_fmt(path, sizeof(path), err, "%s/" VS_CONFIG_COPY, dir) < 0 ||
	    vs_write_file(path, json, json_len, 0600, err) < 0 || bind_files(cfg, &files, &n_files, err) < 0 ||
	    vs_hyb_image_build(cfg->root_path, p.image, err) < 0 || (ls = listen_unix(p.port_uds, err)) < 0)
		goto out_dir;
	if (mkfifo(p.fifo, 0600) < 0) {
		vs_fail(err, errno, "mkfifo %s", p.fifo);
		goto out_dir;
	}
	if (pipe2(rep, O_CLOEXEC) < 0) {
		vs_fail(err, errno, "pipe for the keeper");
		goto out_dir;
	}
	vs_hyb_keeper k = {.o = o, .paths = &p, .listen_fd = ls, .report_fd = rep[1], .config = json,
			   .config_len = json_len, .files = files, .n_files = n_files};
	pid = fork();
	if (pid < 0) {
		vs_fail(err, errno, "fork the keeper of %s", o->id);
		goto out_dir;
	}
	if (pid == 0) {
		close(rep[0]);
		int keep[] = {ls, rep[1]};
		vs_fds_close_except(3, keep, 2, NULL);
		_exit(vs_hyb_keeper_main(&k));
	}
	close(rep[1]), rep[1] = -1;
	close(ls), ls = -1;
	/* Known from here on: a runtime killed now leaves a state that delete cleans. */
	if (save_state(o, cfg, dir, pid, true, err) < 0)
		goto out_kill;
	char msg[700];
	ssize_t n;
	while ((n = read(rep[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	msg[n > 0 ? n : 0] = 0;
	if (strncmp(msg, "0:", 2)) {
		char *colon = strchr(msg, ':');
		vs_fail(err, colon ? atoi(msg) : EIO, "%s", colon ? colon + 1 : "the keeper ended before the agent was ready");
		goto out_kill;
	}
	if (save_state(o, cfg, dir, pid, false, err) < 0 ||
	    (o->pid_file && vs_write_pid_file(o->pid_file, pid, err) < 0))
		goto out_kill;
	*keeper = pid;
	rc = 0;
	goto out_dirname;
out_kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	vs_hyb_reap_vmm(p.vmm_pid);
out_dir:
	if (ls >= 0)
		close(ls);
	vs_rmtree(dir, NULL);
out_dirname:
	if (rep[0] >= 0)
		close(rep[0]);
	if (rep[1] >= 0)
		close(rep[1]);
	free(dir);
	free_files(files, n_files);
out_cfg:
	free(json);
	vs_config_free(cfg);
	return rc;
}

int vs_hyb_run(const vs_hyb_opts *o, int sig_fd, int *status, vs_err *err)
{
	pid_t k;
	if (vs_hyb_create(o, &k, err) < 0)
		return -1;
	int rc = -1, st = 0;
	if (vs_hyb_start(o->root, o->id, err) < 0) {
		vs_hyb_delete(o->root, o->id, true, NULL);
		waitpid(k, NULL, 0);
		return -1;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, k, 0);
	for (;;) {
		struct pollfd pf[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = sig_fd, .events = POLLIN}};
		if (pidfd >= 0 && poll(pf, 2, -1) < 0 && errno == EINTR)
			continue;
		if (pidfd < 0 || pf[0].revents) {
			while (waitpid(k, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		struct signalfd_siginfo si;
		if (pf[1].revents && read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			sigqueue(k, VS_HYB_SIG_FWD, (union sigval){.sival_int = (int)si.ssi_signo});
	}
	if (pidfd >= 0)
		close(pidfd);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	rc = vs_hyb_delete(o->root, o->id, true, err);
	return rc;
}
