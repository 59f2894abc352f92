/* The one container of the guest: its rootfs is the disk the host built
 * (/dev/vda, ext4), its mounts and process are set up by the same ctr/
 * code as on the host (vs_mount_one, vs_devices_setup, vs_proc_*). The
 * process runs chrooted in the guest's namespaces (the guest is the
 * isolation boundary); bind mounts of host files are bound from the
 * copies the host sent (FILE, kept in BINDS); cgroups and namespaces
 * inside the guest come later. While it runs, the agent also serves
 * exec and ps connections (exec.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "ctr/devices.h"
#include "ctr/mounts.h"
#include "ctr/process.h"
#include "oci/config.h"

#define DISK "/dev/vda"

/* The rootfs and the config's kernel file systems in it. Bind mounts of
 * host files come from the host's copies; other bind mounts name host
 * paths the guest does not have, and cgroups need the guest's cgroup
 * tree: both are skipped. */
static int setup_root(const vs_config *cfg, vs_err *err)
{
	mkdir(VS_AGENT_ROOT, 0755);
	if (vs_agent_wait_path(DISK, 10000, err) < 0)
		return vs_wrap(err, "the rootfs disk");
	if (mount(DISK, VS_AGENT_ROOT, "ext4", 0, NULL) < 0)
		return vs_fail(err, errno, "mount %s (ext4) on %s", DISK, VS_AGENT_ROOT);
	int rootfd = open(VS_AGENT_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vs_fail(err, errno, "open %s", VS_AGENT_ROOT);
	vs_mount_ctx ctx = {.rootfd = rootfd, .rootfs = VS_AGENT_ROOT};
	int rc = 0;
	for (size_t i = 0; i < cfg->n_mounts && rc == 0; i++) {
		const vs_mount *m = &cfg->mounts[i];
		char copy[64];
		snprintf(copy, sizeof(copy), BINDS "/%zu", i);
		if (m->is_bind && access(copy, F_OK) == 0) {
			vs_mount b = *m;
			b.source = copy;
			rc = vs_mount_one(&ctx, &b, err);
			continue;
		}
		if (m->is_bind || (m->type && (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"))))
			continue;
		rc = vs_mount_one(&ctx, m, err);
	}
	if (rc == 0)
		rc = vs_devices_setup(rootfd, cfg, false, err);
	close(rootfd);
	if (rc == 0 && cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		rc = vs_fail(err, errno, "sethostname %s", cfg->hostname);
	if (rc == 0 && cfg->root_readonly &&
	    mount(NULL, VS_AGENT_ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		rc = vs_fail(err, errno, "make the rootfs read-only");
	return rc;
}

/* In the child: enter the root, then the runtime's own last steps. */
static void child(const vs_config *cfg, const vs_process *proc, int in, int out, int errfd, int report)
{
	vs_err err = {0};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the agent blocks SIGCHLD for its signalfd */
	setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0) {
		vs_fail(&err, errno, "set up stdio");
	} else if (chroot(VS_AGENT_ROOT) < 0 || chdir("/") < 0) {
		vs_fail(&err, errno, "chroot %s", VS_AGENT_ROOT);
	} else {
		char path[4096];
		vs_proc_opts po = {.proc = proc, .seccomp = cfg->linux_.has_seccomp ? &cfg->linux_.seccomp : NULL};
		struct vs_seccomp_filter *filter = NULL;
		po.filter = &filter;
		if (vs_proc_resolve(proc, path, sizeof(path), &err) == 0 && vs_proc_setup(&po, &err) == 0)
			vs_proc_exec(&po, path, &err);
	}
	dprintf(report, "%d:%s", err.code ? err.code : EIO, err.msg);
	_exit(127);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w, n -= (size_t)w;
	}
}

/* Pipe output to the host as frames; false at EOF. */
static bool forward(int fd, int conn, vs_msg_type type)
{
	static uint8_t buf[VS_PROTO_STREAM_MAX];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return vs_proto_send(conn, type, buf, (uint32_t)n, NULL) == 0;
}

/* Reap what has exited; true once `pid` has (its status in *st). */
static bool reap(pid_t pid, int *st)
{
	bool gone = false;
	int s;
	pid_t w;
	while ((w = waitpid(-1, &s, WNOHANG)) > 0)
		if (w == pid)
			*st = s, gone = true;
	return gone;
}

static int relay(int conn, vs_proto_reader *r, pid_t pid, const vs_agent_wake *wk, int in, int out, int errp,
		 vs_err *err)
{
	bool out_open = true, err_open = true, exited = false;
	int st = 0;
	while (!exited || out_open || err_open) {
		struct pollfd p[5] = {{.fd = conn, .events = POLLIN},
				      {.fd = out_open ? out : -1, .events = POLLIN},
				      {.fd = err_open ? errp : -1, .events = POLLIN},
				      {.fd = exited ? -1 : wk->fd, .events = POLLIN},
				      {.fd = wk->listen_fd, .events = POLLIN}};
		/* Once the process has gone, only what its pipes already hold
		 * is sent (a daemon it left behind may keep them open). */
		if (poll(p, 5, exited ? 0 : -1) <= 0) {
			if (exited)
				break;
			continue;
		}
		if (p[1].revents)
			out_open = forward(out, conn, VS_MSG_STDOUT);
		if (p[2].revents)
			err_open = forward(errp, conn, VS_MSG_STDERR);
		if (p[3].revents) {
			if (wk->is_signalfd) {
				struct signalfd_siginfo si;
				if (read(wk->fd, &si, sizeof(si)) < 0 && errno != EAGAIN)
					continue;
			}
			exited = reap(pid, &st);
		}
		if (p[4].revents && wk->on_accept)
			wk->on_accept(wk->listen_fd, wk->arg);
		if (p[0].revents) {
			vs_proto_msg m;
			int got = vs_proto_recv(r, &m, 10000, 10000, err);
			if (got <= 0) {
				kill(pid, SIGKILL);
				return got == 0 ? vs_fail(err, ECONNRESET, "the host closed the connection") : -1;
			}
			if (m.type == VS_MSG_STDIN && m.len == 0 && in >= 0)
				close(in), in = -1;
			else if (m.type == VS_MSG_STDIN && in >= 0)
				write_all(in, m.data, m.len);
			else if (m.type == VS_MSG_SIGNAL && !exited)
				kill(pid, (int)m.u32[0]);
			else if (m.type != VS_MSG_STDIN && m.type != VS_MSG_SIGNAL)
				return vs_fail(err, EPROTO, "host sent %s while the container runs", vs_proto_type_name(m.type));
		}
	}
	if (in >= 0)
		close(in);
	if (!exited)
		return vs_fail(err, EIO, "lost the container's process");
	return WIFSIGNALED(st) ? vs_proto_send_u32(conn, VS_MSG_EXIT, 1, (uint32_t)WTERMSIG(st), 2, err)
			       : vs_proto_send_u32(conn, VS_MSG_EXIT, 0, (uint32_t)WEXITSTATUS(st), 2, err);
}

/* Run a process of the container; its exec failure comes back on `report`
 * as "errno:msg". READY goes to the host once it runs, when `ready`. */
int vs_agent_run(int conn, vs_proto_reader *r, const vs_config *cfg, const vs_process *proc, bool ready,
		 const vs_agent_wake *wake, vs_err *err)
{
	int in[2], out[2], errp[2], rep[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0)
		return vs_fail(err, errno, "pipes for the container's stdio");
	pid_t pid = fork();
	if (pid < 0)
		return vs_fail(err, errno, "fork the container's process");
	if (pid == 0)
		child(cfg, proc, in[0], out[1], errp[1], rep[1]);
	close(in[0]), close(out[1]), close(errp[1]), close(rep[1]);
	char msg[600];
	ssize_t n;
	while ((n = read(rep[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(rep[0]);
	if (n > 0) {
		msg[n] = 0;
		char *colon = strchr(msg, ':');
		waitpid(pid, NULL, 0);
		close(in[1]), close(out[0]), close(errp[0]);
		return vs_fail(err, atoi(msg), "%s", colon ? colon + 1 : msg);
	}
	if (ready && vs_proto_send(conn, VS_MSG_READY, NULL, 0, err) < 0) {
		kill(pid, SIGKILL);
		return -1;
	}
	/* Without a signalfd of SIGCHLD (PID 1 has one), a pidfd wakes us. */
	vs_agent_wake wk = *wake;
	int pidfd = -1;
	if (wk.fd < 0) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			return vs_fail(err, errno, "pidfd_open of the container's process");
		wk.fd = pidfd, wk.is_signalfd = false;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	int rc = relay(conn, r, pid, &wk, in[1], out[0], errp[0], err);
	if (pidfd >= 0)
		close(pidfd);
	close(out[0]), close(errp[0]);
	return rc;
}

int vs_agent_container(int conn, vs_proto_reader *r, const vs_proto_msg *create, vs_err *err)
{
	vs_config *cfg = NULL;
	if (vs_config_parse((const char *)create->data, create->len, NULL, &cfg, err) < 0)
		return vs_wrap(err, "config.json");
	int rc = -1;
	if (!cfg->has_process) {
		vs_fail(err, VS_EINVAL_CONFIG, "config.json has no process to run");
		goto out;
	}
	if (setup_root(cfg, err) < 0 || vs_proto_send(conn, VS_MSG_READY, NULL, 0, err) < 0)
		goto out;
	vs_proto_msg m;
	int got = vs_proto_recv(r, &m, -1, 10000, err);
	if (got == 0)
		vs_fail(err, ECONNRESET, "the host closed the connection before START");
	if (got <= 0)
		goto out;
	if (m.type != VS_MSG_START) {
		vs_fail(err, EPROTO, "host sent %s before START", vs_proto_type_name(m.type));
		goto out;
	}
	rc = vs_agent_serve(conn, r, cfg, err);
out:
	vs_config_free(cfg);
	return rc;
}
