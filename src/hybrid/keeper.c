/* The keeper: one process per VM-isolated container (see keeper.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/state.h"
#include "hybrid/keeper.h"

/* How long the agent may take: to boot and connect (a nested, emulated
 * host takes tens of seconds), to say HELLO, to create the container,
 * and to finish a message it has begun. */
#define BOOT_MS (600 * 1000)
#define HELLO_MS (30 * 1000)
#define READY_MS (120 * 1000)
#define REST_MS (10 * 1000)

/* Every signal that can be caught and is not about a fault: each is for
 * the container's process. */
static int signals_fd(void)
{
	sigset_t set;
	sigfillset(&set);
	int keep[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT, SIGCHLD, SIGPIPE};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		sigdelset(&set, keep[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* The agent's connection, or an error when the VMM ends first. */
static int accept_agent(int ls, const vs_hyb_vm *vm, vs_err *err)
{
	struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = vm->pidfd, .events = POLLIN}};
	for (;;) {
		int r = poll(p, 2, BOOT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail(err, errno, "wait for the agent");
		if (r == 0)
			return vs_fail(err, ETIMEDOUT, "the agent did not connect within %d s", BOOT_MS / 1000);
		if (p[1].revents)
			return vs_fail(err, ECHILD, "the VM stopped before its agent connected");
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EINTR && errno != ECONNABORTED)
			return vs_fail(err, errno, "accept the agent");
	}
}

/* Signals that do not end a process by default: nothing to do before start. */
static bool harmless(int sig)
{
	return sig == SIGWINCH || sig == SIGCONT || sig == SIGURG || sig == SIGCHLD;
}

/* Created: wait for start (a byte on exec.fifo). 1 to start, 0 with
 * *status when a signal ends the container first, -1 on an error. */
static int wait_start(int fifo, int conn, int sfd, const vs_hyb_vm *vm, int *status, vs_err *err)
{
	for (;;) {
		struct pollfd p[4] = {{.fd = fifo, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN},
				      {.fd = vm->pidfd, .events = POLLIN},
				      {.fd = conn, .events = POLLIN}};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail(err, errno, "wait for start");
		}
		if (p[0].revents) {
			char c;
			if (read(fifo, &c, 1) == 1)
				return 1;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				int sig = (int)si.ssi_signo == VS_HYB_SIG_FWD ? si.ssi_int : (int)si.ssi_signo;
				if (sig >= 1 && sig <= 64 && !harmless(sig)) {
					*status = 128 + sig;
					return 0;
				}
			}
		}
		if (p[2].revents)
			return vs_fail(err, ECHILD, "the VM stopped before start");
		if (p[3].revents)
			return vs_fail(err, EPROTO, "the agent spoke (or hung up) before start");
	}
}

static void report(int fd, const vs_err *err)
{
	if (err)
		dprintf(fd, "%d:%s", err->code ? err->code : EIO, err->msg);
	else
		dprintf(fd, "0:");
	close(fd);
}

int vs_hyb_keeper_main(const vs_hyb_keeper *k)
{
	const vs_hyb_opts *o = k->o;
	const vs_hyb_paths *p = k->paths;
	vs_err err = {0};
	int rep = k->report_fd, conn = -1, fifo = -1, status = 1, rc = -1;
	vs_hyb_vm vm = {.pid = -1, .pidfd = -1, .msg_fd = -1};
	vs_proto_reader r = {.buf = NULL};
	/* Not in the caller's session: its terminal's signals are not ours. */
	setsid();
	signal(SIGPIPE, SIG_IGN);
	int sfd = signals_fd();
	vs_hyb_vm_cfg vc = {.kernel = o->kernel, .initrd = o->initrd, .disk = p->image, .uds = p->uds, .api = p->api,
			    .cpus = o->cpus, .mem = o->mem, .console = o->console, .console_fd = 2,
			    .allow_pvm = o->allow_pvm};
	char line[64];
	if (vs_hyb_vm_spawn(&vc, &vm, &err) < 0)
		goto out;
	snprintf(line, sizeof(line), "%d %llu\n", vm.pid, vs_pid_start_time(vm.pid));
	vs_hyb_io io = {.in_fd = 0, .out_fd = 1, .err_fd = 2, .sig_fd = sfd, .vmm_pidfd = vm.pidfd,
			.hello_ms = HELLO_MS, .ready_ms = READY_MS, .rest_ms = REST_MS};
	if (vs_write_file(p->vmm_pid, line, strlen(line), 0600, &err) < 0 ||
	    (conn = accept_agent(k->listen_fd, &vm, &err)) < 0)
		goto out;
	close(k->listen_fd);
	if (vs_proto_reader_init(&r, conn, VS_FROM_GUEST, &err) < 0 ||
	    vs_hyb_session_create(conn, &r, k->config, k->config_len, k->files, k->n_files, &io, &err) < 0)
		goto out;
	/* Open before READY is reported: `state` says created from then on. */
	fifo = open(p->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		vs_fail(&err, errno, "open %s", p->fifo);
		goto out;
	}
	report(rep, NULL), rep = -1;
	int go = wait_start(fifo, conn, sfd, &vm, &status, &err);
	close(fifo);
	if (go < 0)
		goto out;
	rc = 0;
	if (go > 0)
		rc = vs_hyb_session_start(conn, &r, &io, &status, &err);
out:
	if (conn >= 0)
		close(conn);
	vs_proto_reader_free(&r);
	if (vm.pid > 0) {
		/* The VMM's own reason, when it ended first, says more than ours. */
		vs_err verr = {0};
		bool ended = rc < 0 && err.code == ECHILD;
		vs_hyb_vm_end(&vm, !ended, &verr);
		if (ended && verr.code)
			err = verr;
	}
	if (rc < 0) {
		if (rep >= 0)
			report(rep, &err);
		else if (o->report)
			o->report(&err);
		return 1;
	}
	return status;
}
