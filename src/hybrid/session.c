/* The host's half of one container's conversation with its agent. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hybrid/hybrid.h"
#include "hybrid/proto.h"

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n && fd >= 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a reader that went away loses the output, as with a pipe */
		p += w, n -= (size_t)w;
	}
}

/* The agent's ERROR as our error: its errno, its words (already checked printable). */
static int agent_error(const vs_proto_msg *m, const char *when, vs_err *err)
{
	return vs_fail(err, (int)m->u32[0], "agent: %s: %.*s", when, (int)m->text_len, m->text);
}

/* One message the phase allows, or an error. */
static int next(vs_proto_reader *r, vs_proto_msg *m, int first_ms, int rest_ms, uint32_t mask, const char *phase,
		vs_err *err)
{
	int got = vs_proto_recv(r, m, first_ms, rest_ms, err);
	if (got == 0)
		return vs_fail(err, ECONNRESET, "agent closed the connection %s", phase);
	if (got < 0)
		return vs_wrap(err, "%s", phase);
	return vs_proto_expect(m, mask, phase, err);
}

static int relay(int conn, vs_proto_reader *r, const vs_hyb_io *io, int *status, vs_err *err)
{
	static uint8_t buf[VS_PROTO_STREAM_MAX];
	bool in_open = io->in_fd >= 0;
	if (!in_open && vs_proto_send(conn, VS_MSG_STDIN, NULL, 0, err) < 0)
		return -1;
	for (;;) {
		struct pollfd p[4] = {{.fd = conn, .events = POLLIN},
				      {.fd = in_open ? io->in_fd : -1, .events = POLLIN},
				      {.fd = io->sig_fd, .events = POLLIN},
				      {.fd = io->vmm_pidfd, .events = POLLIN}};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail(err, errno, "poll the agent connection");
		}
		if (p[0].revents) {
			vs_proto_msg m;
			const uint32_t ok = VS_MSGBIT(VS_MSG_STDOUT) | VS_MSGBIT(VS_MSG_STDERR) | VS_MSGBIT(VS_MSG_EXIT) |
					    VS_MSGBIT(VS_MSG_ERROR);
			if (next(r, &m, io->rest_ms, io->rest_ms, ok, "while the container runs", err) < 0)
				return -1;
			if (m.type == VS_MSG_STDOUT || m.type == VS_MSG_STDERR)
				write_all(m.type == VS_MSG_STDOUT ? io->out_fd : io->err_fd, m.data, m.len);
			else if (m.type == VS_MSG_ERROR)
				return agent_error(&m, "run the container's process", err);
			else {
				*status = m.u32[0] == 0 ? (int)m.u32[1] : 128 + (int)m.u32[1];
				return 0;
			}
			continue; /* drain the agent before anything else */
		}
		if (p[1].revents) {
			ssize_t n = read(io->in_fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				in_open = false, n = 0;
			if (vs_proto_send(conn, VS_MSG_STDIN, buf, (uint32_t)n, err) < 0)
				return -1;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			if (read(io->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    vs_proto_send_u32(conn, VS_MSG_SIGNAL, si.ssi_signo, 0, 1, err) < 0)
				return -1;
		}
		if (p[3].revents)
			return vs_fail(err, ECHILD, "the VM stopped before the container's process exited");
	}
}

int vs_hyb_session(int conn, const char *config, size_t config_len, const vs_hyb_io *io, int *status, vs_err *err)
{
	if (config_len == 0 || config_len > VS_PROTO_CONFIG_MAX)
		return vs_fail(err, EMSGSIZE, "config.json: %zu bytes (at most %u go to the agent)", config_len,
			       VS_PROTO_CONFIG_MAX);
	vs_proto_reader r;
	if (vs_proto_reader_init(&r, conn, VS_FROM_GUEST, err) < 0)
		return -1;
	vs_proto_msg m;
	int rc = -1;
	if (next(&r, &m, io->hello_ms, io->rest_ms, VS_MSGBIT(VS_MSG_HELLO), "before its HELLO", err) < 0 ||
	    vs_proto_send(conn, VS_MSG_CREATE, config, (uint32_t)config_len, err) < 0 ||
	    next(&r, &m, io->ready_ms, io->rest_ms, VS_MSGBIT(VS_MSG_READY) | VS_MSGBIT(VS_MSG_ERROR),
		 "before READY", err) < 0)
		goto out;
	if (m.type == VS_MSG_ERROR) {
		agent_error(&m, "create the container", err);
		goto out;
	}
	if (vs_proto_send(conn, VS_MSG_START, NULL, 0, err) < 0)
		goto out;
	rc = relay(conn, &r, io, status, err);
out:
	vs_proto_reader_free(&r);
	return rc;
}
