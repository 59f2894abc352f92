/* process.terminal: a pty pair, the slave becoming the container's stdio and
 * the master sent over --console-socket with SCM_RIGHTS (as runc does). */
#ifndef VS_CTR_CONSOLE_H
#define VS_CTR_CONSOLE_H

#include "base/error.h"

/* Open a new pty pair (master O_CLOEXEC, O_NOCTTY); sets the window size if
 * rows/cols are non-zero. */
int vs_pty_open(int *master, int *slave, unsigned rows, unsigned cols, vs_err *err);
/* In the child: make slave the controlling terminal and stdin/out/err. */
int vs_pty_make_controlling(int slave, vs_err *err);
/* Connect to the Unix socket at path and send fd with SCM_RIGHTS. */
int vs_console_send(const char *socket_path, int fd, vs_err *err);
/* The same hand-over with any message data (non-empty), e.g. the container
 * process state that goes with a seccomp listener fd to linux.seccomp.listenerPath.
 * `what` names the socket in errors ("console socket", "seccomp listener"). */
int vs_send_fd(const char *socket_path, const char *what, int fd, const char *data, vs_err *err);
/* Copy between the caller's stdio and the pty master until the master hangs
 * up (used by `vessel run -t` without a console socket). */
int vs_console_proxy(int master, vs_err *err);

/* The runtime's side of process.terminal: send the container's pty master
 * to console_socket (and close it), or, without a socket, keep it in
 * *pty_master for the foreground proxy. */
int vs_pty_hand_over(const char *console_socket, int master, int *pty_master, vs_err *err);

#endif
