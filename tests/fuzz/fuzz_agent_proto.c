/* libFuzzer target for what a guest agent can send the host: any byte
 * string is what the agent writes on its vsock connection (then it hangs
 * up), and the host's sessions (the container's, an exec's, a ps's:
 * hybrid/session.c over hybrid/proto.c, the
 * one choke point for guest messages) must end with a status or a clear
 * error, never a crash, a leak, undefined behaviour or a hang. Build: make
 * fuzz; run: build-fuzz/fuzz_agent_proto tests/fuzz/corpus_agent */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hybrid/hybrid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	if (null_fd < 0) {
		signal(SIGPIPE, SIG_IGN);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	/* The same bytes as the agent's side of each kind of connection: the
	 * container's session, an exec's, a ps's. */
	for (int kind = 0; kind < 3; kind++) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			return 0;
		/* Everything is in the socket before the session starts, then EOF:
		 * no waits (inputs beyond the socket buffer are cut). */
		int big = 1 << 20;
		setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		fcntl(sp[1], F_SETFL, O_NONBLOCK);
		size_t off = 0;
		while (off < size) {
			ssize_t w = write(sp[1], data + off, size - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		shutdown(sp[1], SHUT_WR);
		static const char config[] = "{\"ociVersion\": \"1.2.0\"}";
		static const char proc[] = "{\"args\": [\"true\"], \"cwd\": \"/\"}";
		vs_hyb_io io = {.in_fd = -1, .out_fd = null_fd, .err_fd = null_fd, .sig_fd = -1, .vmm_pidfd = -1,
				.hello_ms = 100, .ready_ms = 100, .rest_ms = 100};
		int status;
		vs_err err;
		char *text = NULL;
		size_t len;
		if (kind == 0)
			vs_hyb_session(sp[0], config, sizeof(config) - 1, &io, &status, &err);
		else if (kind == 1)
			vs_hyb_session_exec(sp[0], proc, sizeof(proc) - 1, &io, NULL, NULL, &status, &err);
		else if (vs_hyb_session_ps(sp[0], 100, &text, &len, &err) == 0)
			free(text);
		close(sp[0]);
		close(sp[1]);
	}
	return 0;
}
