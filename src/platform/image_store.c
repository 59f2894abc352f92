/* The image store's queries: image objects, deletion with layer garbage
 * collection, an instance's overlay lowerdir, the cleanup at start. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "platform/db.h"
#include "platform/image_int.h"
#include "platform/images.h"

struct json_object *vsd_image_json(vsd *d, const char *fp)
{
	const char *a[] = {fp};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT kind, size, created_at, config FROM images WHERE fingerprint = ?1", 1, a, NULL);
	if (!st)
		return NULL;
	struct json_object *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = json_object_new_object();
		json_object_object_add(o, "fingerprint", json_object_new_string(fp));
		json_object_object_add(o, "type", json_object_new_string("container"));
		json_object_object_add(o, "size", json_object_new_int64(sqlite3_column_int64(st, 1)));
		json_object_object_add(o, "created_at", json_object_new_string((const char *)sqlite3_column_text(st, 2)));
		struct json_object *props = json_object_new_object();
		json_object_object_add(props, "format", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(o, "properties", props);
		struct json_object *cfg = json_tokener_parse((const char *)sqlite3_column_text(st, 3));
		json_object_object_add(o, "config", cfg ? cfg : json_object_new_object());
	}
	sqlite3_finalize(st);
	if (!o)
		return NULL;
	struct json_object *aliases = json_object_new_array(), *layers = json_object_new_array();
	st = vsd_db_prep(d->db, "SELECT name FROM aliases WHERE fingerprint = ?1 ORDER BY name", 1, a, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct json_object *al = json_object_new_object();
		json_object_object_add(al, "name", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(al, "description", json_object_new_string(""));
		json_object_array_add(aliases, al);
	}
	sqlite3_finalize(st);
	st = vsd_db_prep(d->db, "SELECT digest FROM image_layers WHERE fingerprint = ?1 ORDER BY idx", 1, a, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char dg[80];
		snprintf(dg, sizeof(dg), "sha256:%s", (const char *)sqlite3_column_text(st, 0));
		json_object_array_add(layers, json_object_new_string(dg));
	}
	sqlite3_finalize(st);
	json_object_object_add(o, "aliases", aliases);
	json_object_object_add(o, "layers", layers);
	return o;
}

/* Remove layers no image references, rows and directories (lock held). */
static void gc_layers(vsd *d)
{
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT digest FROM layers WHERE digest NOT IN (SELECT digest FROM image_layers)", 0, NULL, NULL);
	char (*gone)[VSD_SHA256_HEX] = NULL;
	int n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		void *g = realloc(gone, sizeof(*gone) * (size_t)(n + 1));
		if (!g)
			break;
		gone = g;
		snprintf(gone[n++], VSD_SHA256_HEX, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	for (int i = 0; i < n; i++) {
		const char *a[] = {gone[i]};
		char dir[PATH_MAX];
		if (vsd_db_do(d->db, "delete layer", NULL, "DELETE FROM layers WHERE digest = ?1", 1, a) == 0 &&
		    vsd_path(d, dir, sizeof(dir), NULL, "layers/%s", gone[i]) == 0)
			vs_rmtree(dir, NULL);
	}
	free(gone);
}

int vsd_image_delete(vsd *d, const char *fp, vs_err *err)
{
	char *user = NULL;
	const char *a[] = {fp};
	if (vsd_db_text(d->db, "SELECT name FROM instances WHERE fingerprint = ?1 LIMIT 1", 1, a, &user, err) < 0)
		return -1;
	if (user) {
		vs_fail(err, EBUSY, "image %.12s is used by instance %s", fp, user);
		free(user);
		return -1;
	}
	if (vsd_db_do(d->db, "delete image", err, "DELETE FROM images WHERE fingerprint = ?1", 1, a) < 0)
		return -1;
	gc_layers(d);
	return 0;
}

int vsd_image_lower(vsd *d, const char *fp, char **lower, struct json_object **config, vs_err *err)
{
	const char *a[] = {fp};
	*lower = NULL;
	*config = NULL;
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT digest FROM image_layers WHERE fingerprint = ?1 ORDER BY idx DESC", 1, a, err);
	if (!st)
		return -1;
	size_t cap = 0, len = 0;
	char *s = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char dir[PATH_MAX];
		if (vsd_path(d, dir, sizeof(dir), err, "layers/%s", (const char *)sqlite3_column_text(st, 0)) < 0)
			break;
		size_t n = strlen(dir);
		if (len + n + 2 > cap) {
			char *b = realloc(s, cap = (len + n + 2) * 2);
			if (!b)
				break;
			s = b;
		}
		if (len)
			s[len++] = ':';
		memcpy(s + len, dir, n + 1);
		len += n;
	}
	sqlite3_finalize(st);
	if (!len) {
		free(s);
		return vs_fail(err, ENOENT, "image %.12s: no layers", fp);
	}
	char *cfg = NULL;
	if (vsd_db_text(d->db, "SELECT config FROM images WHERE fingerprint = ?1", 1, a, &cfg, err) < 0) {
		free(s);
		return -1;
	}
	*config = cfg ? json_tokener_parse(cfg) : NULL;
	free(cfg);
	if (!*config)
		*config = json_object_new_object();
	*lower = s;
	return 0;
}

void vsd_images_gc(vsd *d)
{
	char dir[PATH_MAX];
	if (vsd_path(d, dir, sizeof(dir), NULL, "tmp") == 0) {
		vs_rmtree(dir, NULL);
		vs_mkdir_p(dir, 0700, NULL);
	}
	pthread_mutex_lock(&d->lock);
	gc_layers(d);
	/* Directories under layers/ that the database does not know (a crash
	 * between the rename and the commit). */
	if (vsd_path(d, dir, sizeof(dir), NULL, "layers") == 0) {
		DIR *ds = opendir(dir);
		struct dirent *de;
		while (ds && (de = readdir(ds))) {
			if (de->d_name[0] == '.')
				continue;
			char *have = NULL;
			const char *a[] = {de->d_name};
			char sub[PATH_MAX];
			if (vsd_db_text(d->db, "SELECT digest FROM layers WHERE digest = ?1", 1, a, &have, NULL) == 0 && !have &&
			    vs_path_fmt(sub, sizeof(sub), NULL, "%s/%s", dir, de->d_name) == 0)
				vs_rmtree(sub, NULL);
			free(have);
		}
		if (ds)
			closedir(ds);
	}
	pthread_mutex_unlock(&d->lock);
}

