/* Delete's half of a container whose mount namespace is not its own: find
 * the bind mount of root.path onto itself that create made, and detach it
 * (MNT_DETACH takes every mount below it along). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/mountinfo.h"
#include "ctr/rootfs.h"

typedef struct {
	const char *rootfs;
	int n, cap;
	vs_mountinfo *m; /* copies: id, parent, dev, and the two paths */
	char **paths;
} mounts;

static int collect(const vs_mountinfo *m, void *arg)
{
	mounts *ms = arg;
	if (ms->n == ms->cap) {
		ms->cap = ms->cap ? ms->cap * 2 : 64;
		vs_mountinfo *nm = realloc(ms->m, (size_t)ms->cap * sizeof(*nm));
		char **np = realloc(ms->paths, (size_t)ms->cap * 2 * sizeof(char *));
		if (nm)
			ms->m = nm;
		if (np)
			ms->paths = np;
		if (!nm || !np)
			return ENOMEM;
	}
	vs_mountinfo *c = &ms->m[ms->n];
	*c = *m;
	ms->paths[2 * ms->n] = strdup(m->root);
	ms->paths[2 * ms->n + 1] = strdup(m->mountpoint);
	c->root = ms->paths[2 * ms->n];
	c->mountpoint = ms->paths[2 * ms->n + 1];
	c->fstype = c->source = c->super_opts = NULL;
	ms->n++;
	return c->root && c->mountpoint ? 0 : ENOMEM;
}

/* Is m a bind of its own mount point, i.e. of the directory its parent
 * shows there? Same device, and a root that is the parent's root plus the
 * path from the parent's mount point down to m's. */
static bool is_self_bind(const vs_mountinfo *m, const vs_mountinfo *parent)
{
	if (m->major != parent->major || m->minor != parent->minor)
		return false;
	size_t pl = strcmp(parent->mountpoint, "/") ? strlen(parent->mountpoint) : 0;
	if (strncmp(m->mountpoint, parent->mountpoint, pl) != 0)
		return false;
	const char *rel = m->mountpoint + pl; /* "" or "/a/b" */
	if (*rel && *rel != '/')
		return false;
	size_t rl = strcmp(parent->root, "/") ? strlen(parent->root) : 0;
	if (strncmp(m->root, parent->root, rl) != 0)
		return false;
	const char *tail = m->root + rl;
	return !strcmp(tail, rel) || (!*rel && !strcmp(tail, "/"));
}

static int release_here(const char *root_path, vs_err *err)
{
	char rootfs[PATH_MAX];
	if (!realpath(root_path, rootfs))
		return errno == ENOENT ? 0 : vs_fail(err, errno, "resolve root.path %s", root_path);
	mounts ms = {.rootfs = rootfs};
	int rc = vs_mountinfo_each("/proc/self/mountinfo", collect, &ms, err);
	if (rc > 0)
		rc = vs_fail(err, rc, "read /proc/self/mountinfo");
	const vs_mountinfo *top = NULL, *parent = NULL;
	for (int i = 0; rc == 0 && i < ms.n; i++)
		if (!strcmp(ms.m[i].mountpoint, rootfs))
			top = &ms.m[i]; /* the last one stacked there */
	for (int i = 0; top && i < ms.n; i++)
		if (ms.m[i].id == top->parent)
			parent = &ms.m[i];
	if (top && parent && is_self_bind(top, parent) && umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL)
		rc = vs_fail(err, errno, "detach the container's mounts on %s", rootfs);
	for (int i = 0; i < 2 * ms.n; i++)
		free(ms.paths[i]);
	free(ms.paths);
	free(ms.m);
	return rc;
}

int vs_rootfs_release(const vs_config *cfg, vs_err *err)
{
	if (cfg->linux_.ns[VS_NS_MNT].enabled)
		return 0; /* its own namespace went with its last process; a joined one got no mounts */
	return release_here(cfg->root_path, err);
}
