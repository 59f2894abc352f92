/* The API socket: a Unix stream socket served by one thread, one
 * connection at a time (keep-alive honoured), requests parsed by http.c and
 * answered by the Firecracker routes (fc.h) on the engine's handle. */
#ifndef VS_VMM_API_SERVER_H
#define VS_VMM_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "vmm/api/fc.h"
#include "vmm/vmm.h"

typedef struct vs_api_server vs_api_server;

/* Bind PATH (which must not exist) and start serving, the thread under
 * its own seccomp filter if `jail`. */
vs_api_server *vs_api_listen(const char *path, vs_vmm *m, const vs_fc_info *info, bool jail, vs_err *err);
/* Stop the thread, close the socket, and remove it if `remove` (not
 * possible under the VMM jail, which allows no unlink). NULL is fine. */
void vs_api_close(vs_api_server *s, bool remove);

#endif
