/* Instances: rows in the database, a directory <root>/instances/<name>
 * (bundle: config.json, rootfs = overlayfs over the image's layers with
 * upper/ and work/ beside it, console.log), and while running a
 * container of the runtime with the same id. The work of each lifecycle
 * operation is here; the API layer validates and submits it. */
#ifndef VSD_INSTANCE_H
#define VSD_INSTANCE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "platform/vsd.h"

typedef struct vsd_inst_arg {
	char name[72];
	char action[16];  /* start stop restart freeze unfreeze */
	bool force;
	double timeout;   /* stop: seconds before SIGKILL; < 0 = default */
	bool policy;      /* started by the supervisor (restart policy, health), not a user */
} vsd_inst_arg;

/* Operation bodies (vsd_op_fn); arg is a vsd_inst_arg. */
int vsd_inst_create_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);
int vsd_inst_state_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);
int vsd_inst_delete_op(vsd *d, void *arg, struct json_object **meta, vs_err *err);

/* Mount the instance's rootfs (overlayfs: lower, its upper/ and work/)
 * unless it is mounted. lower as vsd_image_lower gives it. */
int vsd_inst_mount(vsd *d, const char *name, const char *lower, vs_err *err);

/* Incus status name and code from the runtime: Running 103, Stopped 102,
 * Frozen 110 (no lock needed). */
const char *vsd_inst_status(vsd *d, const char *name, int *code, int *pid);
/* The instance object (lock held); state adds Incus's /state fields. NULL if unknown. */
struct json_object *vsd_inst_json(vsd *d, const char *name, bool state);
/* The state object of /1.0/instances/{name}/state (lock held). */
struct json_object *vsd_inst_state_json(vsd *d, const char *name);

/* At start: finish or undo what a killed vesseld left (rows still
 * "creating" or "deleting" are removed with everything they made) and
 * re-adopt the rest; returns how many instances were adopted. */
int vsd_inst_recover(vsd *d, int *running);

#endif
