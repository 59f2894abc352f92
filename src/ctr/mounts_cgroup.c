#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mountinfo.h"
#include "ctr/cgroup.h"
#include "ctr/inroot.h"
#include "ctr/mounts.h"

/* Host cgroup mount points under /sys/fs/cgroup, read from mountinfo. */
typedef struct {
	char mnt[256];
	bool v2;
} host_hier;

typedef struct {
	host_hier *h;
	int n, max;
} hier_list;

static int add_hier(const vs_mountinfo *m, void *arg)
{
	hier_list *l = arg;
	bool v2 = !strcmp(m->fstype, "cgroup2");
	if ((!v2 && strcmp(m->fstype, "cgroup")) || strncmp(m->mountpoint, "/sys/fs/cgroup", 14) ||
	    strlen(m->mountpoint) >= sizeof(l->h[0].mnt))
		return 0;
	snprintf(l->h[l->n].mnt, sizeof(l->h[l->n].mnt), "%s", m->mountpoint);
	l->h[l->n].v2 = v2;
	return ++l->n < l->max ? 0 : 1;
}

static int host_hierarchies(host_hier *out, int max, vs_err *err)
{
	hier_list l = {out, 0, max};
	if (vs_mountinfo_each("/proc/self/mountinfo", add_hier, &l, err) < 0)
		return -1;
	return l.n;
}

int vs_mount_cgroup(const vs_mount_ctx *ctx, const vs_mount *m, int target_fd, vs_err *err)
{
	char target[32];
	vs_fd_path(target_fd, target);
	unsigned long ro = m->flags & MS_RDONLY;
	unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	host_hier h[32];
	/* The runtime's own list if it has one: mountinfo, read again in here
	 * (a copy of the host's mounts and the rootfs's so far), cost 0.1 ms. */
	int n = 0;
	const char *mnt;
	bool v2;
	for (size_t i = 0; ctx->cg && n < 32 && (mnt = vs_cgroup_mount_at(ctx->cg, i, &v2)); i++) {
		if (strncmp(mnt, "/sys/fs/cgroup", 14) || strlen(mnt) >= sizeof(h[0].mnt))
			continue;
		snprintf(h[n].mnt, sizeof(h[n].mnt), "%s", mnt);
		h[n++].v2 = v2;
	}
	if (!ctx->cg && (n = host_hierarchies(h, 32, err)) < 0)
		return -1;
	const char *cg = ctx->cgroup_path ? ctx->cgroup_path : "/";

	/* Pure v2 host: one cgroup2 mount (its root is the cgroupns root). */
	if (n == 1 && h[0].v2 && !strcmp(h[0].mnt, "/sys/fs/cgroup")) {
		if (ctx->new_cgroupns) {
			if (mount("cgroup2", target, "cgroup2", base | ro, NULL) < 0)
				return vs_fail(err, errno, "mount cgroup2 on %s", m->destination);
			return 0;
		}
		char src[4096];
		snprintf(src, sizeof(src), "/sys/fs/cgroup%s", cg);
		if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    (ro && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | base, NULL) < 0))
			return vs_fail(err, errno, "bind mount %s on %s", src, m->destination);
		return 0;
	}

	/* v1 / hybrid: a tmpfs holding one directory per hierarchy, each a bind
	 * mount of the container's own cgroup in that hierarchy. */
	if (mount("tmpfs", target, "tmpfs", base, "mode=755") < 0)
		return vs_fail(err, errno, "mount tmpfs for cgroups on %s", m->destination);
	/* target_fd still names the directory under the new tmpfs: look it up again. */
	int dirfd = vs_inroot_open(ctx->rootfd, m->destination, O_PATH | O_DIRECTORY, NULL);
	if (dirfd < 0)
		return vs_fail(err, errno, "open %s", m->destination);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		if (!strcmp(h[i].mnt, "/sys/fs/cgroup"))
			continue;
		const char *name = h[i].mnt + strlen("/sys/fs/cgroup/");
		char src[4096];
		if ((rc = vs_path_fmt(src, sizeof(src), err, "%s%s", h[i].mnt, cg)) < 0)
			break;
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
			rc = vs_fail(err, errno, "mkdir %s/%s", m->destination, name);
			break;
		}
		char dst[4096], dirpath[32];
		if ((rc = vs_path_fmt(dst, sizeof(dst), err, "%s/%s", vs_fd_path(dirfd, dirpath), name)) < 0)
			break;
		int b = mount(src, dst, NULL, MS_BIND | MS_REC, NULL);
		if (b < 0 && errno == ENOENT) /* not created there: show the root */
			b = mount(h[i].mnt, dst, NULL, MS_BIND | MS_REC, NULL);
		if (b < 0 || mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | base | ro, NULL) < 0)
			rc = vs_fail(err, errno, "bind mount %s on %s/%s", src, m->destination, name);
	}
	char dirpath[32];
	if (rc == 0 && ro && mount(NULL, vs_fd_path(dirfd, dirpath), NULL, MS_REMOUNT | MS_RDONLY | base, "mode=755") < 0)
		rc = vs_fail(err, errno, "remount %s read-only", m->destination);
	close(dirfd);
	return rc;
}
