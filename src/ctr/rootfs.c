#include "ctr/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctr/devices.h"
#include "ctr/inroot.h"
#include "ctr/mounts.h"

int vs_rootfs_prepare(const vs_rootfs_opts *o, vs_err *err)
{
	const vs_config *cfg = o->cfg;
	const char *rootfs = cfg->root_path;
	/* Nothing we mount may propagate back to the host: default rslave, as runc. */
	unsigned long prop = cfg->linux_.rootfs_propagation ? cfg->linux_.rootfs_propagation : MS_SLAVE | MS_REC;
	if (prop & MS_SHARED)
		prop = MS_SLAVE | MS_REC; /* made shared again in finalize, once the mounts are in place */
	if (!o->shared_mntns && mount(NULL, "/", NULL, prop, NULL) < 0)
		return vs_fail(err, errno, "make / %s", (prop & MS_PRIVATE) ? "rprivate" : "rslave");
	/* pivot_root needs the new root to be a mount point; in a shared
	 * namespace it is the one mount delete has to detach. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_fail(err, errno, "bind mount rootfs %s", rootfs);
	int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vs_fail(err, errno, "open rootfs %s", rootfs);
	vs_mount_ctx ctx = {.rootfd = rootfd,
			    .rootfs = rootfs,
			    .cgroup_path = o->cgroup_path,
			    .cg = o->cg,
			    .new_cgroupns = o->new_cgroupns,
			    .in_userns = o->in_userns};
	int rc = 0;
	for (size_t i = 0; i < cfg->n_mounts && rc == 0; i++)
		rc = vs_mount_one(&ctx, &cfg->mounts[i], err);
	if (rc == 0)
		rc = vs_devices_setup(rootfd, cfg, o->in_userns, err);
	close(rootfd);
	return rc;
}

static int pivot(const char *rootfs, vs_err *err)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int rc = -1;
	if (oldroot < 0 || newroot < 0) {
		vs_fail(err, errno, "open / or %s", rootfs);
		goto out;
	}
	/* pivot_root(".", ".") stacks the old root on top of the new one; detaching
	 * it then leaves only the container's root, with no directory to create. */
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		vs_fail(err, errno, "pivot_root into %s", rootfs);
		goto out;
	}
	if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0) {
		vs_fail(err, errno, "detach the old root");
		goto out;
	}
	rc = chdir("/") < 0 ? vs_fail(err, errno, "chdir /") : 0;
out:
	if (oldroot >= 0)
		close(oldroot);
	if (newroot >= 0)
		close(newroot);
	return rc;
}

static int move_root(const char *rootfs, vs_err *err)
{
	if (chdir(rootfs) < 0)
		return vs_fail(err, errno, "chdir %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return vs_fail(err, errno, "move %s to /", rootfs);
	if (chroot(".") < 0 || chdir("/") < 0)
		return vs_fail(err, errno, "chroot %s", rootfs);
	return 0;
}

static int chroot_root(const char *rootfs, vs_err *err)
{
	if (chdir(rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return vs_fail(err, errno, "chroot %s", rootfs);
	return 0;
}

int vs_rootfs_enter(const vs_rootfs_opts *o, vs_err *err)
{
	if (o->joined_mntns)
		return strcmp(o->cfg->root_path, "/") ? chroot_root(o->cfg->root_path, err) : 0;
	if (o->shared_mntns)
		return chroot_root(o->cfg->root_path, err);
	return o->no_pivot ? move_root(o->cfg->root_path, err) : pivot(o->cfg->root_path, err);
}

static int mask_path(const char *path, vs_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0; /* nothing to hide */
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
			return vs_fail(err, errno, "mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return vs_fail(err, errno, "mask %s", path);
	}
	return 0;
}

static int readonly_path(const char *path, vs_err *err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return vs_fail(err, errno, "bind %s read-only", path);
	}
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return vs_fail(err, errno, "remount %s read-only", path);
	return 0;
}

int vs_rootfs_finalize(const vs_rootfs_opts *o, vs_err *err)
{
	const vs_linux *lx = &o->cfg->linux_;
	for (size_t i = 0; i < lx->n_readonly_paths; i++)
		if (readonly_path(lx->readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; i < lx->n_masked_paths; i++)
		if (mask_path(lx->masked_paths[i], err) < 0)
			return -1;
	if (o->cfg->root_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0 &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return vs_fail(err, errno, "remount the root read-only");
	if (!o->shared_mntns && (lx->rootfs_propagation & MS_SHARED) &&
	    mount(NULL, "/", NULL, lx->rootfs_propagation, NULL) < 0)
		return vs_fail(err, errno, "make the root shared");
	return 0;
}
