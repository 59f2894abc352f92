#include "ctr/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fds.h"
#include "base/fs.h"
#include "base/log.h"
#include "ctr/cgroup.h"
#include "ctr/console.h"
#include "ctr/hooks.h"
#include "ctr/inroot.h"
#include "ctr/process.h"
#include "ctr/rootfs.h"
#include "ctr/sync.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

__attribute__((noreturn)) static void die(vs_launch *l, vs_err *err)
{
	vs_sync_send_error(l->sync_fd, err);
	_exit(1);
}

static int set_sysctls(const vs_linux *lx, vs_err *err)
{
	for (size_t i = 0; i < lx->n_sysctl; i++) {
		char path[512];
		int n = snprintf(path, sizeof(path), "/proc/sys/");
		for (const char *k = lx->sysctl[i].key; *k && n < (int)sizeof(path) - 1; k++)
			path[n++] = *k == '.' ? '/' : *k;
		path[n] = 0;
		if (vs_write_str(path, lx->sysctl[i].value, err) < 0)
			return vs_wrap(err, "linux.sysctl %s", lx->sysctl[i].key);
	}
	return 0;
}

/* process.terminal: a pty from the container's own devpts; the master goes to
 * the runtime, the slave becomes stdio and /dev/console. */
static int setup_terminal(vs_launch *l, vs_err *err)
{
	int master, slave;
	unsigned rows = l->proc->has_console_size ? l->proc->console_height : 0;
	unsigned cols = l->proc->has_console_size ? l->proc->console_width : 0;
	if (vs_pty_open(&master, &slave, rows, cols, err) < 0)
		return -1;
	if (l->is_init) {
		char slave_path[32];
		int fd = open("/dev/console", O_PATH | O_CLOEXEC);
		if (fd < 0) {
			int f = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
			if (f >= 0)
				close(f);
		} else {
			close(fd);
		}
		if (mount(vs_fd_path(slave, slave_path), "/dev/console", NULL, MS_BIND, NULL) < 0) {
			close(master);
			close(slave);
			return vs_fail(err, errno, "bind the pty onto /dev/console");
		}
	}
	int rc = vs_sync_send(l->sync_fd, VS_SYNC_PTY, 0, master, err);
	close(master);
	if (rc == 0)
		rc = vs_pty_make_controlling(slave, err);
	if (slave > 2)
		close(slave);
	return rc;
}

static int run_hooks_in_container(vs_launch *l, int kind, pid_t host_pid, vs_status status, vs_err *err)
{
	if (!l->cfg->n_hooks[kind])
		return 0;
	vs_state st = *l->state;
	st.pid = host_pid;
	char *json = vs_state_json(&st, status, false);
	int rc = vs_hooks_run(l->cfg, kind, json, err);
	free(json);
	return rc;
}

/* Block until `vessel start` writes to exec.fifo. */
static int wait_for_start(vs_launch *l, vs_err *err)
{
	char c;
	for (;;) {
		ssize_t n = read(l->fifo_fd, &c, 1);
		if (n == 1)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		return vs_fail(err, n < 0 ? errno : EPIPE, "wait for start on exec.fifo");
	}
	close(l->fifo_fd);
	return 0;
}

__attribute__((noreturn)) static void stage2(vs_launch *l)
{
	vs_err err = {0};
	vs_sync_msg msg;
	const vs_config *cfg = l->cfg;
	const vs_namespace *mnt = &cfg->linux_.ns[VS_NS_MNT];
	bool joined_mntns = mnt->enabled && mnt->path;
	/* The init sets up the rootfs (exec finds it), except in a joined
	 * mount namespace, which is its owner's. */
	bool sets_up_rootfs = l->is_init && !joined_mntns;
	vs_rootfs_opts ro = {.cfg = cfg,
			     .cgroup_path = l->cgroup_path,
			     .cg = l->cg,
			     .in_userns = l->new_userns || l->ns_fds[VS_NS_USER] >= 0,
			     .new_cgroupns = (l->new_ns_flags & CLONE_NEWCGROUP) != 0,
			     .no_pivot = l->no_pivot,
			     .shared_mntns = !mnt->enabled,
			     .joined_mntns = joined_mntns};

	if ((l->is_init || l->proc->terminal) && setsid() < 0 && errno != EPERM)
		die(l, &(vs_err){errno, "setsid"});
	if (l->is_init && !l->no_new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
	    errno != ENOSYS)
		die(l, &(vs_err){errno, "create a session keyring (use --no-new-keyring to skip)"});
	if (sets_up_rootfs && vs_rootfs_prepare(&ro, &err) < 0)
		die(l, &err);

	pid_t host_pid = 0;
	const size_t *nh = cfg->n_hooks;
	if (l->is_init && (nh[VS_HOOK_PRESTART] || nh[VS_HOOK_CREATE_RUNTIME] || nh[VS_HOOK_CREATE_CONTAINER] ||
			   nh[VS_HOOK_START_CONTAINER])) {
		/* prestart and createRuntime hooks run in the runtime, now that the namespaces exist. */
		if (vs_sync_send(l->sync_fd, VS_SYNC_HOOKS, 0, -1, &err) < 0 ||
		    vs_sync_recv(l->sync_fd, VS_SYNC_GO, &msg, NULL, &err) < 0)
			die(l, &err);
		host_pid = msg.value;
		if (run_hooks_in_container(l, VS_HOOK_CREATE_CONTAINER, host_pid, VS_STATUS_CREATING, &err) < 0)
			die(l, &err);
	}
	if (l->is_init && vs_rootfs_enter(&ro, &err) < 0)
		die(l, &err);
	if (l->proc->terminal && setup_terminal(l, &err) < 0)
		die(l, &err);
	if (l->is_init) {
		if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
			die(l, &(vs_err){errno, "hostname: sethostname"});
		if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
			die(l, &(vs_err){errno, "domainname: setdomainname"});
		if (set_sysctls(&cfg->linux_, &err) < 0)
			die(l, &err);
	}
	/* Last: /proc/sys and friends become read-only here. */
	if (sets_up_rootfs && vs_rootfs_finalize(&ro, &err) < 0)
		die(l, &err);
	char path[4096];
	struct vs_seccomp_filter *filter = NULL;
	vs_proc_opts po = {.proc = l->proc,
			   .seccomp = cfg->linux_.has_seccomp ? &cfg->linux_.seccomp : NULL,
			   .preserve_fds = l->preserve_fds,
			   .filter = &filter};
	if (vs_proc_resolve(l->proc, path, sizeof(path), &err) < 0 || vs_proc_setup(&po, &err) < 0)
		die(l, &err);
	if (l->is_init) {
		if (vs_sync_send(l->sync_fd, VS_SYNC_READY, 0, -1, &err) < 0)
			_exit(1);
		close(l->sync_fd);
		l->sync_fd = 2; /* later failures can only be told on stderr */
		if (wait_for_start(l, &err) < 0 ||
		    run_hooks_in_container(l, VS_HOOK_START_CONTAINER, host_pid, VS_STATUS_CREATED, &err) < 0) {
			char buf[768];
			fprintf(stderr, "vessel: %s\n", vs_err_str(&err, buf, sizeof(buf)));
			_exit(127);
		}
		vs_proc_exec(&po, path, &err);
		char buf[768];
		fprintf(stderr, "vessel: %s\n", vs_err_str(&err, buf, sizeof(buf)));
		_exit(127);
	}
	/* exec: success is the sync socket closing on execve (it is O_CLOEXEC). */
	vs_proc_exec(&po, path, &err);
	die(l, &err);
}

/* CVE-2024-21626: the container's processes must not inherit a host fd (a
 * cgroup or state directory, a log file), or `cd /proc/self/fd/N/..` walks to
 * the host. Only stdio, the fds passed on purpose and our own channels stay. */
static void close_host_fds(vs_launch *l)
{
	vs_err err = {0};
	int keep[3 + VS_NS_KINDS];
	size_t n = 0;
	keep[n++] = l->sync_fd;
	if (l->is_init)
		keep[n++] = l->fifo_fd;
	keep[n++] = l->root_fd;
	for (int k = 0; k < VS_NS_KINDS; k++)
		keep[n++] = l->ns_fds[k];
	vs_log_drop_file();
	if (vs_fds_close_except(3 + l->preserve_fds, keep, n, &err) < 0)
		die(l, &err);
}

bool vs_launch_direct_ok(const vs_launch *l)
{
	for (int k = 0; k < VS_NS_KINDS; k++)
		if (l->ns_fds[k] >= 0)
			return false;
	return l->is_init && !l->new_userns && !(l->new_ns_flags & CLONE_NEWTIME);
}

__attribute__((noreturn)) void vs_launch_direct(vs_launch *l)
{
	vs_err err = {0};
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die(l, &(vs_err){errno, "prctl PR_SET_DUMPABLE 0"});
	close_host_fds(l);
	if (vs_cgroup_enter_self(l->cg, l->born_in_v2, &err) < 0)
		die(l, &err);
	/* Only now, so that the cgroup namespace is rooted at the container's cgroups. */
	if ((l->new_ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		die(l, &(vs_err){errno, "create cgroup namespace"});
	stage2(l);
}

__attribute__((noreturn)) void vs_launch_stage1(vs_launch *l)
{
	vs_err err = {0};
	vs_sync_msg msg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* From here until execve (which resets it) no process inside can ptrace
	 * us or open our /proc/PID/{fd,cwd,root,exe}. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die(l, &(vs_err){errno, "prctl PR_SET_DUMPABLE 0"});
	close_host_fds(l);
	/* Into the cgroup first, so that a new cgroup namespace is rooted there. */
	if (l->cg && vs_cgroup_enter_self(l->cg, l->born_in_v2, &err) < 0)
		die(l, &err);
	if (vs_ns_join(l->ns_fds, &err) < 0)
		die(l, &err);
	/* exec: the init's root, whatever mount namespace it lives in (after
	 * the user namespace: joining one is refused to a chrooted process). */
	if (l->root_fd >= 0) {
		if (fchdir(l->root_fd) < 0 || chroot(".") < 0)
			die(l, &(vs_err){errno, "enter the container's root"});
		close(l->root_fd);
		l->root_fd = -1;
	}
	if (l->new_userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			die(l, &(vs_err){errno, "create user namespace"});
		if (vs_sync_send(l->sync_fd, VS_SYNC_USERMAP, 0, -1, &err) < 0 ||
		    vs_sync_recv(l->sync_fd, VS_SYNC_GO, &msg, NULL, &err) < 0)
			die(l, &err);
	}
	if ((l->new_userns || l->ns_fds[VS_NS_USER] >= 0) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		die(l, &(vs_err){errno, "become root in the user namespace (is uid/gid 0 mapped?)"});
	if (l->new_ns_flags && unshare(l->new_ns_flags) < 0) {
		vs_fail(&err, errno, "create namespaces (unshare 0x%x)", l->new_ns_flags);
		die(l, &err);
	}
	if ((l->new_ns_flags & CLONE_NEWTIME) && vs_ns_write_time_offsets(&l->cfg->linux_, &err) < 0)
		die(l, &err);
	/* Both stages talk on the same socket: stage 2 must not speak before the
	 * runtime has its pid, so it waits until stage 1 has sent it. */
	int order[2];
	if (pipe2(order, O_CLOEXEC) < 0)
		die(l, &(vs_err){errno, "pipe"});
	pid_t pid = fork();
	if (pid < 0)
		die(l, &(vs_err){errno, "fork the container process"});
	if (pid == 0) {
		char c;
		close(order[1]);
		ssize_t n;
		do
			n = read(order[0], &c, 1);
		while (n < 0 && errno == EINTR);
		close(order[0]);
		if (n != 1)
			_exit(1); /* stage 1 failed to report us: the runtime gives up */
		stage2(l);
	}
	close(order[0]);
	if (vs_sync_send(l->sync_fd, VS_SYNC_PID, pid, -1, &err) < 0) {
		kill(pid, SIGKILL);
		_exit(1);
	}
	if (write(order[1], "1", 1) != 1)
		kill(pid, SIGKILL);
	_exit(0);
}
