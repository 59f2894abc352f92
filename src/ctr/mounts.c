#include "ctr/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctr/inroot.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* Flags a bind remount must keep, or the kernel refuses it (locked mounts in a user ns). */
static unsigned long locked_flags(const char *target)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(target, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

/* After a mount, an fd taken before it still names the directory underneath:
 * look the destination up again to reach the new mount. */
static int reopen_mounted(const vs_mount_ctx *ctx, const vs_mount *m, int *fd, char target[32], vs_err *err)
{
	int nfd = vs_inroot_open(ctx->rootfd, m->destination, O_PATH, err);
	if (nfd < 0)
		return vs_wrap(err, "mount %s", m->destination);
	close(*fd);
	*fd = nfd;
	vs_fd_path(nfd, target);
	return 0;
}

/* Options of a bind mount beyond MS_BIND/MS_REC need a remount to apply. */
static unsigned long bind_extra_flags(const vs_mount *m)
{
	return m->is_bind ? m->flags & ~(PROPAGATION_FLAGS | MS_REMOUNT | MS_BIND | MS_REC) : 0;
}

static bool source_is_dir(const char *src)
{
	struct stat st;
	return stat(src, &st) < 0 || S_ISDIR(st.st_mode);
}

int vs_mount_one(const vs_mount_ctx *ctx, const vs_mount *m, vs_err *err)
{
	bool is_cgroup = m->type && (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"));
	bool as_file = m->is_bind && m->source && !source_is_dir(m->source);
	int fd = vs_inroot_mkpath(ctx->rootfd, m->destination, as_file, err);
	if (fd < 0)
		return vs_wrap(err, "mount %s", m->destination);
	char target[32];
	vs_fd_path(fd, target);
	int rc = 0;
	if (is_cgroup) {
		rc = vs_mount_cgroup(ctx, m, fd, err);
	} else if (m->is_bind) {
		if (!m->source)
			rc = vs_fail(err, EINVAL, "bind mount on %s: no source", m->destination);
		else if (mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			rc = vs_fail(err, errno, "bind mount %s on %s", m->source, m->destination);
	} else {
		unsigned long flags = m->flags & ~(PROPAGATION_FLAGS | MS_REC);
		if (mount(m->source ? m->source : m->type, target, m->type, flags, m->data) < 0)
			rc = vs_fail(err, errno, "mount %s (%s) on %s%s", m->source ? m->source : "none",
				     m->type ? m->type : "?", ctx->rootfs, m->destination);
	}
	unsigned long extra = bind_extra_flags(m);
	/* The steps below act on the new mount, not on the directory under it. */
	if (rc == 0 && (extra || m->propagation || m->attr_set || m->attr_clr))
		rc = reopen_mounted(ctx, m, &fd, target, err);
	if (rc == 0 && extra &&
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | extra | locked_flags(target), NULL) < 0)
		rc = vs_fail(err, errno, "remount %s with its options", m->destination);
	if (rc == 0 && m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
		rc = vs_fail(err, errno, "set propagation of %s", m->destination);
	if (rc == 0 && (m->attr_set || m->attr_clr)) {
		struct mount_attr attr = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			rc = vs_fail(err, errno, "set recursive mount options on %s", m->destination);
	}
	close(fd);
	return rc;
}
