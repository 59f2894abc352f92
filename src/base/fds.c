#include "base/fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static bool kept(const int *keep, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/* Without close_range (Linux < 5.9) or when a filter denies it. */
static int walk_proc_fds(const int *keep, size_t n, int first, bool cloexec_only, vs_err *err)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return vs_fail(err, errno, "open /proc/self/fd");
	int self = dirfd(d), rc = 0;
	int *todo = NULL;
	size_t n_todo = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < first || fd == self || kept(keep, n, (int)fd))
			continue;
		if (n_todo == cap) {
			cap = cap ? cap * 2 : 64;
			int *t = realloc(todo, cap * sizeof(int));
			if (!t) {
				rc = vs_fail(err, ENOMEM, "list /proc/self/fd");
				break;
			}
			todo = t;
		}
		todo[n_todo++] = (int)fd;
	}
	closedir(d);
	for (size_t i = 0; rc == 0 && i < n_todo; i++) {
		if (!cloexec_only) {
			close(todo[i]);
			continue;
		}
		int fl = fcntl(todo[i], F_GETFD);
		if (fl >= 0 && fcntl(todo[i], F_SETFD, fl | FD_CLOEXEC) < 0)
			rc = vs_fail(err, errno, "mark fd %d close-on-exec", todo[i]);
	}
	free(todo);
	return rc;
}

int vs_fds_close_except(int below, const int *keep, size_t n, vs_err *err)
{
	int sorted[64];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i] >= below) {
			if (m == sizeof(sorted) / sizeof(sorted[0]))
				return vs_fail(err, E2BIG, "close inherited fds: %zu to keep", n);
			sorted[m++] = keep[i];
		}
	qsort(sorted, m, sizeof(int), cmp_int);
	unsigned lo = below > 0 ? (unsigned)below : 0;
	for (size_t i = 0; i <= m; i++) {
		unsigned hi = i < m ? (unsigned)sorted[i] : ~0U;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0)
			return walk_proc_fds(sorted, m, below, false, err);
		lo = hi + 1;
	}
	return 0;
}

int vs_fds_cloexec_from(int first, vs_err *err)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	return walk_proc_fds(NULL, 0, first, true, err);
}
