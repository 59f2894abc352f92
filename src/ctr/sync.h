/* The runtime <-> container-process handshake: small typed messages over a
 * SOCK_SEQPACKET socketpair, optionally carrying one fd (SCM_RIGHTS). A
 * failure on the child side travels back as an error message, so the CLI
 * prints what went wrong inside the container setup. */
#ifndef VS_CTR_SYNC_H
#define VS_CTR_SYNC_H

#include <stdint.h>

#include "base/error.h"

typedef enum {
	VS_SYNC_GO = 1,     /* parent -> child: proceed */
	VS_SYNC_USERMAP,    /* child -> parent: write my uid/gid maps */
	VS_SYNC_PID,        /* stage-1 -> parent: value = pid of the container process */
	VS_SYNC_HOOKS,      /* child -> parent: run prestart/createRuntime hooks now */
	VS_SYNC_PTY,        /* child -> parent: fd = pty master */
	VS_SYNC_READY,      /* child -> parent: set up, waiting for start / about to exec */
	VS_SYNC_ERROR,      /* either way: value = errno, text = message */
} vs_sync_type;

typedef struct vs_sync_msg {
	uint32_t type;
	int32_t value;
	char text[512];
} vs_sync_msg;

int vs_sync_pair(int fds[2], vs_err *err);
/* Send a message (fd < 0: none). */
int vs_sync_send(int sock, vs_sync_type type, int value, int fd, vs_err *err);
/* Send an error message describing err (best effort). */
void vs_sync_send_error(int sock, const vs_err *err);
/* Receive one message; *fd gets a passed fd or -1. If the peer sent
 * VS_SYNC_ERROR, returns -1 with err filled from it. If the peer hung up,
 * returns -1 with EPIPE. If `expect` is non-zero and another type arrives,
 * returns -1. */
int vs_sync_recv(int sock, vs_sync_type expect, vs_sync_msg *msg, int *fd, vs_err *err);

#endif
