/* The container's filesystem view:
 *   vs_rootfs_prepare  — propagation, rootfs bind, config mounts, /dev  (before hooks)
 *   vs_rootfs_enter    — pivot_root (or MS_MOVE + chroot with --no-pivot)
 *   vs_rootfs_finalize — masked and read-only paths, read-only root, propagation
 * In the runtime's mount namespace (no mount namespace in config.json: it is
 * inherited) the same mounts are made under a bind mount of root.path onto
 * itself, entered with chroot: pivot_root or a change of propagation would
 * change the namespace for everyone in it. vs_rootfs_release detaches that
 * bind mount, and with it every mount of the container, at delete.
 * A mount namespace joined by path belongs to whoever made it: the container
 * only chroots to root.path as seen there (vs_rootfs_enter); it mounts
 * nothing in it, so there is nothing to release. */
#ifndef VS_CTR_ROOTFS_H
#define VS_CTR_ROOTFS_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/config.h"

typedef struct vs_rootfs_opts {
	const vs_config *cfg;
	const char *cgroup_path;
	const struct vs_cgroup *cg; /* may be NULL: "cgroup" mounts then read mountinfo */
	bool in_userns;
	bool new_cgroupns;
	bool no_pivot;
	bool shared_mntns; /* the runtime's mount namespace, inherited */
	bool joined_mntns; /* a mount namespace joined by path */
} vs_rootfs_opts;

int vs_rootfs_prepare(const vs_rootfs_opts *o, vs_err *err);
int vs_rootfs_enter(const vs_rootfs_opts *o, vs_err *err);
int vs_rootfs_finalize(const vs_rootfs_opts *o, vs_err *err);
/* Undo a shared-namespace rootfs (see above) for a container of this config.
 * Touches nothing unless the top mount on root.path is our bind of it. */
int vs_rootfs_release(const vs_config *cfg, vs_err *err);

#endif
