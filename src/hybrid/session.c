/* The host's half of one container's conversation with its agent. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
			if (read(io->sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			uint32_t sig = (int)si.ssi_signo == VS_HYB_SIG_FWD ? (uint32_t)si.ssi_int : si.ssi_signo;
			if (sig >= 1 && sig <= 64 && vs_proto_send_u32(conn, VS_MSG_SIGNAL, sig, 0, 1, err) < 0)
				return -1;
		}
		if (p[3].revents)
			return vs_fail(err, ECHILD, "the VM stopped before the container's process exited");
	}
}

int vs_hyb_session_create(int conn, vs_proto_reader *r, const char *config, size_t config_len,
			  const vs_hyb_file *files, size_t n_files, const vs_hyb_io *io, vs_err *err)
{
	if (config_len == 0 || config_len > VS_PROTO_CONFIG_MAX)
		return vs_fail(err, EMSGSIZE, "config.json: %zu bytes (at most %u go to the agent)", config_len,
			       VS_PROTO_CONFIG_MAX);
	vs_proto_msg m;
	if (next(r, &m, io->hello_ms, io->rest_ms, VS_MSGBIT(VS_MSG_HELLO), "before its HELLO", err) < 0)
		return -1;
	for (size_t i = 0; i < n_files; i++) {
		static uint8_t buf[4 + VS_PROTO_FILE_MAX];
		if (files[i].len > VS_PROTO_FILE_MAX)
			return vs_fail(err, EFBIG, "bind mount %u: %zu bytes (at most %u go to the agent)", files[i].index,
				       files[i].len, VS_PROTO_FILE_MAX);
		buf[0] = (uint8_t)files[i].index, buf[1] = (uint8_t)(files[i].index >> 8), buf[2] = 0, buf[3] = 0;
		memcpy(buf + 4, files[i].data, files[i].len);
		if (vs_proto_send(conn, VS_MSG_FILE, buf, (uint32_t)(4 + files[i].len), err) < 0)
			return -1;
	}
	if (vs_proto_send(conn, VS_MSG_CREATE, config, (uint32_t)config_len, err) < 0 ||
	    next(r, &m, io->ready_ms, io->rest_ms, VS_MSGBIT(VS_MSG_READY) | VS_MSGBIT(VS_MSG_ERROR), "before READY",
		 err) < 0)
		return -1;
	if (m.type == VS_MSG_ERROR)
		return agent_error(&m, "create the container", err);
	return 0;
}

int vs_hyb_session_start(int conn, vs_proto_reader *r, const vs_hyb_io *io, int *status, vs_err *err)
{
	if (vs_proto_send(conn, VS_MSG_START, NULL, 0, err) < 0)
		return -1;
	return relay(conn, r, io, status, err);
}

int vs_hyb_session(int conn, const char *config, size_t config_len, const vs_hyb_io *io, int *status, vs_err *err)
{
	vs_proto_reader r;
	if (vs_proto_reader_init(&r, conn, VS_FROM_GUEST, err) < 0)
		return -1;
	int rc = vs_hyb_session_create(conn, &r, config, config_len, NULL, 0, io, err);
	if (rc == 0)
		rc = vs_hyb_session_start(conn, &r, io, status, err);
	vs_proto_reader_free(&r);
	return rc;
}

int vs_hyb_session_exec(int conn, const char *process, size_t len, const vs_hyb_io *io, void (*started)(void *),
			void *arg, int *status, vs_err *err)
{
	if (len == 0 || len > VS_PROTO_CONFIG_MAX)
		return vs_fail(err, EMSGSIZE, "process.json: %zu bytes (at most %u go to the agent)", len,
			       VS_PROTO_CONFIG_MAX);
	vs_proto_reader r;
	if (vs_proto_reader_init(&r, conn, VS_FROM_GUEST, err) < 0)
		return -1;
	vs_proto_msg m;
	int rc = -1;
	if (vs_proto_send(conn, VS_MSG_EXEC, process, (uint32_t)len, err) < 0 ||
	    next(&r, &m, io->ready_ms, io->rest_ms, VS_MSGBIT(VS_MSG_READY) | VS_MSGBIT(VS_MSG_ERROR),
		 "before the exec's READY", err) < 0)
		goto out;
	if (m.type == VS_MSG_ERROR) {
		agent_error(&m, "exec", err);
		goto out;
	}
	if (started)
		started(arg);
	rc = relay(conn, &r, io, status, err);
out:
	vs_proto_reader_free(&r);
	return rc;
}

int vs_hyb_session_ps(int conn, int ms, char **text, size_t *len, vs_err *err)
{
	vs_proto_reader r;
	*text = NULL, *len = 0;
	if (vs_proto_reader_init(&r, conn, VS_FROM_GUEST, err) < 0)
		return -1;
	vs_proto_msg m;
	int rc = -1;
	if (vs_proto_send(conn, VS_MSG_PS, NULL, 0, err) < 0 ||
	    next(&r, &m, ms, ms, VS_MSGBIT(VS_MSG_PIDS) | VS_MSGBIT(VS_MSG_ERROR), "before PIDS", err) < 0)
		goto out;
	if (m.type == VS_MSG_ERROR) {
		agent_error(&m, "ps", err);
		goto out;
	}
	*text = malloc(m.text_len + 1);
	if (!*text) {
		vs_fail(err, ENOMEM, "ps listing");
		goto out;
	}
	memcpy(*text, m.text, m.text_len);
	(*text)[m.text_len] = 0;
	*len = m.text_len;
	rc = 0;
out:
	vs_proto_reader_free(&r);
	return rc;
}
