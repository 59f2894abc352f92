/* An instance's OCI bundle: config.json from the runtime's own default
 * spec (oci/spec_default.c, what `vessel spec` writes) adapted to the
 * instance: its command, no terminal, a writable overlay rootfs, its
 * hostname, cgroup and limits. */
#ifndef VSD_BUNDLE_H
#define VSD_BUNDLE_H

#include <json-c/json.h>

#include "base/error.h"
#include "platform/limits.h"

typedef struct vsd_bundle {
	const char *dir;             /* the bundle; rootfs is dir/rootfs */
	const char *hostname;
	struct json_object *command; /* array of strings */
	struct json_object *env;     /* array of "K=V" or NULL (the spec's default) */
	const char *cwd;             /* NULL = "/" */
	const char *cgroup;          /* linux.cgroupsPath */
	vsd_limits limits;
} vsd_bundle;

/* The config as JSON (caller puts it), NULL with err. */
struct json_object *vsd_bundle_config(const vsd_bundle *b, vs_err *err);
/* Write dir/config.json. */
int vsd_bundle_write(const vsd_bundle *b, vs_err *err);

#endif
