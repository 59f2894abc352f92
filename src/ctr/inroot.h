/* Resolve (and create) paths inside the container rootfs without letting a
 * symlink in the image escape it: every lookup uses openat2(RESOLVE_IN_ROOT),
 * so "/etc/../../host" or a link to "/" stays inside the rootfs. Targets are
 * then used as /proc/self/fd/N, so the mount lands on exactly what was checked. */
#ifndef VS_CTR_INROOT_H
#define VS_CTR_INROOT_H

#include <stdbool.h>

#include "base/error.h"

/* O_PATH fd of rootfs/path, creating missing directories (0755) and, when
 * as_file, an empty file as the last component. */
int vs_inroot_mkpath(int rootfd, const char *path, bool as_file, vs_err *err);
/* O_PATH fd of rootfs/path if it exists; -1 with errno ENOENT otherwise. */
int vs_inroot_open(int rootfd, const char *path, int flags, vs_err *err);
/* "/proc/self/fd/N" for fd. */
const char *vs_fd_path(int fd, char buf[32]);

#endif
