/* Reading an unpacked OCI image layout (index.json, blobs/sha256/...,
 * digests verified) or docker-archive (manifest.json): its layers and
 * its config. Every path inside comes from the archive, so each is
 * opened with openat2(RESOLVE_IN_ROOT) and must be a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "platform/image_int.h"
#include "platform/unpack.h"

static int in_root(int dirfd, const char *rel, vs_err *err)
{
	char clean[4096];
	if (vsd_tar_name(rel, clean, sizeof(clean), err) < 0 || !*clean)
		return *clean || !err ? -1 : vs_fail(err, VS_EINVAL_CONFIG, "image: empty path in manifest");
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, dirfd, clean, &how, sizeof(how));
	if (fd < 0)
		return vs_fail(err, errno, "image: open %s", clean);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vs_fail(err, VS_EINVAL_CONFIG, "image: %s is not a regular file", clean);
	}
	return fd;
}

static struct json_object *json_in_root(int dirfd, const char *rel, vs_err *err)
{
	int fd = in_root(dirfd, rel, err);
	if (fd < 0)
		return NULL;
	char *buf;
	size_t len;
	struct json_object *o = NULL;
	if (vs_read_fd(fd, rel, VS_CONFIG_MAX, &buf, &len, err) == 0) {
		vs_json_parse_buf(buf, len, rel, &o, err);
		free(buf);
	}
	close(fd);
	return o;
}

/* "sha256:<64 hex>" -> "blobs/sha256/<hex>"; hex kept in hex. */
static int blob_path(const char *digest, char *path, size_t len, char hex[VSD_SHA256_HEX], vs_err *err)
{
	if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
	    strspn(digest + 7, "0123456789abcdef") != 64)
		return vs_fail(err, VS_EINVAL_CONFIG, "image: digest %.80s: expected sha256:<64 hex digits>",
			       digest ? digest : "(none)");
	memcpy(hex, digest + 7, VSD_SHA256_HEX);
	snprintf(path, len, "blobs/sha256/%s", hex);
	return 0;
}

static struct json_object *str_array_or_null(struct json_object *o)
{
	return o && json_object_is_type(o, json_type_array) ? json_object_get(o) : NULL;
}

/* {command, env, cwd} from an OCI image config blob. */
static struct json_object *image_config(struct json_object *cfgblob)
{
	struct json_object *c = json_object_object_get(cfgblob, "config");
	struct json_object *out = json_object_new_object();
	struct json_object *cmd = json_object_new_array();
	const char *parts[] = {"Entrypoint", "Cmd"};
	for (int p = 0; p < 2; p++) {
		struct json_object *a = c ? json_object_object_get(c, parts[p]) : NULL;
		for (size_t i = 0; a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
			struct json_object *s = json_object_array_get_idx(a, i);
			if (json_object_is_type(s, json_type_string))
				json_object_array_add(cmd, json_object_get(s));
		}
	}
	if (json_object_array_length(cmd))
		json_object_object_add(out, "command", cmd);
	else
		json_object_put(cmd);
	struct json_object *env = c ? str_array_or_null(json_object_object_get(c, "Env")) : NULL;
	if (env)
		json_object_object_add(out, "env", env);
	struct json_object *wd = c ? json_object_object_get(c, "WorkingDir") : NULL;
	if (wd && json_object_is_type(wd, json_type_string) && json_object_get_string_len(wd))
		json_object_object_add(out, "cwd", json_object_get(wd));
	return out;
}

/* The layers and config of an unpacked OCI layout or docker-archive in dir. */
int vsd_image_oci(vsd *d, const char *dir, bool docker, vsd_layer_set *ls, char fp[65], struct json_object **cfg,
		      vs_err *err)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vs_fail(err, errno, "open %s", dir);
	int rc = -1;
	struct json_object *top = NULL, *man = NULL, *cblob = NULL, *layers = NULL;
	char path[256], hex[VSD_SHA256_HEX];
	const char *cfg_rel = NULL;
	if (docker) {
		top = json_in_root(dfd, "manifest.json", err);
		struct json_object *m0 = top && json_object_is_type(top, json_type_array) ? json_object_array_get_idx(top, 0) : NULL;
		struct json_object *c = m0 ? json_object_object_get(m0, "Config") : NULL;
		layers = m0 ? json_object_object_get(m0, "Layers") : NULL;
		if (!c || !json_object_is_type(c, json_type_string) || !layers || !json_object_is_type(layers, json_type_array)) {
			if (top)
				vs_fail(err, VS_EINVAL_CONFIG, "image: manifest.json: expected [{Config, Layers}]");
			goto out;
		}
		cfg_rel = json_object_get_string(c);
	} else {
		top = json_in_root(dfd, "index.json", err);
		struct json_object *ms = top ? json_object_object_get(top, "manifests") : NULL;
		struct json_object *m0 = ms && json_object_is_type(ms, json_type_array) ? json_object_array_get_idx(ms, 0) : NULL;
		if (!m0) {
			if (top)
				vs_fail(err, VS_EINVAL_CONFIG, "image: index.json: no manifests");
			goto out;
		}
		if (blob_path(json_object_get_string(json_object_object_get(m0, "digest")), path, sizeof(path), hex, err) < 0)
			goto out;
		man = json_in_root(dfd, path, err);
		if (!man)
			goto out;
		char got[VSD_SHA256_HEX];
		int mfd = in_root(dfd, path, err);
		if (mfd < 0)
			goto out;
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", mfd);
		int hrc = vsd_sha256_file(p, got, err);
		close(mfd);
		if (hrc < 0)
			goto out;
		if (strcmp(got, hex)) {
			vs_fail(err, VS_EINVAL_CONFIG, "image: manifest sha256:%.12s... has digest sha256:%.12s...", hex, got);
			goto out;
		}
		struct json_object *c = json_object_object_get(man, "config");
		layers = json_object_object_get(man, "layers");
		if (!c || !layers || !json_object_is_type(layers, json_type_array) ||
		    blob_path(json_object_get_string(json_object_object_get(c, "digest")), path, sizeof(path), hex, err) < 0) {
			if (err && !err->code)
				vs_fail(err, VS_EINVAL_CONFIG, "image: manifest: expected config and layers");
			goto out;
		}
		cfg_rel = path;
	}
	/* The fingerprint is the sha256 of the config blob: the image ID. */
	int cfd = in_root(dfd, cfg_rel, err);
	if (cfd < 0)
		goto out;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", cfd);
	int hrc = vsd_sha256_file(p, fp, err);
	close(cfd);
	if (hrc < 0 || !(cblob = json_in_root(dfd, cfg_rel, err)))
		goto out;
	if (!docker && strcmp(fp, hex)) {
		vs_fail(err, VS_EINVAL_CONFIG, "image: config sha256:%.12s... has digest sha256:%.12s...", hex, fp);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		struct json_object *l = json_object_array_get_idx(layers, i);
		const char *rel;
		char lhex[VSD_SHA256_HEX] = "", lpath[256];
		if (docker) {
			rel = json_object_get_string(l);
		} else {
			if (blob_path(json_object_get_string(json_object_object_get(l, "digest")), lpath, sizeof(lpath), lhex, err) < 0)
				goto out;
			rel = lpath;
		}
		int lfd = in_root(dfd, rel ? rel : "", err);
		if (lfd < 0)
			goto out;
		char got[VSD_SHA256_HEX];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", lfd);
		if (vsd_sha256_file(p, got, err) < 0 || (!docker && strcmp(got, lhex) &&
		    vs_fail(err, VS_EINVAL_CONFIG, "image: layer sha256:%.12s... has digest sha256:%.12s...", lhex, got)) ||
		    vsd_layer_add(d, lfd, got, VSD_UNPACK_WHITEOUTS, ls, err) < 0) {
			close(lfd);
			goto out;
		}
		close(lfd);
	}
	if (ls->n == 0) {
		vs_fail(err, VS_EINVAL_CONFIG, "image: no layers");
		goto out;
	}
	*cfg = image_config(cblob);
	rc = 0;
out:
	json_object_put(top);
	json_object_put(man);
	json_object_put(cblob);
	close(dfd);
	return rc;
}

