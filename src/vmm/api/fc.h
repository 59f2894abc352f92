/* Firecracker's API (its swagger spec, firecracker.yaml, is the contract)
 * over the engine's handle: the JSON bodies of boot-source, machine-config,
 * drives, network-interfaces, actions and vm, the routes, and the same
 * bodies as a --config-file. Errors answer 400 {"fault_message": ...}.
 * Vessel extension: boot-source "vessel_ring3": true boots
 * kernel_image_path as a ring-3 test guest (tests/guests). */
#ifndef VS_VMM_API_FC_H
#define VS_VMM_API_FC_H

#include <json-c/json.h>

#include "base/error.h"
#include "vmm/api/http.h"
#include "vmm/vmm.h"

typedef struct vs_fc_obs vs_fc_obs;

typedef struct vs_fc_info {
	const char *id;       /* instance id ("anonymous-instance") */
	const char *app_name; /* "vessel" */
	const char *version;  /* vmm_version */
	vs_fc_obs *obs;       /* logger, metrics, MMDS (obs.h); NULL: those answer 400 */
} vs_fc_info;

typedef struct vs_fc_reply {
	int status; /* 200, 204, 400 */
	char *body; /* malloc'd JSON, or NULL for none */
} vs_fc_reply;

/* Answer one parsed request. */
void vs_fc_handle(vs_vmm *m, const vs_fc_info *info, const vs_http_req *req, vs_fc_reply *out);

/* The bodies alone (also for unit tests): parse JSON text into engine
 * calls. path_id: the {id} of the URL, or NULL in a config file. */
int vs_fc_boot_source(vs_vmm *m, struct json_object *o, vs_err *err);
int vs_fc_machine_config(vs_vmm *m, struct json_object *o, bool patch, vs_err *err);
int vs_fc_drive(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err);
int vs_fc_net(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err);
/* vsock and balloon (fc_devices.c). */
int vs_fc_vsock(vs_vmm *m, struct json_object *o, vs_err *err);
int vs_fc_balloon(vs_vmm *m, struct json_object *o, vs_err *err);
int vs_fc_balloon_patch(vs_vmm *m, struct json_object *o, vs_err *err);
int vs_fc_balloon_stats_patch(vs_vmm *m, struct json_object *o, vs_err *err);
struct json_object *vs_fc_vsock_json(const vs_vmm_vsock *v);
struct json_object *vs_fc_balloon_json(const vs_vmm_balloon *b);
struct json_object *vs_fc_balloon_stats_json(const vs_vmm_balloon_stats *s);
/* Post-boot PATCH /drives/{id} (PartialDrive) and /network-interfaces/{id}. */
int vs_fc_drive_patch(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err);
int vs_fc_net_patch(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err);
/* PUT /snapshot/create (the VM paused) and /snapshot/load (before start):
 * the API thread opens the files and hands them to the engine. */
int vs_fc_snapshot_create(vs_vmm *m, struct json_object *o, vs_err *err);
int vs_fc_snapshot_load(vs_vmm *m, struct json_object *o, vs_err *err);
/* Vessel's extension (fc_migrate.c): PUT /migrate (a running VM, to
 * "destination"; st gets the statistics either way) and the statistics
 * as JSON (GET /migrate, and the answer of a completed PUT). */
int vs_fc_migrate(vs_vmm *m, struct json_object *o, vs_vmm_mig_stats *st, vs_err *err);
struct json_object *vs_fc_migrate_json(const vs_vmm_mig_stats *s);
/* A JSON object, and nothing after it. */
int vs_fc_parse_object(const char *buf, size_t len, struct json_object **out, vs_err *err);
/* MAC "aa:bb:cc:dd:ee:ff" -> 6 bytes. */
int vs_fc_parse_mac(const char *s, uint8_t mac[6]);

/* Firecracker's --config-file: boot-source, machine-config, drives,
 * network-interfaces, vsock, balloon (other sections are refused as not
 * supported). */
int vs_fc_config(vs_vmm *m, const char *json, size_t len, vs_err *err);
int vs_fc_config_file(vs_vmm *m, const char *path, vs_err *err);

#endif
