/* File descriptor hygiene for processes that are about to enter a container:
 * nothing of the host may stay open in them. */
#ifndef VS_BASE_FDS_H
#define VS_BASE_FDS_H

#include <stddef.h>

#include "base/error.h"

/* Close every fd except 0 .. below-1 and those in keep[] (unordered, -1
 * entries ignored). */
int vs_fds_close_except(int below, const int *keep, size_t n, vs_err *err);
/* Mark every fd >= first close-on-exec: close_range(CLOSE_RANGE_CLOEXEC),
 * or fcntl over /proc/self/fd on kernels without it. */
int vs_fds_cloexec_from(int first, vs_err *err);

#endif
