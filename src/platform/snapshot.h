/* Stateless snapshots of container instances: a copy (reflinked where the
 * filesystem can) of the instance's overlay upper dir, taken while the
 * instance is frozen, in <root>/instances/<name>/snapshots/<snap>, and a
 * row in the snapshots table with the instance's config at that moment.
 * Restore stops a running instance, swaps a copy of the snapshot in as its
 * upper dir (renameat2 RENAME_EXCHANGE: the instance always has one whole
 * upper dir, the old or the new), puts the snapshot's config back and
 * starts it again. The work of each operation is here; api_snapshots.c and
 * api_config.c validate and submit it. */
#ifndef VSD_SNAPSHOT_H
#define VSD_SNAPSHOT_H

#include <json-c/json.h>

#include "platform/vsd.h"

typedef struct vsd_snap_arg {
	char name[72]; /* the instance */
	char snap[72];
} vsd_snap_arg;

/* Operation bodies (vsd_op_fn); arg is a vsd_snap_arg. */
int vsd_snap_create_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);
int vsd_snap_delete_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);
int vsd_snap_restore_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);

/* The snapshot object (lock held); NULL if there is none. */
struct json_object *vsd_snap_json(vsd *d, const char *name, const char *snap);
/* At start (after vsd_inst_recover): remove what cut snapshot operations
 * left on disk: .tmp-* copies, copies no row names, upper.restore. */
void vsd_snap_recover(vsd *d);
/* Whether the snapshot exists (lock held). */
bool vsd_snap_exists(vsd *d, const char *name, const char *snap);

#endif
