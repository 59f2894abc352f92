/* The container's filesystem view, in its own mount namespace:
 *   vs_rootfs_prepare  — propagation, rootfs bind, config mounts, /dev  (before hooks)
 *   vs_rootfs_enter    — pivot_root (or MS_MOVE + chroot with --no-pivot)
 *   vs_rootfs_finalize — masked and read-only paths, read-only root, propagation */
#ifndef VS_CTR_ROOTFS_H
#define VS_CTR_ROOTFS_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/config.h"

typedef struct vs_rootfs_opts {
	const vs_config *cfg;
	const char *cgroup_path;
	bool in_userns;
	bool new_cgroupns;
	bool no_pivot;
} vs_rootfs_opts;

int vs_rootfs_prepare(const vs_rootfs_opts *o, vs_err *err);
int vs_rootfs_enter(const vs_rootfs_opts *o, vs_err *err);
int vs_rootfs_finalize(const vs_rootfs_opts *o, vs_err *err);

#endif
