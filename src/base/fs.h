/* Small, safe file helpers. */
#ifndef VS_FS_H
#define VS_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Read a whole file (NUL-terminated, len excludes the NUL). For kernel
 * files (cgroup, proc) whose size stat cannot tell; files a user names go
 * through vs_read_regular. */
int vs_read_file(const char *path, char **out, size_t *len, vs_err *err);

/* Cap on config.json, process.json, resources and state.json: far above any
 * real one, small enough that a runaway file cannot balloon the runtime. */
#define VS_CONFIG_MAX ((size_t)4 << 20)
/* Read a regular file of at most max bytes. A FIFO, device or directory is
 * refused without blocking ("...: not a regular file"), as is a file larger
 * than max, also one that grows while being read. */
int vs_read_regular(const char *path, size_t max, char **out, size_t *len, vs_err *err);
/* Read an already open fd (stdin, a pipe) to EOF, refusing more than max
 * bytes; name is for messages. */
int vs_read_fd(int fd, const char *name, size_t max, char **out, size_t *len, vs_err *err);

/* snprintf for paths: -1 with ENAMETOOLONG naming the path when the result
 * does not fit in len, so a long path is refused instead of truncated. */
int vs_path_fmt(char *buf, size_t len, vs_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Write data to path (O_TRUNC). */
int vs_write_file(const char *path, const void *data, size_t len, mode_t mode, vs_err *err);
/* Write atomically: tmp file in the same dir, then swapped in (fsync-less). */
int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, vs_err *err);
/* mkdir -p. */
int vs_mkdir_p(const char *path, mode_t mode, vs_err *err);
/* rm -rf of a directory tree that does not cross mount points. */
int vs_rmtree(const char *path, vs_err *err);
/* Write a short string to a (cgroup/proc/sys) file. */
int vs_write_str(const char *path, const char *s, vs_err *err);

#endif
