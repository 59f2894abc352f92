/* Reading and writing cgroup control files, with errors that name the
 * config field that asked for the write. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/cgroup_internal.h"

int vs_cg_set(const char *dir, const char *file, const char *value, vs_err *err, const char *field_fmt, ...)
{
	char path[PATH_MAX];
	int fd, e = 0;
	if (vs_path_fmt(path, sizeof(path), NULL, "%s/%s", dir, file) < 0) {
		e = ENAMETOOLONG;
	} else if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		e = errno;
	} else {
		/* One write() call: the kernel parses each write as a whole value. */
		ssize_t w;
		do
			w = write(fd, value, strlen(value));
		while (w < 0 && errno == EINTR);
		if (w < 0)
			e = errno;
		close(fd);
	}
	if (!e)
		return 0;
	char field[256];
	va_list ap;
	va_start(ap, field_fmt);
	vsnprintf(field, sizeof(field), field_fmt, ap);
	va_end(ap);
	return vs_fail(err, e, "linux.resources.%s: write %s to %s", field, value, path);
}

int vs_cg_read(const char *dir, const char *file, char **out, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), err, "%s/%s", dir, file) < 0)
		return -1;
	return vs_read_file(path, out, NULL, err);
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (strncmp(s, "max", 3) == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	*out = v;
	return 0;
}

int vs_cg_read_u64(const char *dir, const char *file, uint64_t *out, vs_err *err)
{
	char *s;
	if (vs_cg_read(dir, file, &s, err) < 0)
		return -1;
	int rc = parse_u64(s, out);
	free(s);
	if (rc < 0)
		return vs_fail(err, EINVAL, "parse %s/%s", dir, file);
	return 0;
}

int vs_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out, vs_err *err)
{
	char *s;
	if (vs_cg_read(dir, file, &s, err) < 0)
		return -1;
	size_t kl = strlen(key);
	int rc = -1;
	for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
			rc = parse_u64(l + kl + 1, out);
			break;
		}
	}
	free(s);
	if (rc < 0)
		return vs_fail(err, ENOENT, "find \"%s\" in %s/%s", key, dir, file);
	return 0;
}

bool vs_cg_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];
	return vs_path_fmt(path, sizeof(path), NULL, "%s/%s", dir, file) == 0 && access(path, F_OK) == 0;
}
