/* Small, safe file helpers. */
#ifndef VS_FS_H
#define VS_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Read a whole file (NUL-terminated, len excludes the NUL). */
int vs_read_file(const char *path, char **out, size_t *len, vs_err *err);
/* Write data to path (O_TRUNC). */
int vs_write_file(const char *path, const void *data, size_t len, mode_t mode, vs_err *err);
/* Write atomically: tmp file in the same dir + fsync-less rename. */
int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, vs_err *err);
/* mkdir -p. */
int vs_mkdir_p(const char *path, mode_t mode, vs_err *err);
/* rm -rf of a directory tree that does not cross mount points. */
int vs_rmtree(const char *path, vs_err *err);
/* Write a short string to a (cgroup/proc/sys) file. */
int vs_write_str(const char *path, const char *s, vs_err *err);

#endif
