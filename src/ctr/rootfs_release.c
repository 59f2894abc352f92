/* Delete's half of a container whose mount namespace is not its own: find
 * the bind mount of root.path onto itself that create made, and detach it
 * (MNT_DETACH takes every mount below it along). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/mountinfo.h"
#include "ctr/rootfs.h"

/* One mount, copied out of the callback's line buffer. */
typedef struct {
	bool found;
	int id, parent;
	unsigned major, minor;
	char root[PATH_MAX], mountpoint[PATH_MAX];
} mount_copy;

static void copy_mount(mount_copy *c, const vs_mountinfo *m)
{
	c->found = true;
	c->id = m->id;
	c->parent = m->parent;
	c->major = m->major;
	c->minor = m->minor;
	snprintf(c->root, sizeof(c->root), "%s", m->root);
	snprintf(c->mountpoint, sizeof(c->mountpoint), "%s", m->mountpoint);
}

typedef struct {
	const char *mountpoint;
	mount_copy top;
} top_search;

/* The last mount on the path is the top of whatever is stacked there. */
static int find_top(const vs_mountinfo *m, void *arg)
{
	top_search *t = arg;
	if (!strcmp(m->mountpoint, t->mountpoint))
		copy_mount(&t->top, m);
	return 0;
}

typedef struct {
	int id;
	mount_copy parent;
} parent_search;

static int find_parent(const vs_mountinfo *m, void *arg)
{
	parent_search *p = arg;
	if (m->id != p->id)
		return 0;
	copy_mount(&p->parent, m);
	return 1;
}

/* Is m a bind of its own mount point, i.e. of the directory its parent
 * shows there? Same device, and a root that is the parent's root plus the
 * path from the parent's mount point down to m's. */
static bool is_self_bind(const mount_copy *m, const mount_copy *parent)
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
	static const char mountinfo[] = "/proc/self/mountinfo";
	top_search t = {.mountpoint = rootfs};
	if (vs_mountinfo_each(mountinfo, find_top, &t, err) < 0)
		return -1;
	if (!t.top.found)
		return 0;
	parent_search p = {.id = t.top.parent};
	if (vs_mountinfo_each(mountinfo, find_parent, &p, err) < 0)
		return -1;
	if (p.parent.found && is_self_bind(&t.top, &p.parent) && umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL)
		return vs_fail(err, errno, "detach the container's mounts on %s", rootfs);
	return 0;
}

int vs_rootfs_release(const vs_config *cfg, vs_err *err)
{
	if (cfg->linux_.ns[VS_NS_MNT].enabled)
		return 0; /* its own namespace went with its last process; a joined one got no mounts */
	return release_here(cfg->root_path, err);
}
