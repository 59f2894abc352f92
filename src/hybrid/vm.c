/* One container's VMM in a child process: the engine's handle, run until
 * the guest stops or the runtime sends SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fds.h"
#include "hybrid/hybrid.h"
#include "vmm/api/server.h"
#include "vmm/vmm.h"

/* The child: build and run the machine; on failure its message goes to msg_fd. */
static int vmm_main(const vs_hyb_vm_cfg *c, int msg_fd)
{
	vs_err err = {0};
	vs_vmm_options o = {.console = c->console, .in_fd = -1, .out_fd = c->console_fd,
			    .allow_pvm = c->allow_pvm, .xsave = -1};
	vs_vmm_device disk = {.kind = VS_VMM_DEV_BLOCK, .id = "rootfs", .root = true};
	vs_vmm_vsock vs = {.on = true, .guest_cid = 3, .id = "agent"};
	snprintf(disk.path, sizeof(disk.path), "%s", c->disk);
	snprintf(vs.uds_path, sizeof(vs.uds_path), "%s", c->uds);
	vs_vmm *m = vs_vmm_new(&o, &err);
	vs_vmm_result res = {0};
	vs_api_server *api = NULL;
	vs_fc_info info = {.id = "vessel-agent", .app_name = "vessel", .version = "0.1.0"};
	int status = 1;
	/* quiet: the console is discarded unless debugging, and printing it costs boot time. */
	if (m && vs_vmm_set_boot(m, c->kernel, c->initrd, "quiet", false, &err) == 0 &&
	    vs_vmm_set_machine(m, c->cpus, c->mem, &err) == 0 && vs_vmm_put_device(m, &disk, &err) == 0 &&
	    vs_vmm_set_vsock(m, &vs, &err) == 0 && (!c->api || (api = vs_api_listen(c->api, m, &info, true, &err))) &&
	    vs_vmm_start(m, &err) == 0 && vs_vmm_wait(m, &res, &err) == 0) {
		status = res.status;
		if (status != 0 && res.msg[0])
			dprintf(msg_fd, "%d:%s", EIO, res.msg);
	} else {
		dprintf(msg_fd, "%d:%s", err.code ? err.code : EIO, err.msg);
	}
	vs_api_close(api, false);
	vs_vmm_destroy(m);
	return status;
}

int vs_hyb_vm_spawn(const vs_hyb_vm_cfg *cfg, vs_hyb_vm *vm, vs_err *err)
{
	int p[2];
	vm->pid = -1, vm->pidfd = vm->msg_fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return vs_fail(err, errno, "pipe for the VMM");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]), close(p[1]);
		return vs_fail(err, errno, "fork the VMM");
	}
	if (pid == 0) {
		/* The VMM does not outlive the runtime that drives it (`run`). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGPIPE, SIG_IGN);
		/* The keeper blocks the signals it relays; the engine sets its own. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Its own process group: a terminal's Ctrl-C is for the container
		 * (the runtime passes it on), not a reason to stop the VM. */
		setpgid(0, 0);
		/* The container's stdin and stdout are the keeper's to relay. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			if (cfg->console_fd != 1)
				dup2(null, 1);
		}
		int keep[] = {p[1], cfg->console_fd};
		vs_fds_close_except(3, keep, 2, NULL);
		_exit(vmm_main(cfg, p[1]));
	}
	close(p[1]);
	vm->pid = pid, vm->msg_fd = p[0];
	vm->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (vm->pidfd < 0) {
		int e = errno;
		vs_hyb_vm_end(vm, true, NULL);
		return vs_fail(err, e, "pidfd_open of the VMM");
	}
	return 0;
}

int vs_hyb_vm_end(vs_hyb_vm *vm, bool stop, vs_err *err)
{
	int status = -1, st;
	if (vm->pid > 0) {
		if (stop)
			kill(vm->pid, SIGTERM);
		while (waitpid(vm->pid, &st, 0) < 0 && errno == EINTR)
			;
		status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		vm->pid = -1;
	}
	if (vm->msg_fd >= 0) {
		char msg[600];
		ssize_t n = read(vm->msg_fd, msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = 0;
		char *colon = strchr(msg, ':');
		if (status != 0 && err)
			vs_fail(err, colon ? atoi(msg) : EIO, "the VMM stopped (status %d): %s", status,
				colon ? colon + 1 : "no message");
		close(vm->msg_fd);
		vm->msg_fd = -1;
	}
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	return status;
}
