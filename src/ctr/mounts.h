/* config.json "mounts": each one placed inside the rootfs (before pivot_root). */
#ifndef VS_CTR_MOUNTS_H
#define VS_CTR_MOUNTS_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/config.h"

typedef struct vs_mount_ctx {
	int rootfd;              /* O_PATH fd of the rootfs */
	const char *rootfs;      /* its path (for messages) */
	const char *cgroup_path; /* the container's cgroup, for "cgroup" mounts */
	const struct vs_cgroup *cg; /* its hierarchies, as the runtime found them (or NULL) */
	bool new_cgroupns;
	bool in_userns;          /* mknod not allowed: bind host devices instead */
} vs_mount_ctx;

int vs_mount_one(const vs_mount_ctx *ctx, const vs_mount *m, vs_err *err);
/* A "cgroup" mount: cgroup2 on v2 hosts, else a tmpfs with one bind mount per
 * v1 hierarchy showing the container's own cgroup. */
int vs_mount_cgroup(const vs_mount_ctx *ctx, const vs_mount *m, int target_fd, vs_err *err);

#endif
