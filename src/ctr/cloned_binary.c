/* CVE-2019-5736: run from a sealed view of /proc/self/exe (see the header),
 * so a container process that opens /proc/<runtime pid>/exe gets a file that
 * cannot be written rather than the host's vessel binary.
 *
 * The overlayfs view costs no copy: copying the 1.3 MiB binary into a memfd
 * and faulting in its fresh pages was about 1.3 ms of every `run` here
 * (bench/container-start). Switching to the view in place (self_image.c)
 * rather than re-executing it saves about 1.5 ms more. */
#include "ctr/cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mountinfo.h"
#include "ctr/self_image.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd explicitly */
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8 */
#endif
#ifndef SYS_statmount
#define SYS_statmount 457 /* Linux 6.8 */
#endif

#define CLONE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* The view's mount fd, kept after the switch until vs_sealed_settle(). */
static int view_mnt = -1;

void vs_sealed_settle(void)
{
	if (view_mnt >= 0)
		close(view_mnt);
	view_mnt = -1;
}

static int has_mount_id(const vs_mountinfo *m, void *arg)
{
	return (uint64_t)m->id == *(const uint64_t *)arg;
}

/* Whether the mount of fd is attached to our mount namespace: 1 yes, 0 no,
 * -1 cannot tell. statmount() looks mounts up in our namespace only; older
 * kernels get a scan of mountinfo. */
static int mount_attached(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID_UNIQUE)) {
		struct {
			uint32_t size, spare;
			uint64_t mnt_id, param;
		} req = {.size = 24, .mnt_id = sx.stx_mnt_id, .param = 0x1 /* STATMOUNT_SB_BASIC */};
		uint64_t buf[256];
		if (syscall(SYS_statmount, &req, buf, sizeof(buf), 0) == 0)
			return 1;
		if (errno == ENOENT)
			return 0;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return -1;
	return vs_mountinfo_each("/proc/self/mountinfo", has_mount_id, &sx.stx_mnt_id, NULL);
}

/* What fd is: a sealed memfd, or a file on a read-only overlayfs that no
 * mount namespace holds (ours, since only we can have made it: nobody can
 * reach it to remount it, and without an upper layer it has nowhere to
 * write anyway). A read-only mount in the tree does not count: it can be
 * remounted read-write while a container holds an O_PATH fd to the file. */
static vs_seal_kind fd_seal_kind(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC)
		return (sf.f_flags & ST_RDONLY) && mount_attached(fd) == 0 ? VS_SEAL_OVERLAY : VS_SEAL_NONE;
	int seals = fcntl(fd, F_GET_SEALS); /* EINVAL for ordinary files */
	return seals >= 0 && (seals & CLONE_SEALS) == CLONE_SEALS ? VS_SEAL_MEMFD : VS_SEAL_NONE;
}

vs_seal_kind vs_sealed_kind(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return VS_SEAL_NONE;
	vs_seal_kind k = fd_seal_kind(fd);
	close(fd);
	return k;
}

int vs_is_cloned_binary(void) { return vs_sealed_kind() != VS_SEAL_NONE; }

static int fs_set(int ctx, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, key, value, 0);
}

/* The kernel's own words on a failed fsconfig, if it left any, as
 * " (e overlayfs: ...)"; errno is kept for the caller. */
static const char *fs_log(int ctx, char *buf, size_t len)
{
	int e = errno;
	char msg[200];
	ssize_t n = read(ctx, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	msg[strcspn(msg, "\n")] = 0;
	if (n > 0)
		snprintf(buf, len, " (%s)", msg);
	else
		buf[0] = 0;
	errno = e;
	return buf;
}

/* Layers for a lower-only overlay: it needs two, and they must not nest. The
 * binary's directory is the top one; /dev is the second, under it (a file in
 * the top layer hides whatever the lower one has of that name). The classic
 * "lowerdir" string, not 6.7's "lowerdir+"/"datadir+": older kernels accept
 * those keys and refuse them only at create, with a dmesg line per run. */
static int overlay_layers(int ctx, const char *dir, vs_err *err)
{
	char spec[2 * PATH_MAX + 8], msg[256];
	size_t o = 0;
	for (const char *p = dir; *p && o < sizeof(spec) - 8; p++) {
		if (*p == ':' || *p == '\\')
			spec[o++] = '\\';
		spec[o++] = *p;
	}
	memcpy(spec + o, ":/dev", 6);
	if (fs_set(ctx, "lowerdir", spec) < 0)
		return vs_fail(err, errno, "overlayfs lowerdir=%s%s", spec, fs_log(ctx, msg, sizeof(msg)));
	return 0;
}

/* A detached read-only overlayfs mount over dir (an fd from fsmount). */
static int overlay_mount(const char *dir, vs_err *err)
{
	char msg[256];
	int ctx = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (ctx < 0)
		return vs_fail(err, errno, "fsopen overlay");
	if (overlay_layers(ctx, dir, err) < 0) {
		close(ctx);
		return -1;
	}
	fs_set(ctx, "xino", "off"); /* layers on two filesystems: spares dmesg a notice per run */
	if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		vs_fail(err, errno, "create an overlayfs over %s%s", dir, fs_log(ctx, msg, sizeof(msg)));
		close(ctx);
		return -1;
	}
	int mnt = (int)syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC,
			       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	int e = errno;
	close(ctx);
	if (mnt < 0)
		return vs_fail(err, e, "fsmount the overlayfs over %s", dir);
	return mnt;
}

/* A read-only fd of this binary through a new read-only overlayfs over its
 * directory, a mount that no namespace holds. */
static int overlay_view(vs_err *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return vs_fail(err, errno, "readlink /proc/self/exe");
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (exe[0] != '/' || !slash[1])
		return vs_fail(err, ENOENT, "/proc/self/exe is %s, not a file path", exe);
	*slash = 0;
	const char *dir = exe[0] ? exe : "/", *name = slash + 1;

	int mnt = overlay_mount(dir, err);
	if (mnt < 0)
		return -1;
	int fd = openat(mnt, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	/* The open file keeps the overlay alive, and nothing else does, but the
	 * close that dissolves the mount's anonymous namespace waits for an RCU
	 * grace period (0.3-0.6 ms here): kept for vs_sealed_settle(). */
	vs_sealed_settle();
	view_mnt = mnt;
	if (fd < 0) {
		vs_sealed_settle();
		return vs_fail(err, e, "open %s in the overlayfs over %s", name, dir);
	}
	/* The same file we run (not one renamed over it since: its pages are
	 * mapped over ours), and one that counts as sealed. Overlayfs reports
	 * a lower file's own inode number and times (xino=off). */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat("/proc/self/exe", &b) < 0 || !S_ISREG(a.st_mode) || a.st_ino != b.st_ino ||
	    a.st_size != b.st_size || a.st_mode != b.st_mode || a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
	    a.st_mtim.tv_nsec != b.st_mtim.tv_nsec || a.st_ctim.tv_sec != b.st_ctim.tv_sec ||
	    a.st_ctim.tv_nsec != b.st_ctim.tv_nsec || fd_seal_kind(fd) != VS_SEAL_OVERLAY) {
		close(fd);
		vs_sealed_settle();
		return vs_fail(err, ESTALE, "%s/%s through the overlayfs is not the running binary, sealed", dir, name);
	}
	return fd;
}

static int make_memfd(vs_err *err)
{
	/* MFD_EXEC keeps vm.memfd_noexec=1 from making the copy unexecutable;
	 * kernels before 6.3 reject the flag, so retry without it. */
	int fd = memfd_create("vessel-cloned", MFD_ALLOW_SEALING | MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("vessel-cloned", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "memfd_create for the cloned vessel binary");
	return fd;
}

/* A sealed memfd holding a copy of /proc/self/exe. */
static int memfd_copy(vs_err *err)
{
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return vs_fail(err, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0) {
		int e = errno;
		close(src);
		return vs_fail(err, e, "stat /proc/self/exe");
	}
	int dst = make_memfd(err);
	if (dst < 0) {
		close(src);
		return -1;
	}
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(dst, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO; /* 0: the file shrank under us */
			close(src), close(dst);
			return vs_fail(err, e, "copy /proc/self/exe into a memfd");
		}
	}
	close(src);
	if (fcntl(dst, F_ADD_SEALS, CLONE_SEALS) < 0) {
		int e = errno;
		close(dst);
		return vs_fail(err, e, "seal the cloned vessel binary");
	}
	return dst;
}

int vs_sealed_self_open(vs_seal_kind kind, vs_err *err)
{
	switch (kind) {
	case VS_SEAL_OVERLAY:
		return overlay_view(err);
	case VS_SEAL_MEMFD:
		return memfd_copy(err);
	default:
		return vs_fail(err, EINVAL, "sealed binary kind %d", (int)kind);
	}
}

/* Run from fd (the same bytes as the running image): switched in place if
 * this process may (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else executed.
 * Returns 0 when switched, -1 with *err when even the execve failed. */
static int run_from(int fd, char **argv, char **envp, vs_err *err)
{
	vs_err why = {0};
	if (vs_self_image_replace(fd, &why) == 0) {
		close(fd);
		return 0;
	}
	char buf[512];
	vs_debug("sealed binary: re-executing (%s)", vs_err_str(&why, buf, sizeof(buf)));
	/* The fd is close-on-exec: an ELF image is mapped before fds close. */
	syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
	int e = errno;
	close(fd);
	return vs_fail(err, e, "execute the sealed vessel binary");
}

int vs_ensure_cloned_binary(char **argv, char **envp, vs_err *err)
{
	if (vs_is_cloned_binary())
		return 0;
	if (!envp)
		envp = environ;
	vs_err why = {0};
	int fd = overlay_view(&why);
	if (fd >= 0 && run_from(fd, argv, envp, &why) == 0)
		return 0;
	vs_sealed_settle();
	char buf[512];
	vs_debug("sealed binary: no overlayfs view (%s), using a memfd copy", vs_err_str(&why, buf, sizeof(buf)));
	fd = memfd_copy(err);
	if (fd < 0)
		return -1;
	return run_from(fd, argv, envp, err);
}
