/* Migration endpoints: "unix:PATH" or "tcp:HOST:PORT" (HOST an IPv4 or
 * IPv6 address, [v6] in brackets, or "localhost"), and the socket I/O of
 * both sides: non-blocking, with an inactivity timeout and a way out
 * (a flag, an fd that becomes readable) so a stalled peer never hangs a
 * thread. */
#ifndef VS_VMM_MIGSOCK_H
#define VS_VMM_MIGSOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/error.h"

#define VS_MIG_ADDR_MAX 128

typedef struct vs_mig_addr {
	char text[VS_MIG_ADDR_MAX]; /* as given, for messages */
	struct sockaddr_storage sa;
	socklen_t len;
} vs_mig_addr;

int vs_mig_addr_parse(const char *s, vs_mig_addr *a, vs_err *err);
/* A listening socket (a Unix path must not exist yet). */
int vs_mig_listen(const vs_mig_addr *a, vs_err *err);
/* One connection from it, blocking. */
int vs_mig_accept(int lfd, const vs_mig_addr *a, vs_err *err);

/* A connected, non-blocking socket, or -1 (timeout_ms to connect). */
typedef struct vs_mig_io {
	int fd;
	int cancel_fd;           /* readable: give up (-1: none) */
	_Atomic int *cancel;     /* non-zero: give up (NULL: none) */
	int timeout_ms;          /* no progress for this long: give up */
	const char *what;        /* "migration to unix:/x" */
	unsigned long long sent, got;
} vs_mig_io;
int vs_mig_connect(const vs_mig_addr *a, int timeout_ms, vs_err *err);
int vs_mig_send(vs_mig_io *io, const void *buf, size_t len, vs_err *err);
/* vs_mig_read_fn over io (ctx = the vs_mig_io). */
int vs_mig_read(void *io, void *buf, size_t len, const char *what, vs_err *err);

#endif
