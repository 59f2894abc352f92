/* While the container runs: the exec port. Each connection the host
 * opens (through the VMM's vsock socket) gets a process of its own in the
 * guest that reads one request, EXEC (a process.json run in the
 * container as runc exec does: READY, stdio, EXIT) or PS (the container's
 * processes as PIDS), and ends with it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/fs.h"
#include "oci/config.h"

typedef struct serve_ctx {
	int conn; /* the keeper's connection: not the exec's to hold */
	const vs_config *cfg;
} serve_ctx;

int vs_agent_save_file(const vs_proto_msg *m, vs_err *err)
{
	char path[64];
	mkdir(BINDS, 0700);
	snprintf(path, sizeof(path), BINDS "/%u", m->u32[0]);
	return vs_write_file(path, m->text, m->text_len, 0644, err);
}

/* "PID COMM\n" for each process of the container: not the agent (PID 1)
 * nor its exec handlers (the agent's own binary), nor kernel threads. */
static size_t list_pids(char *buf, size_t cap)
{
	char self[256] = "", exe[256], path[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	DIR *d = opendir("/proc");
	size_t len = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || pid > 4194304)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = 0;
		if (!strcmp(exe, self))
			continue;
		char comm[80] = "";
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t c = read(fd, comm, 64);
			comm[c > 0 ? c : 0] = 0;
			close(fd);
		}
		comm[strcspn(comm, "\n")] = 0;
		for (char *c = comm; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
		if (len + 8 + strlen(comm) + 2 > cap)
			break;
		len += (size_t)snprintf(buf + len, cap - len, "%ld %s\n", pid, comm);
	}
	if (d)
		closedir(d);
	return len;
}

/* One exec connection, in its own process. */
static int handle(int c, const vs_config *cfg, vs_err *err)
{
	vs_proto_reader r;
	if (vs_proto_reader_init(&r, c, VS_FROM_HOST, err) < 0)
		return -1;
	vs_proto_msg m;
	int rc = -1, got = vs_proto_recv(&r, &m, 10000, 10000, err);
	if (got == 0)
		vs_fail(err, ECONNRESET, "the host closed the exec connection");
	if (got > 0 && m.type == VS_MSG_PS) {
		static char buf[VS_PROTO_PIDS_MAX];
		size_t len = list_pids(buf, sizeof(buf));
		rc = vs_proto_send(c, VS_MSG_PIDS, buf, (uint32_t)len, err);
	} else if (got > 0 && m.type == VS_MSG_EXEC) {
		vs_process proc = {0};
		vs_agent_wake none = {.fd = -1, .listen_fd = -1};
		if (vs_process_parse((const char *)m.data, m.len, &proc, err) == 0)
			rc = vs_agent_run(c, &r, cfg, &proc, true, &none, err);
		else
			vs_wrap(err, "process.json");
		vs_process_clear(&proc);
	} else if (got > 0) {
		vs_fail(err, EPROTO, "host sent %s first on an exec connection", vs_proto_type_name(m.type));
	}
	vs_proto_reader_free(&r);
	return rc;
}

static void on_accept(int ls, void *arg)
{
	const serve_ctx *ctx = arg;
	int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(ls);
		close(ctx->conn);
		vs_err err = {0};
		if (handle(c, ctx->cfg, &err) < 0) {
			vs_agent_send_error(c, &err);
			_exit(1);
		}
		_exit(0);
	}
	close(c); /* the handler has it; PID 1 reaps it on SIGCHLD */
}

static int listen_vsock(unsigned port, vs_err *err)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail(err, errno, "vsock socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "listen on vsock port %u", port);
	}
	return s;
}

int vs_agent_serve(int conn, vs_proto_reader *r, const vs_config *cfg, vs_err *err)
{
	int ls = listen_vsock(VS_PROTO_EXEC_PORT, err);
	if (ls < 0)
		return -1;
	/* Every child's end wakes the relay: the container's process, exec
	 * handlers (reaped), orphans (reaped: we are PID 1). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		close(ls);
		return vs_fail(err, errno, "signalfd for SIGCHLD");
	}
	serve_ctx ctx = {.conn = conn, .cfg = cfg};
	vs_agent_wake wake = {.fd = sfd, .is_signalfd = true, .listen_fd = ls, .on_accept = on_accept, .arg = &ctx};
	int rc = vs_agent_run(conn, r, cfg, &cfg->process, false, &wake, err);
	close(ls);
	close(sfd);
	return rc;
}
