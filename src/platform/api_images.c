/* /1.0/images: import (a tarball as the body, or {source: {type: path,
 * path}} for a local client), list, get, delete; /1.0/images/aliases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/images.h"
#include "platform/name.h"
#include "platform/ops.h"
#include "platform/registry.h"

typedef struct import_arg {
	char file[PATH_MAX];
	char ref[1024];  /* a registry pull instead of a file */
	char alias[72];
	bool owned; /* an upload: removed when the op ends */
} import_arg;

static int import_op(vsd *d, void *p, struct json_object **meta, vs_err *err)
{
	import_arg *a = p;
	char fp[65];
	const char *alias = a->alias[0] ? a->alias : NULL;
	if (a->ref[0] ? vsd_image_pull(d, a->ref, alias, fp, err) < 0
		      : vsd_image_import(d, a->file, a->owned ? "upload" : a->file, alias, fp, err) < 0)
		return -1;
	*meta = json_object_new_object();
	json_object_object_add(*meta, "fingerprint", json_object_new_string(fp));
	return 0;
}

static void import_free(void *p)
{
	import_arg *a = p;
	if (a->owned)
		unlink(a->file);
	free(a);
}

static struct json_object *import(vsd *d, vsd_req *r)
{
	vs_err err = {0};
	import_arg *a = calloc(1, sizeof(*a));
	if (!a) {
		vs_fail(&err, ENOMEM, "import image");
		return vsd_api_error(&err);
	}
	struct json_object *body = NULL;
	const char *alias = r->alias;
	if (r->upload) {
		snprintf(a->file, sizeof(a->file), "%s", r->upload);
		a->owned = true;
	} else {
		static const char *const keys[] = {"source", "aliases", "public", "properties", NULL};
		static const char *const skeys[] = {"type", "path", "mode", "protocol", "server", "alias", NULL};
		struct json_object *src, *aliases;
		if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
			goto bad;
		src = json_object_object_get(body, "source");
		if (!src || !json_object_is_type(src, json_type_object)) {
			vs_fail(&err, VS_EINVAL_CONFIG, "source: required, {type: path, path: FILE} (or send the tarball as the body)");
			goto bad;
		}
		if (vsd_api_keys(src, "source", skeys, &err) < 0)
			goto bad;
		const char *type = json_object_get_string(json_object_object_get(src, "type"));
		const char *path = json_object_get_string(json_object_object_get(src, "path"));
		const char *server = json_object_get_string(json_object_object_get(src, "server"));
		const char *ralias = json_object_get_string(json_object_object_get(src, "alias"));
		const char *mode = json_object_get_string(json_object_object_get(src, "mode"));
		const char *proto = json_object_get_string(json_object_object_get(src, "protocol"));
		struct stat st;
		if (type && !strcmp(type, "image")) {
			/* Incus's pull: {type: image, mode: pull, protocol: oci, server, alias: repo:tag}. */
			if (!mode || strcmp(mode, "pull") || !proto || strcmp(proto, "oci") || !server || !ralias ||
			    path || snprintf(a->ref, sizeof(a->ref), "%s/%s", server, ralias) >= (int)sizeof(a->ref)) {
				vs_fail(&err, VS_EINVAL_CONFIG, "source: expected {type: image, mode: pull, protocol: oci, server: URL, alias: REPO[:TAG|@DIGEST]}");
				goto bad;
			}
			vsd_ref ref;
			if (vsd_ref_parse(a->ref, &ref, &err) < 0)
				goto bad;
		} else if (!type || strcmp(type, "path") || !path || path[0] != '/' || server || ralias || mode || proto) {
			vs_fail(&err, VS_EINVAL_CONFIG, "source: expected {type: path, path: an absolute file name}");
			goto bad;
		}
		if (!a->ref[0] && (stat(path, &st) < 0 || !S_ISREG(st.st_mode))) {
			vs_fail(&err, VS_EINVAL_CONFIG, "source.path %.200s: not a regular file", path);
			goto bad;
		}
		snprintf(a->file, sizeof(a->file), "%s", path ? path : "");
		aliases = json_object_object_get(body, "aliases");
		if (aliases) {
			struct json_object *a0 = json_object_is_type(aliases, json_type_array) && json_object_array_length(aliases) == 1
							 ? json_object_array_get_idx(aliases, 0) : NULL;
			static const char *const akeys[] = {"name", "description", NULL};
			if (!a0 || !json_object_is_type(a0, json_type_object) || vsd_api_keys(a0, "aliases[0]", akeys, &err) < 0 ||
			    !json_object_is_type(json_object_object_get(a0, "name"), json_type_string)) {
				if (!err.code)
					vs_fail(&err, VS_EINVAL_CONFIG, "aliases: expected [{name: NAME}]");
				goto bad;
			}
			alias = json_object_get_string(json_object_object_get(a0, "name"));
		}
	}
	if (alias && vsd_name_check(alias, "image alias", &err) < 0)
		goto bad;
	snprintf(a->alias, sizeof(a->alias), "%s", alias ? alias : "");
	snprintf(r->summary, sizeof(r->summary), "%s image%s%.64s from %.160s", a->ref[0] ? "pull" : "import",
		 alias ? " " : "", alias ? alias : "", r->upload ? "upload" : a->ref[0] ? a->ref : a->file);
	json_object_put(body);
	char url[64];
	struct json_object *op = vsd_op_submit_ex(d, a->ref[0] ? "Pulling image" : "Importing image", "images", "/1.0/images", NULL,
						  import_op, a, import_free, r->uid, true, url, &err);
	return op ? vsd_env_async(url, op) : vsd_api_error(&err);
bad:
	json_object_put(body);
	import_free(a);
	return vsd_api_error(&err);
}

static struct json_object *aliases(vsd *d, vsd_req *r, char **seg, int n)
{
	vs_err err = {0};
	if (strcmp(r->method, "GET"))
		return vsd_env_error(405, "method not allowed");
	if (n == 0) {
		struct json_object *arr = json_object_new_array();
		sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name, fingerprint FROM aliases ORDER BY name", 0, NULL, NULL);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
			json_object_object_add(o, "target", json_object_new_string((const char *)sqlite3_column_text(st, 1)));
			json_object_array_add(arr, o);
		}
		sqlite3_finalize(st);
		return vsd_env_sync(arr);
	}
	if (n != 1 || vsd_name_check(seg[0], "image alias", &err) < 0)
		return err.code ? vsd_api_error(&err) : vsd_env_error(404, "not found");
	char *fp = NULL;
	const char *a[] = {seg[0]};
	if (vsd_db_text(d->db, "SELECT fingerprint FROM aliases WHERE name = ?1", 1, a, &fp, &err) < 0)
		return vsd_api_error(&err);
	if (!fp) {
		vs_fail(&err, ENOENT, "image alias %s not found", seg[0]);
		return vsd_api_error(&err);
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(seg[0]));
	json_object_object_add(o, "target", json_object_new_string(fp));
	free(fp);
	return vsd_env_sync(o);
}

struct json_object *vsd_api_images(vsd *d, vsd_req *r, char **seg, int n)
{
	vs_err err = {0};
	bool get = !strcmp(r->method, "GET");
	if (n == 0) {
		if (!strcmp(r->method, "POST"))
			return import(d, r);
		if (!get)
			return vsd_env_error(405, "method not allowed");
		bool rec = r->recursion && atoi(r->recursion) >= 1;
		struct json_object *arr = json_object_new_array();
		sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT fingerprint FROM images ORDER BY created_at", 0, NULL, NULL);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			const char *fp = (const char *)sqlite3_column_text(st, 0);
			char url[128];
			snprintf(url, sizeof(url), "/1.0/images/%s", fp);
			struct json_object *o = rec ? vsd_image_json(d, fp) : json_object_new_string(url);
			if (o)
				json_object_array_add(arr, o);
		}
		sqlite3_finalize(st);
		return vsd_env_sync(arr);
	}
	if (!strcmp(seg[0], "aliases"))
		return aliases(d, r, seg + 1, n - 1);
	if (n != 1)
		return vsd_env_error(404, "not found");
	char fp[65];
	size_t len = strlen(seg[0]);
	if (len < 12 || len > 64 || strspn(seg[0], "0123456789abcdef") != len) {
		vs_fail(&err, VS_EINVAL_CONFIG, "image fingerprint \"%.80s\": expected 12 to 64 hex digits", seg[0]);
		return vsd_api_error(&err);
	}
	if (vsd_image_resolve(d, seg[0], fp, &err) < 0)
		return vsd_api_error(&err);
	if (get)
		return vsd_env_sync(vsd_image_json(d, fp));
	if (!strcmp(r->method, "DELETE")) {
		snprintf(r->summary, sizeof(r->summary), "delete image %.12s", fp);
		if (vsd_image_delete(d, fp, &err) < 0)
			return vsd_api_error(&err);
		return vsd_env_sync(NULL);
	}
	return vsd_env_error(405, "method not allowed");
}
