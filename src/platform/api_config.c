/* PUT|PATCH /1.0/instances/{name}: the instance's config (limits change
 * live through the runtime's `update`), restore from a snapshot, and the
 * ETag that guards both (If-Match, 412 on a mismatch, as Incus). PUT
 * replaces the config and is async (an operation, as Incus's); PATCH
 * merges keys into it ("" removes one) and answers at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/events.h"
#include "platform/instance.h"
#include "platform/limits.h"
#include "platform/name.h"
#include "platform/ops.h"
#include "platform/runtime.h"
#include "platform/sha256.h"
#include "platform/snapshot.h"

#define CPU_PERIOD 100000 /* as bundle.c writes it */

static struct json_object *load_config(vsd *d, const char *name)
{
	char *cfg = NULL;
	const char *a[] = {name};
	if (vsd_db_text(d->db, "SELECT config FROM instances WHERE name = ?1", 1, a, &cfg, NULL) < 0 || !cfg)
		return NULL;
	struct json_object *o = json_tokener_parse(cfg);
	free(cfg);
	return o && json_object_is_type(o, json_type_object) ? o : (json_object_put(o), json_object_new_object());
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int vsd_inst_etag(vsd *d, const char *name, char out[72])
{
	struct json_object *cfg = load_config(d, name);
	if (!cfg)
		return -1;
	/* Keys sorted, so the tag does not depend on the order they were stored in. */
	size_t n = (size_t)json_object_object_length(cfg), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	json_object_object_foreach(cfg, k, v)
	{
		(void)v;
		if (keys)
			keys[i++] = k;
	}
	if (keys)
		qsort(keys, n, sizeof(*keys), cmp_str);
	vsd_sha256 *h = vsd_sha256_new();
	vsd_sha256_update(h, "config", 7);
	for (i = 0; keys && i < n; i++) {
		const char *v = json_object_get_string(json_object_object_get(cfg, keys[i]));
		vsd_sha256_update(h, keys[i], strlen(keys[i]) + 1);
		vsd_sha256_update(h, v ? v : "", (v ? strlen(v) : 0) + 1);
	}
	vsd_sha256_final(h, out);
	free(keys);
	json_object_put(cfg);
	return 0;
}

/* If-Match as Incus reads it: an optional W/ and quotes around the tag. */
static bool etag_matches(vsd *d, const vsd_req *r, const char *name)
{
	if (!r->if_match || !*r->if_match)
		return true;
	const char *m = r->if_match;
	if (!strncmp(m, "W/", 2))
		m += 2;
	size_t len = strlen(m);
	if (len >= 2 && m[0] == '"' && m[len - 1] == '"')
		m++, len -= 2;
	char tag[72];
	return vsd_inst_etag(d, name, tag) == 0 && len == strlen(tag) && !strncmp(m, tag, len);
}

/* Make the instance's config new (lock held): the limits reach a running
 * instance's cgroup first, so a value the kernel refuses stores nothing. */
static int apply(vsd *d, const char *name, struct json_object *newcfg, vs_err *err)
{
	struct json_object *cur = load_config(d, name);
	vsd_limits old, lim;
	if (vsd_limits_parse(cur, &old, NULL) < 0)
		memset(&old, 0, sizeof(old));
	json_object_put(cur);
	if (vsd_limits_parse(newcfg, &lim, err) < 0)
		return -1;
	int code, pid;
	vsd_inst_status(d, name, &code, &pid);
	if (code != 102 && (old.memory != lim.memory || old.cpus != lim.cpus)) {
		char mem[24], quota[24], period[24];
		snprintf(mem, sizeof(mem), "%llu", (unsigned long long)lim.memory);
		snprintf(quota, sizeof(quota), "%llu", (unsigned long long)lim.cpus * CPU_PERIOD);
		snprintf(period, sizeof(period), "%d", CPU_PERIOD);
		const char *args[12] = {"update"};
		int n = 1;
		if (old.memory != lim.memory) {
			args[n++] = "--memory";
			args[n++] = lim.memory ? mem : "-1";
		}
		if (old.cpus != lim.cpus) {
			args[n++] = "--cpu-quota";
			args[n++] = lim.cpus ? quota : "-1";
			args[n++] = "--cpu-period";
			args[n++] = period;
		}
		args[n++] = name;
		args[n] = NULL;
		if (vsd_rt(d, NULL, NULL, err, args) < 0)
			return vs_wrap(err, "update instance %s", name);
	}
	const char *row[] = {name, json_object_to_json_string_ext(newcfg, JSON_C_TO_STRING_PLAIN)};
	if (vsd_db_do(d->db, "update instance config", err, "UPDATE instances SET config = ?2 WHERE name = ?1", 2, row) < 0)
		return -1;
	char src[128];
	snprintf(src, sizeof(src), "/1.0/instances/%s", name);
	vsd_event_lifecycle(d, "instance-updated", src);
	return 0;
}

typedef struct update_arg {
	char name[72];
	char *config; /* JSON */
} update_arg;

static void update_free(void *p)
{
	update_arg *a = p;
	free(a->config);
	free(a);
}

static int update_op(vsd *d, void *p, struct json_object **meta, vs_err *err)
{
	(void)meta;
	update_arg *a = p;
	struct json_object *cfg = json_tokener_parse(a->config);
	pthread_mutex_lock(&d->lock);
	int rc = apply(d, a->name, cfg, err);
	pthread_mutex_unlock(&d->lock);
	json_object_put(cfg);
	return rc;
}

/* The fields of Incus's InstancePut this vesseld has no choice in must
 * say what it does. */
static int check_fixed(struct json_object *b, vs_err *err)
{
	struct json_object *v;
	if (json_object_object_get_ex(b, "architecture", &v) &&
	    (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "x86_64")))
		return vs_fail(err, VS_EINVAL_CONFIG, "architecture: only \"x86_64\"");
	const char *flags[] = {"ephemeral", "stateful"};
	for (int i = 0; i < 2; i++)
		if (json_object_object_get_ex(b, flags[i], &v) &&
		    (!json_object_is_type(v, json_type_boolean) || json_object_get_boolean(v)))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: only false is supported", flags[i]);
	if (json_object_object_get_ex(b, "devices", &v) &&
	    (!json_object_is_type(v, json_type_object) || json_object_object_length(v)))
		return vs_fail(err, VS_EINVAL_CONFIG, "devices: only {} is supported");
	if (json_object_object_get_ex(b, "profiles", &v)) {
		size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 2;
		struct json_object *p0 = n == 1 ? json_object_array_get_idx(v, 0) : NULL;
		if (n > 1 || (p0 && (!json_object_is_type(p0, json_type_string) || strcmp(json_object_get_string(p0), "default"))))
			return vs_fail(err, VS_EINVAL_CONFIG, "profiles: only [] or [\"default\"]");
	}
	if (json_object_object_get_ex(b, "description", &v) &&
	    (!json_object_is_type(v, json_type_string) || *json_object_get_string(v)))
		return vs_fail(err, VS_EINVAL_CONFIG, "description: only \"\" (descriptions are not stored)");
	return 0;
}

/* The config a request asks for: PUT's replaces, PATCH's merges ("" removes
 * a key); volatile.* keys are the daemon's and are left out. */
static struct json_object *merged_config(vsd *d, const char *name, struct json_object *given, bool patch, vs_err *err)
{
	struct json_object *out = patch ? load_config(d, name) : json_object_new_object();
	if (!out)
		out = json_object_new_object();
	if (!given)
		return out;
	if (!json_object_is_type(given, json_type_object)) {
		json_object_put(out);
		vs_fail(err, VS_EINVAL_CONFIG, "config: expected an object");
		return NULL;
	}
	json_object_object_foreach(given, k, v)
	{
		if (!strncmp(k, "volatile.", 9))
			continue;
		if (!json_object_is_type(v, json_type_string)) {
			json_object_put(out);
			vs_fail(err, VS_EINVAL_CONFIG, "config.%.64s: expected a string", k);
			return NULL;
		}
		if (patch && !*json_object_get_string(v))
			json_object_object_del(out, k);
		else
			json_object_object_add(out, k, json_object_get(v));
	}
	vsd_limits lim;
	if (vsd_limits_parse(out, &lim, err) < 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

static struct json_object *restore(vsd *d, vsd_req *r, const char *name, struct json_object *v)
{
	vs_err err = {0};
	const char *snap = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	if (!snap) {
		vs_fail(&err, VS_EINVAL_CONFIG, "restore: expected a snapshot name");
		return vsd_api_error(&err);
	}
	if (vsd_name_check(snap, "restore: snapshot name", &err) < 0)
		return vsd_api_error(&err);
	snprintf(r->summary, sizeof(r->summary), "restore instance %s from snapshot %s", name, snap);
	if (!vsd_snap_exists(d, name, snap)) {
		vs_fail(&err, ENOENT, "snapshot %s/%s not found", name, snap);
		return vsd_api_error(&err);
	}
	if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		return vsd_api_error(&err);
	}
	vsd_snap_arg *a = calloc(1, sizeof(*a));
	if (!a) {
		vsd_busy_drop(d, name);
		vs_fail(&err, ENOMEM, "restore %s", name);
		return vsd_api_error(&err);
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->snap, sizeof(a->snap), "%s", snap);
	char desc[192], res[128], url[64];
	snprintf(desc, sizeof(desc), "Restoring instance %s from snapshot %s", name, snap);
	snprintf(res, sizeof(res), "/1.0/instances/%s", name);
	struct json_object *op = vsd_op_submit(d, desc, "instances", res, a->name, vsd_snap_restore_op, a, free, r->uid, url, &err);
	if (!op) {
		vsd_busy_drop(d, name);
		return vsd_api_error(&err);
	}
	return vsd_env_async(url, op);
}

struct json_object *vsd_api_inst_put(vsd *d, vsd_req *r, const char *name, bool patch)
{
	static const char *const keys[] = {"config", "description", "architecture", "devices", "ephemeral",
					   "profiles", "stateful", "restore", NULL};
	vs_err err = {0};
	struct json_object *body = NULL, *v;
	snprintf(r->summary, sizeof(r->summary), "%s instance %s", patch ? "patch" : "update", name);
	if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
		return vsd_api_error(&err);
	struct json_object *resp = NULL, *cfg = NULL;
	if (!etag_matches(d, r, name)) {
		resp = vsd_env_error(412, "ETag doesn't match: the instance changed since it was read");
	} else if (json_object_object_get_ex(body, "restore", &v) && !patch) {
		resp = restore(d, r, name, v); /* as Incus: the rest of the body is ignored */
	} else if (v && patch) {
		vs_fail(&err, VS_EINVAL_CONFIG, "restore: only with PUT");
		resp = vsd_api_error(&err);
	} else if (check_fixed(body, &err) < 0 ||
		   !(cfg = merged_config(d, name, json_object_object_get(body, "config"), patch, &err))) {
		resp = vsd_api_error(&err);
	} else if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		resp = vsd_api_error(&err);
	} else if (patch) {
		resp = apply(d, name, cfg, &err) < 0 ? vsd_api_error(&err) : vsd_env_sync(NULL);
		vsd_busy_drop(d, name);
		vsd_inst_etag(d, name, r->etag);
	} else {
		update_arg *a = calloc(1, sizeof(*a));
		char desc[128], res[128], url[64];
		if (a && !(a->config = strdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)))) {
			free(a);
			a = NULL;
		}
		struct json_object *op = NULL;
		if (a) {
			snprintf(a->name, sizeof(a->name), "%s", name);
			snprintf(desc, sizeof(desc), "Updating instance %s", name);
			snprintf(res, sizeof(res), "/1.0/instances/%s", name);
			op = vsd_op_submit(d, desc, "instances", res, a->name, update_op, a, update_free, r->uid, url, &err);
		} else {
			vs_fail(&err, ENOMEM, "update instance %s", name);
		}
		if (!op)
			vsd_busy_drop(d, name);
		resp = op ? vsd_env_async(url, op) : vsd_api_error(&err);
	}
	json_object_put(cfg);
	json_object_put(body);
	return resp;
}
