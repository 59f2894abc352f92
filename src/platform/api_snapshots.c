/* /1.0/instances/{name}/snapshots (GET list, POST create) and
 * /1.0/instances/{name}/snapshots/{snap} (GET, DELETE). Restore is
 * PUT /1.0/instances/{name} {"restore": snap} (api_config.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/name.h"
#include "platform/ops.h"
#include "platform/snapshot.h"

#define MAX_SNAPS 1000 /* per instance */

static struct json_object *list(vsd *d, vsd_req *r, const char *name)
{
	bool rec = r->recursion && atoi(r->recursion) >= 1;
	struct json_object *arr = json_object_new_array();
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM snapshots WHERE instance = ?1 ORDER BY created_at, name", 1, a, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *snap = (const char *)sqlite3_column_text(st, 0);
		char url[192];
		snprintf(url, sizeof(url), "/1.0/instances/%s/snapshots/%s", name, snap);
		struct json_object *o = rec ? vsd_snap_json(d, name, snap) : json_object_new_string(url);
		if (o)
			json_object_array_add(arr, o);
	}
	sqlite3_finalize(st);
	return vsd_env_sync(arr);
}

static int count(vsd *d, const char *name)
{
	char *n = NULL;
	const char *a[] = {name};
	vsd_db_text(d->db, "SELECT count(*) FROM snapshots WHERE instance = ?1", 1, a, &n, NULL);
	int c = n ? atoi(n) : 0;
	free(n);
	return c;
}

static struct json_object *submit(vsd *d, vsd_req *r, const char *name, const char *snap, const char *verb,
				  vsd_op_fn fn)
{
	vs_err err = {0};
	if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		return vsd_api_error(&err);
	}
	vsd_snap_arg *a = calloc(1, sizeof(*a));
	if (!a) {
		vsd_busy_drop(d, name);
		vs_fail(&err, ENOMEM, "snapshot %s/%s", name, snap);
		return vsd_api_error(&err);
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->snap, sizeof(a->snap), "%s", snap);
	char desc[192], res[192], url[64];
	snprintf(desc, sizeof(desc), "%s snapshot %s of instance %s", verb, snap, name);
	snprintf(res, sizeof(res), "/1.0/instances/%s/snapshots/%s", name, snap);
	struct json_object *op = vsd_op_submit(d, desc, "instances", res, a->name, fn, a, free, r->uid, url, &err);
	if (!op) {
		vsd_busy_drop(d, name);
		return vsd_api_error(&err);
	}
	return vsd_env_async(url, op);
}

static struct json_object *create(vsd *d, vsd_req *r, const char *name)
{
	static const char *const keys[] = {"name", "stateful", NULL};
	vs_err err = {0};
	struct json_object *body = NULL, *v;
	snprintf(r->summary, sizeof(r->summary), "snapshot instance %s", name);
	if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
		return vsd_api_error(&err);
	char snap[72] = "";
	struct json_object *sn = json_object_object_get(body, "name");
	if (json_object_object_get_ex(body, "stateful", &v) &&
	    (!json_object_is_type(v, json_type_boolean) || json_object_get_boolean(v)))
		vs_fail(&err, VS_EINVAL_CONFIG, "stateful: only stateless snapshots (false) are supported for containers");
	else if (sn && !json_object_is_type(sn, json_type_string))
		vs_fail(&err, VS_EINVAL_CONFIG, "name: expected a string");
	else if (sn && vsd_name_check(json_object_get_string(sn), "snapshot name", &err) == 0)
		snprintf(snap, sizeof(snap), "%s", json_object_get_string(sn));
	json_object_put(body);
	if (err.code)
		return vsd_api_error(&err);
	int have = count(d, name);
	if (have >= MAX_SNAPS) {
		vs_fail(&err, VS_EINVAL_CONFIG, "instance %s has %d snapshots already (the most there may be)", name, have);
		return vsd_api_error(&err);
	}
	/* No name: the first free snapN, as Incus names them. */
	for (int i = 0; !snap[0] && i <= MAX_SNAPS; i++) {
		char cand[16];
		snprintf(cand, sizeof(cand), "snap%d", i);
		if (!vsd_snap_exists(d, name, cand))
			memcpy(snap, cand, sizeof(cand));
	}
	if (vsd_snap_exists(d, name, snap)) {
		vs_fail(&err, EEXIST, "snapshot %s/%s already exists", name, snap);
		return vsd_api_error(&err);
	}
	snprintf(r->summary, sizeof(r->summary), "snapshot instance %s as %s", name, snap);
	return submit(d, r, name, snap, "Creating", vsd_snap_create_op);
}

struct json_object *vsd_api_snapshots(vsd *d, vsd_req *r, const char *name, char **seg, int n)
{
	vs_err err = {0};
	bool get = !strcmp(r->method, "GET");
	if (n == 0) {
		if (get)
			return list(d, r, name);
		return !strcmp(r->method, "POST") ? create(d, r, name) : vsd_env_error(405, "method not allowed");
	}
	if (n != 1)
		return vsd_env_error(404, "not found");
	const char *snap = seg[0];
	if (vsd_name_check(snap, "snapshot name", &err) < 0)
		return vsd_api_error(&err);
	struct json_object *o = vsd_snap_json(d, name, snap);
	if (!o) {
		vs_fail(&err, ENOENT, "snapshot %s/%s not found", name, snap);
		return vsd_api_error(&err);
	}
	if (get)
		return vsd_env_sync(o);
	json_object_put(o);
	if (!strcmp(r->method, "DELETE")) {
		snprintf(r->summary, sizeof(r->summary), "delete snapshot %s/%s", name, snap);
		return submit(d, r, name, snap, "Deleting", vsd_snap_delete_op);
	}
	return vsd_env_error(405, "method not allowed");
}
