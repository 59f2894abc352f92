#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read fd to EOF into a NUL-terminated buffer; past max bytes (0: no cap)
 * it stops and fails, so even an endless source costs at most ~2*max. */
static int read_all(int fd, const char *name, size_t max, char **out, size_t *len, vs_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return vs_fail(err, ENOMEM, "read %s", name);
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return vs_fail(err, ENOMEM, "read %s", name);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return vs_fail(err, e, "read %s", name);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (max && n > max) {
			free(buf);
			return vs_fail(err, EFBIG, "read %s: larger than %zu bytes", name, max);
		}
	}
	buf[n] = 0;
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int vs_read_file(const char *path, char **out, size_t *len, vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	int rc = read_all(fd, path, 0, out, len, err);
	close(fd);
	return rc;
}

int vs_read_fd(int fd, const char *name, size_t max, char **out, size_t *len, vs_err *err)
{
	return read_all(fd, name, max, out, len, err);
}

static int not_regular(const char *path, mode_t m, vs_err *err)
{
	const char *kind = S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
			   : S_ISDIR(m) ? "a directory" : S_ISSOCK(m) ? "a socket" : "not a file";
	return vs_fail(err, VS_EINVAL_CONFIG, "read %s: not a regular file (%s)", path, kind);
}

int vs_read_regular(const char *path, size_t max, char **out, size_t *len, vs_err *err)
{
	struct stat st;
	/* stat before open: opening a FIFO or a device can block or act. */
	if (stat(path, &st) < 0)
		return vs_fail(err, errno, "open %s", path);
	if (!S_ISREG(st.st_mode))
		return not_regular(path, st.st_mode, err);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	/* Again on what was opened: the name may have been swapped meanwhile. */
	int rc;
	if (fstat(fd, &st) < 0)
		rc = vs_fail(err, errno, "stat %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = not_regular(path, st.st_mode, err);
	else if ((uint64_t)st.st_size > max)
		rc = vs_fail(err, EFBIG, "read %s: larger than %zu bytes", path, max);
	else
		rc = read_all(fd, path, max, out, len, err);
	close(fd);
	return rc;
}

int vs_path_fmt(char *buf, size_t len, vs_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return vs_fail(err, errno, "format path %s", fmt);
	if ((size_t)n >= len)
		return vs_fail(err, ENAMETOOLONG, "%.128s...: path of %d bytes, the limit is %zu", buf, n, len - 1);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int vs_write_file(const char *path, const void *data, size_t len, mode_t mode, vs_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	if (write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "write %s", path);
	}
	if (close(fd) < 0)
		return vs_fail(err, errno, "close %s", path);
	return 0;
}

int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, vs_err *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) >= (int)sizeof(tmp))
		return vs_fail(err, ENAMETOOLONG, "write %s", path);
	if (vs_write_file(tmp, data, len, mode, err) < 0)
		return -1;
	/* Swapped in rather than renamed over: ext4 (auto_da_alloc) starts
	 * writeback of a file renamed over another, and removing the state dir
	 * later waits for that I/O, 1-2 ms of every `run` here. The swap is
	 * just as atomic for readers; the old copy left at tmp goes. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0) { /* the first write, or no RENAME_EXCHANGE here */
		int e = errno;
		unlink(tmp);
		return vs_fail(err, e, "rename %s to %s", tmp, path);
	}
	return 0;
}

int vs_mkdir_p(const char *path, mode_t mode, vs_err *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return vs_fail(err, ENAMETOOLONG, "mkdir %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return vs_fail(err, errno, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return vs_fail(err, errno, "mkdir %s", buf);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

int vs_rmtree(const char *path, vs_err *err)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return vs_fail(err, errno, "remove %s", path);
	return 0;
}

int vs_write_str(const char *path, const char *s, vs_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	if (write_all(fd, s, strlen(s)) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "write '%s' to %s", s, path);
	}
	close(fd);
	return 0;
}
