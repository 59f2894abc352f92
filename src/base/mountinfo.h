/* /proc/<pid>/mountinfo, one parsed line at a time (fields unescaped). */
#ifndef VS_BASE_MOUNTINFO_H
#define VS_BASE_MOUNTINFO_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

typedef struct vs_mountinfo {
	int id, parent;
	unsigned major, minor;
	const char *root;       /* the mount's root within its filesystem */
	const char *mountpoint; /* relative to the reader's root */
	const char *fstype;
	const char *source;
	const char *super_opts;
} vs_mountinfo;

/* Calls fn for every mount in `path` (e.g. /proc/self/mountinfo) in file
 * order (parents before children); fn returns nonzero to stop, and that value
 * is returned. -1 with err when the file cannot be read. */
int vs_mountinfo_each(const char *path, int (*fn)(const vs_mountinfo *m, void *arg), void *arg, vs_err *err);

#endif
