#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/inroot.h"
#include "ctr/mounts.h"

/* Host cgroup mount points under /sys/fs/cgroup, read from mountinfo. */
typedef struct {
	char mnt[256];
	bool v2;
} host_hier;

static int host_hierarchies(host_hier *out, int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096];
	int n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64];
		/* "id parent maj:min root mountpoint opts [optional...] - fstype source superopts" */
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		if (strncmp(mnt, "/sys/fs/cgroup", 14))
			continue;
		snprintf(out[n].mnt, sizeof(out[n].mnt), "%s", mnt);
		out[n].v2 = v2;
		n++;
	}
	fclose(f);
	return n;
}

int vs_mount_cgroup(const vs_mount_ctx *ctx, const vs_mount *m, int target_fd, vs_err *err)
{
	char target[32];
	vs_fd_path(target_fd, target);
	unsigned long ro = m->flags & MS_RDONLY;
	unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	host_hier h[32];
	int n = host_hierarchies(h, 32);
	if (n < 0)
		return vs_fail(err, errno, "read /proc/self/mountinfo");
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
		struct stat st;
		if (stat(src, &st) < 0 && (rc = vs_path_fmt(src, sizeof(src), err, "%s", h[i].mnt)) < 0)
			break; /* not created there: show the root */
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
			rc = vs_fail(err, errno, "mkdir %s/%s", m->destination, name);
			break;
		}
		char dst[4096], dirpath[32];
		if ((rc = vs_path_fmt(dst, sizeof(dst), err, "%s/%s", vs_fd_path(dirfd, dirpath), name)) < 0)
			break;
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | base | ro, NULL) < 0)
			rc = vs_fail(err, errno, "bind mount %s on %s/%s", src, m->destination, name);
	}
	char dirpath[32];
	if (rc == 0 && ro && mount(NULL, vs_fd_path(dirfd, dirpath), NULL, MS_REMOUNT | MS_RDONLY | base, "mode=755") < 0)
		rc = vs_fail(err, errno, "remount %s read-only", m->destination);
	close(dirfd);
	return rc;
}
