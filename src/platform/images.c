#include "platform/images.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "platform/db.h"
#include "platform/name.h"
#include "platform/image_int.h"
#include "platform/registry.h"
#include "platform/sha256.h"
#include "platform/unpack.h"

/* One import at a time: a layer being unpacked is never seen half-made
 * or removed by another import's failure. */
static pthread_mutex_t import_lock = PTHREAD_MUTEX_INITIALIZER;


/* Which kind of archive: "oci" (oci-layout + index.json), "docker"
 * (manifest.json), else "rootfs". Reads headers only. */
static int detect(const char *file, const char *what, const char **kind, vs_err *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	*kind = "rootfs";
	bool layout = false, index = false, manifest = false;
	int rc = 0;
	if (archive_read_open_filename(a, file, 65536) != ARCHIVE_OK) {
		rc = vs_fail(err, VS_EINVAL_CONFIG, "image %s: not a tar archive (%s)", what, archive_error_string(a));
	} else {
		struct archive_entry *e;
		int r;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			char rel[4096];
			if (vsd_tar_name(archive_entry_pathname(e), rel, sizeof(rel), NULL) < 0)
				continue; /* the unpacker refuses it with a message */
			layout |= !strcmp(rel, "oci-layout");
			index |= !strcmp(rel, "index.json");
			manifest |= !strcmp(rel, "manifest.json");
		}
		if (r != ARCHIVE_EOF)
			rc = vs_fail(err, VS_EINVAL_CONFIG, "image %s: not a tar archive (%s)", what,
				     archive_error_string(a) ? archive_error_string(a) : "unreadable");
	}
	archive_read_free(a);
	if (layout && index)
		*kind = "oci";
	else if (manifest)
		*kind = "docker";
	return rc;
}

/* Unpack one layer file (fd) as layers/<digest> unless it is there. */
int vsd_layer_add(vsd *d, int fd, const char *digest, unsigned flags, vsd_layer_set *ls, vs_err *err)
{
	if (ls->n >= MAX_LAYERS)
		return vs_fail(err, VS_EINVAL_CONFIG, "image: more than %d layers", MAX_LAYERS);
	int i = ls->n++;
	memcpy(ls->digest[i], digest, VSD_SHA256_HEX);
	ls->fresh[i] = false;
	char dst[PATH_MAX], tmp[PATH_MAX], src[64];
	if (vsd_path(d, dst, sizeof(dst), err, "layers/%s", digest) < 0 ||
	    vsd_path(d, tmp, sizeof(tmp), err, "tmp/layer-XXXXXX") < 0)
		return -1;
	if (access(dst, F_OK) == 0)
		return 0;
	if (!mkdtemp(tmp))
		return vs_fail(err, errno, "mkdtemp %s", tmp);
	chmod(tmp, 0755);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	uint64_t bytes;
	if (vsd_unpack(src, tmp, flags, &bytes, err) < 0 || rename(tmp, dst) < 0) {
		if (err && !err->code)
			vs_fail(err, errno, "rename %s to %s", tmp, dst);
		vs_rmtree(tmp, NULL);
		return vs_wrap(err, "layer %.12s", digest);
	}
	ls->fresh[i] = true;
	return 0;
}

/* Record the image (lock held, one transaction). */
static int store(vsd *d, const char *fp, const char *kind, const char *alias, const vsd_layer_set *ls,
		 struct json_object *cfg, uint64_t size, vs_err *err)
{
	char *have = NULL;
	const char *a1[] = {fp};
	if (vsd_db_text(d->db, "SELECT fingerprint FROM images WHERE fingerprint = ?1", 1, a1, &have, err) < 0)
		return -1;
	if (have) {
		free(have);
		return vs_fail(err, EEXIST, "image %.12s already exists", fp);
	}
	if (alias) {
		const char *a2[] = {alias};
		if (vsd_db_text(d->db, "SELECT fingerprint FROM aliases WHERE name = ?1", 1, a2, &have, err) < 0)
			return -1;
		if (have) {
			free(have);
			return vs_fail(err, EEXIST, "image alias %s already exists", alias);
		}
	}
	char now[40], sz[24], idx[12];
	vsd_now(now);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (vsd_db_exec(d->db, "BEGIN IMMEDIATE", "store image", err) < 0)
		return -1;
	const char *img[] = {fp, kind, sz, now, json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)};
	int rc = vsd_db_do(d->db, "insert image", err, "INSERT INTO images VALUES (?1, ?2, ?3, ?4, ?5)", 5, img);
	for (int i = 0; rc == 0 && i < ls->n; i++) {
		snprintf(idx, sizeof(idx), "%d", i);
		const char *la[] = {ls->digest[i]}, *il[] = {fp, idx, ls->digest[i]};
		rc = vsd_db_do(d->db, "insert layer", err, "INSERT OR IGNORE INTO layers VALUES (?1, 0)", 1, la);
		if (rc == 0)
			rc = vsd_db_do(d->db, "insert image layer", err, "INSERT INTO image_layers VALUES (?1, ?2, ?3)", 3, il);
	}
	if (rc == 0 && alias) {
		const char *al[] = {alias, fp};
		rc = vsd_db_do(d->db, "insert alias", err, "INSERT INTO aliases VALUES (?1, ?2)", 2, al);
	}
	if (rc == 0 && vsd_db_exec(d->db, "COMMIT", "store image", err) == 0)
		return 0;
	vsd_db_exec(d->db, "ROLLBACK", "store image", NULL);
	return -1;
}

/* Bytes in the regular files of dir (a pulled layout's blobs). */
static uint64_t dir_bytes(const char *dir)
{
	uint64_t n = 0;
	DIR *ds = opendir(dir);
	struct dirent *de;
	struct stat st;
	while (ds && (de = readdir(ds)))
		if (fstatat(dirfd(ds), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			n += (uint64_t)st.st_size;
	if (ds)
		closedir(ds);
	return n;
}

/* Store what an import unpacked, or (rc < 0) remove its fresh layers.
 * size: of file, or of the blobs under blobs when file is NULL. */
static int finish(vsd *d, int rc, const char *file, const char *blobs, const char *fp, const char *kind,
		  const char *alias, const vsd_layer_set *ls, struct json_object *cfg, vs_err *err)
{
	if (rc == 0) {
		struct stat st;
		uint64_t size = file ? (stat(file, &st) == 0 ? (uint64_t)st.st_size : 0) : dir_bytes(blobs);
		pthread_mutex_lock(&d->lock);
		rc = store(d, fp, kind, alias, ls, cfg, size, err);
		pthread_mutex_unlock(&d->lock);
	}
	if (rc < 0) {
		for (int i = 0; i < ls->n; i++) {
			char dir[PATH_MAX];
			if (ls->fresh[i] && vsd_path(d, dir, sizeof(dir), NULL, "layers/%s", ls->digest[i]) == 0)
				vs_rmtree(dir, NULL);
		}
	}
	return rc;
}

int vsd_image_import(vsd *d, const char *file, const char *what, const char *alias, char fp[65], vs_err *err)
{
	if (alias && vsd_name_check(alias, "image alias", err) < 0)
		return -1;
	const char *kind;
	if (detect(file, what, &kind, err) < 0)
		return -1;
	pthread_mutex_lock(&import_lock);
	static vsd_layer_set ls; /* big: not on the op thread's stack; import_lock guards it */
	memset(&ls, 0, sizeof(ls));
	struct json_object *cfg = NULL;
	char outer[PATH_MAX] = "";
	int rc = -1;
	if (!strcmp(kind, "rootfs")) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			vs_fail(err, errno, "open %s", file);
		} else if (vsd_sha256_file(file, fp, err) == 0 && vsd_layer_add(d, fd, fp, 0, &ls, err) == 0) {
			cfg = json_object_new_object();
			rc = 0;
		}
		if (fd >= 0)
			close(fd);
	} else if (vsd_path(d, outer, sizeof(outer), err, "tmp/image-XXXXXX") == 0) {
		if (!mkdtemp(outer)) {
			vs_fail(err, errno, "mkdtemp %s", outer);
			outer[0] = '\0';
		} else if (vsd_unpack(file, outer, 0, NULL, err) == 0) {
			rc = vsd_image_oci(d, outer, !strcmp(kind, "docker"), &ls, fp, &cfg, err);
		}
	}
	if (outer[0])
		vs_rmtree(outer, NULL);
	rc = finish(d, rc, file, NULL, fp, kind, alias, &ls, cfg, err);
	pthread_mutex_unlock(&import_lock);
	json_object_put(cfg);
	return rc;
}

int vsd_image_pull(vsd *d, const char *ref, const char *alias, char fp[65], vs_err *err)
{
	vsd_ref r;
	if ((alias && vsd_name_check(alias, "image alias", err) < 0) || vsd_ref_parse(ref, &r, err) < 0)
		return -1;
	char dir[PATH_MAX];
	if (vsd_path(d, dir, sizeof(dir), err, "tmp/pull-XXXXXX") < 0)
		return -1;
	if (!mkdtemp(dir))
		return vs_fail(err, errno, "mkdtemp %s", dir);
	pthread_mutex_lock(&import_lock);
	static vsd_layer_set ls;
	memset(&ls, 0, sizeof(ls));
	struct json_object *cfg = NULL;
	int rc = vsd_registry_pull(&r, dir, err);
	if (rc == 0)
		rc = vsd_image_oci(d, dir, false, &ls, fp, &cfg, err);
	char blobs[PATH_MAX];
	snprintf(blobs, sizeof(blobs), "%.4000s/blobs/sha256", dir);
	rc = finish(d, rc, NULL, blobs, fp, "registry", alias, &ls, cfg, err);
	pthread_mutex_unlock(&import_lock);
	vs_rmtree(dir, NULL);
	json_object_put(cfg);
	return rc;
}

int vsd_image_resolve(vsd *d, const char *ref, char fp[65], vs_err *err)
{
	char *got = NULL;
	const char *a[] = {ref};
	if (vsd_db_text(d->db, "SELECT fingerprint FROM aliases WHERE name = ?1", 1, a, &got, err) < 0)
		return -1;
	size_t n = strlen(ref);
	if (!got && n >= 12 && n <= 64 && strspn(ref, "0123456789abcdef") == n) {
		char pat[80];
		snprintf(pat, sizeof(pat), "%s%%", ref);
		const char *b[] = {pat};
		sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT fingerprint FROM images WHERE fingerprint LIKE ?1 LIMIT 2", 1, b, err);
		if (!st)
			return -1;
		int rows = 0;
		while (sqlite3_step(st) == SQLITE_ROW && rows < 2) {
			if (!rows++)
				got = strdup((const char *)sqlite3_column_text(st, 0));
		}
		sqlite3_finalize(st);
		if (rows > 1) {
			free(got);
			return vs_fail(err, VS_EINVAL_CONFIG, "image %s: ambiguous fingerprint prefix", ref);
		}
	}
	if (!got)
		return vs_fail(err, ENOENT, "image %s not found", ref);
	snprintf(fp, 65, "%s", got);
	free(got);
	return 0;
}

