/* `exec`: a new process in a running container's namespaces and cgroup,
 * with the container's seccomp profile and the requested process settings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctr/cgroup.h"
#include "ctr/console.h"
#include "ctr/container.h"
#include "ctr/launch.h"
#include "ctr/sync.h"

static int check_status(const vs_exec_opts *o, const vs_state *st, vs_err *err)
{
	vs_status s = vs_state_status(st);
	if (s == VS_STATUS_STOPPED || s == VS_STATUS_CREATING)
		return vs_fail(err, EINVAL, "cannot exec in container %s: it is %s", o->id, vs_status_name(s));
	if (s == VS_STATUS_PAUSED && !o->ignore_paused)
		return vs_fail(err, EINVAL, "cannot exec in container %s: it is paused", o->id);
	if (o->proc->terminal && !o->console_socket && !o->keep_pty)
		return vs_fail(err, EINVAL, "--tty needs --console-socket when detached");
	if (!o->proc->args || !o->proc->args[0])
		return vs_fail(err, EINVAL, "exec: no command given");
	return 0;
}

/* Wait for the exec'd process: its sync socket closes on a successful execve. */
static int await_exec(const vs_exec_opts *o, int sock, int *pty_master, vs_err *err)
{
	vs_sync_msg msg;
	int fd;
	for (;;) {
		if (vs_sync_recv(sock, 0, &msg, &fd, err) < 0)
			return err->code == EPIPE ? 0 : -1;
		if (msg.type != VS_SYNC_PTY) {
			if (fd >= 0)
				close(fd);
			return vs_fail(err, EPROTO, "unexpected sync message %u", msg.type);
		}
		if (vs_pty_hand_over(o->console_socket, fd, pty_master, err) < 0)
			return -1;
	}
}

/* The init's root: its pivoted root, or the chroot it made in a mount
 * namespace that is not its own. */
static int open_root_of(pid_t pid, int *fd, vs_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return *fd < 0 ? vs_fail(err, errno, "open %s", path) : 0;
}

int vs_container_exec(const vs_exec_opts *o, pid_t *pid, int *pty_master, vs_err *err)
{
	vs_state st;
	vs_config *cfg = NULL;
	vs_cgroup *cg = NULL;
	int socks[2] = {-1, -1};
	pid_t stage1 = -1;
	*pid = -1;
	*pty_master = -1;
	if (vs_state_load(o->root, o->id, &st, err) < 0)
		return -1;
	int rc = -1;
	vs_launch l = {.proc = o->proc, .state = &st, .preserve_fds = o->preserve_fds, .fifo_fd = -1, .root_fd = -1};
	for (int k = 0; k < VS_NS_KINDS; k++)
		l.ns_fds[k] = -1;
	if (check_status(o, &st, err) < 0 || vs_container_config(&st, &cfg, err) < 0)
		goto out;
	l.cfg = cfg;
	if ((st.cgroup_path && vs_cgroup_open(st.cgroup_path, o->id, false, &cg, err) < 0) ||
	    vs_ns_open_of_pid(st.pid, l.ns_fds, err) < 0 || open_root_of(st.pid, &l.root_fd, err) < 0 ||
	    vs_sync_pair(socks, err) < 0)
		goto out;
	l.sync_fd = socks[1];
	l.cg = cg;
	stage1 = cg ? vs_cgroup_fork(cg, &l.born_in_v2, err) : fork();
	if (stage1 < 0) {
		if (!cg)
			vs_fail(err, errno, "fork");
		goto out;
	}
	if (stage1 == 0) {
		close(socks[0]);
		vs_launch_stage1(&l);
	}
	close(socks[1]);
	socks[1] = -1;
	vs_sync_msg msg;
	if (vs_sync_recv(socks[0], VS_SYNC_PID, &msg, NULL, err) < 0)
		goto out;
	*pid = msg.value;
	waitpid(stage1, NULL, 0);
	stage1 = -1;
	if (await_exec(o, socks[0], pty_master, err) < 0)
		goto out;
	if (o->pid_file && vs_write_pid_file(o->pid_file, *pid, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		vs_wrap(err, "exec in container %s", o->id);
		if (*pid > 0)
			kill(*pid, SIGKILL);
		if (*pty_master >= 0)
			close(*pty_master);
		*pty_master = -1;
	}
	if (stage1 > 0) {
		kill(stage1, SIGKILL);
		waitpid(stage1, NULL, 0);
	}
	for (int k = 0; k < VS_NS_KINDS; k++)
		if (l.ns_fds[k] >= 0)
			close(l.ns_fds[k]);
	if (l.root_fd >= 0)
		close(l.root_fd);
	if (socks[0] >= 0)
		close(socks[0]);
	if (socks[1] >= 0)
		close(socks[1]);
	vs_cgroup_free(cg);
	vs_config_free(cfg);
	vs_state_clear(&st);
	return rc;
}
