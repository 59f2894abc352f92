#include "platform/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/fs.h"
#include "platform/ops.h"
#include "platform/sha256.h"

#define MANIFEST_MAX ((size_t)4 << 20)
#define BLOB_MAX ((curl_off_t)16 << 30)
#define ACCEPT "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " \
	       "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

static bool repo_ok(const char *s)
{
	/* distribution's grammar, loosely: lower-case components of [a-z0-9._-] separated by '/'. */
	if (!*s || s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//") || strstr(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-/") == strlen(s);
}

static bool digest_ok(const char *s)
{
	return !strncmp(s, "sha256:", 7) && strlen(s) == 71 && strspn(s + 7, "0123456789abcdef") == 64;
}

int vsd_ref_parse(const char *s, vsd_ref *r, vs_err *err)
{
	memset(r, 0, sizeof(*r));
	const char *scheme = "https://";
	if (!strncmp(s, "http://", 7)) {
		scheme = "http://";
		s += 7;
	} else if (!strncmp(s, "https://", 8)) {
		s += 8;
	}
	const char *slash = strchr(s, '/');
	if (!slash || slash == s)
		return vs_fail(err, VS_EINVAL_CONFIG, "image reference %.200s: expected HOST[:PORT]/REPO[:TAG|@DIGEST]", s);
	size_t hl = (size_t)(slash - s);
	if (hl > 255 || strcspn(s, "@?#") < hl)
		return vs_fail(err, VS_EINVAL_CONFIG, "image reference %.200s: bad registry host", s);
	snprintf(r->base, sizeof(r->base), "%s%.*s", scheme, (int)hl, s);
	char rest[512];
	if (snprintf(rest, sizeof(rest), "%s", slash + 1) >= (int)sizeof(rest))
		return vs_fail(err, VS_EINVAL_CONFIG, "image reference: too long");
	char *at = strchr(rest, '@'), *colon = strrchr(rest, ':');
	if (at) {
		*at = '\0';
		if (!digest_ok(at + 1))
			return vs_fail(err, VS_EINVAL_CONFIG, "image reference: digest %.80s: expected sha256:<64 hex digits>", at + 1);
		snprintf(r->ref, sizeof(r->ref), "%s", at + 1);
	} else if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		const char *tag = colon + 1;
		if (!*tag || strlen(tag) >= sizeof(r->ref) || strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(tag))
			return vs_fail(err, VS_EINVAL_CONFIG, "image reference: tag %.80s: expected [A-Za-z0-9._-]", tag);
		memcpy(r->ref, tag, strlen(tag) + 1);
	} else {
		snprintf(r->ref, sizeof(r->ref), "latest");
	}
	if (!repo_ok(rest) || strlen(rest) >= sizeof(r->repo))
		return vs_fail(err, VS_EINVAL_CONFIG, "image reference: repository %.80s: expected lower-case [a-z0-9._-/]", rest);
	memcpy(r->repo, rest, strlen(rest) + 1);
	return 0;
}

typedef struct fetch {
	char *mem;               /* in-memory body (manifests, tokens), or */
	size_t len, cap;
	int fd;                  /* a file being written (blobs) */
	vsd_sha256 *h;
	bool too_big;
	char www_auth[1024];     /* WWW-Authenticate of a 401 */
	char digest_hdr[80];     /* Docker-Content-Digest */
	char ctype[128];
} fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
	fetch *f = u;
	size_t len = sz * n;
	if (f->fd >= 0) {
		if (write(f->fd, p, len) != (ssize_t)len)
			return 0;
		vsd_sha256_update(f->h, p, len);
		return len;
	}
	if (f->len + len > MANIFEST_MAX) {
		f->too_big = true;
		return 0;
	}
	if (f->len + len + 1 > f->cap) {
		size_t cap = (f->len + len + 1) * 2;
		char *m = realloc(f->mem, cap);
		if (!m)
			return 0;
		f->mem = m;
		f->cap = cap;
	}
	memcpy(f->mem + f->len, p, len);
	f->len += len;
	f->mem[f->len] = '\0';
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl))
		return;
	const char *v = line + nl;
	size_t vl = len - nl;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
	fetch *f = u;
	size_t len = sz * n;
	header_value(p, len, "WWW-Authenticate:", f->www_auth, sizeof(f->www_auth));
	header_value(p, len, "Docker-Content-Digest:", f->digest_hdr, sizeof(f->digest_hdr));
	header_value(p, len, "Content-Type:", f->ctype, sizeof(f->ctype));
	return len;
}

/* Called by libcurl about once a second and on progress: a cancelled
 * operation stops the transfer. */
static int on_progress(void *u, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	(void)u, (void)dlt, (void)dln, (void)ult, (void)uln;
	return vsd_op_cancelled() ? 1 : 0;
}

/* One GET; *code the HTTP status. */
static int get(const char *url, const char *token, bool manifest, fetch *f, long *code, vs_err *err)
{
	CURL *c = curl_easy_init();
	if (!c)
		return vs_fail(err, ENOMEM, "GET %s", url);
	struct curl_slist *hdrs = NULL;
	char auth[4200];
	if (manifest)
		hdrs = curl_slist_append(hdrs, ACCEPT);
	if (token && *token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* blobs redirect to storage */
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, BLOB_MAX);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vesseld");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	f->www_auth[0] = f->digest_hdr[0] = f->ctype[0] = '\0';
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return vs_fail(err, ECANCELED, "GET %s: cancelled", url);
	if (rc != CURLE_OK)
		return vs_fail(err, f->too_big ? VS_EINVAL_CONFIG : EIO, "GET %s: %s", url,
			       f->too_big ? "manifest larger than 4 MiB" : curl_easy_strerror(rc));
	return 0;
}

/* A value of a Bearer challenge: realm="...". */
static void challenge(const char *h, const char *key, char *out, size_t len)
{
	out[0] = '\0';
	char pat[32];
	snprintf(pat, sizeof(pat), "%s=\"", key);
	const char *p = strstr(h, pat);
	if (!p)
		return;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (e)
		snprintf(out, len, "%.*s", (int)(e - p), p);
}

/* Anonymous token for a Bearer challenge. */
static int get_token(const char *www, char *token, size_t len, vs_err *err)
{
	char realm[512], service[256], scope[512], url[1400];
	challenge(www, "realm", realm, sizeof(realm));
	challenge(www, "service", service, sizeof(service));
	challenge(www, "scope", scope, sizeof(scope));
	if (strncasecmp(www, "Bearer ", 7) || (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)))
		return vs_fail(err, EACCES, "registry asks for authentication this vesseld cannot give (%.100s)", www);
	CURL *c = curl_easy_init();
	char *es = c ? curl_easy_escape(c, service, 0) : NULL, *esc = c ? curl_easy_escape(c, scope, 0) : NULL;
	snprintf(url, sizeof(url), "%s?service=%s&scope=%s", realm, es ? es : "", esc ? esc : "");
	curl_free(es);
	curl_free(esc);
	if (c)
		curl_easy_cleanup(c);
	fetch f = {.fd = -1};
	long code = 0;
	int rc = get(url, NULL, false, &f, &code, err);
	struct json_object *o = rc == 0 && code == 200 && f.mem ? json_tokener_parse(f.mem) : NULL;
	const char *t = o ? json_object_get_string(json_object_object_get(o, "token")) : NULL;
	if (!t && o)
		t = json_object_get_string(json_object_object_get(o, "access_token"));
	if (rc == 0 && (!t || strlen(t) >= len))
		rc = vs_fail(err, EACCES, "registry token from %s: HTTP %ld, no usable token", realm, code);
	if (rc == 0)
		snprintf(token, len, "%s", t);
	json_object_put(o);
	free(f.mem);
	return rc;
}

/* GET with one retry after a Bearer challenge. */
static int get_auth(const char *url, char *token, size_t tlen, bool manifest, fetch *f, long *code, vs_err *err)
{
	off_t start = f->fd >= 0 ? lseek(f->fd, 0, SEEK_CUR) : 0;
	if (get(url, token, manifest, f, code, err) < 0)
		return -1;
	if (*code != 401 || !f->www_auth[0])
		return 0;
	char www[sizeof(f->www_auth)];
	snprintf(www, sizeof(www), "%s", f->www_auth);
	if (get_token(www, token, tlen, err) < 0)
		return -1;
	/* Start the body again. */
	f->len = 0;
	if (f->fd >= 0) {
		if (ftruncate(f->fd, start) < 0 || lseek(f->fd, start, SEEK_SET) < 0)
			return vs_fail(err, errno, "GET %s: rewind", url);
		vsd_sha256_final(f->h, (char[VSD_SHA256_HEX]){0});
		f->h = vsd_sha256_new();
	}
	return get(url, token, manifest, f, code, err);
}

/* Fetch the manifest ref (following an index to linux/amd64): *body and its digest. */
static int fetch_manifest(const vsd_ref *r, const char *ref, char *token, size_t tlen, char **body, size_t *len,
			  char digest[72], int depth, vs_err *err)
{
	char url[1200];
	snprintf(url, sizeof(url), "%s/v2/%s/manifests/%s", r->base, r->repo, ref);
	fetch f = {.fd = -1};
	long code = 0;
	if (get_auth(url, token, tlen, true, &f, &code, err) < 0) {
		free(f.mem);
		return -1;
	}
	if (code != 200) {
		free(f.mem);
		return vs_fail(err, code == 404 ? ENOENT : EIO, "GET %s: HTTP %ld", url, code);
	}
	char hex[VSD_SHA256_HEX];
	vsd_sha256_hex(f.mem ? f.mem : "", f.len, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	/* The digest we asked for, or the one the registry claims: it must be this body's. */
	const char *want = digest_ok(ref) ? ref : f.digest_hdr[0] ? f.digest_hdr : NULL;
	if (want && strcmp(want, digest)) {
		free(f.mem);
		return vs_fail(err, VS_EINVAL_CONFIG, "registry lies: manifest %s has digest %s", want, digest);
	}
	struct json_object *o = f.mem ? json_tokener_parse(f.mem) : NULL;
	struct json_object *ms = o ? json_object_object_get(o, "manifests") : NULL;
	if (!o) {
		free(f.mem);
		return vs_fail(err, VS_EINVAL_CONFIG, "GET %s: the manifest is not JSON", url);
	}
	if (ms && json_object_is_type(ms, json_type_array)) {
		const char *pick = NULL;
		for (size_t i = 0; i < json_object_array_length(ms) && !pick; i++) {
			struct json_object *m = json_object_array_get_idx(ms, i), *p = json_object_object_get(m, "platform");
			const char *os = json_object_get_string(json_object_object_get(p, "os"));
			const char *arch = json_object_get_string(json_object_object_get(p, "architecture"));
			if ((!p || (os && !strcmp(os, "linux") && arch && !strcmp(arch, "amd64"))))
				pick = json_object_get_string(json_object_object_get(m, "digest"));
		}
		char chosen[80];
		snprintf(chosen, sizeof(chosen), "%s", pick ? pick : "");
		json_object_put(o);
		free(f.mem);
		if (!digest_ok(chosen) || depth > 0)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s/%s:%s: no linux/amd64 manifest in the index", r->base, r->repo, ref);
		return fetch_manifest(r, chosen, token, tlen, body, len, digest, depth + 1, err);
	}
	json_object_put(o);
	*body = f.mem;
	*len = f.len;
	return 0;
}

/* Download blob digest into dir/blobs/sha256/<hex>, verifying it. */
static int fetch_blob(const vsd_ref *r, const char *digest, char *token, size_t tlen, const char *dir, vs_err *err)
{
	if (!digest_ok(digest))
		return vs_fail(err, VS_EINVAL_CONFIG, "manifest: blob digest %.80s: expected sha256:<64 hex digits>", digest);
	char url[1200], path[4096];
	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", r->base, r->repo, digest);
	if (vs_path_fmt(path, sizeof(path), err, "%s/blobs/sha256/%s", dir, digest + 7) < 0)
		return -1;
	if (access(path, F_OK) == 0)
		return 0; /* the same blob twice in one manifest */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_fail(err, errno, "create %s", path);
	fetch f = {.fd = fd, .h = vsd_sha256_new()};
	long code = 0;
	int rc = get_auth(url, token, tlen, false, &f, &code, err);
	char got[VSD_SHA256_HEX];
	vsd_sha256_final(f.h, got);
	close(fd);
	if (rc == 0 && code != 200)
		rc = vs_fail(err, EIO, "GET %s: HTTP %ld", url, code);
	if (rc == 0 && strcmp(got, digest + 7))
		rc = vs_fail(err, VS_EINVAL_CONFIG, "registry lies: blob %.19s... has digest sha256:%.12s...", digest, got);
	if (rc < 0)
		unlink(path);
	return rc;
}

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int vsd_registry_pull(const vsd_ref *r, const char *dir, vs_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init);
	char blobs[4096], token[4096] = "", digest[72];
	if (vs_path_fmt(blobs, sizeof(blobs), err, "%s/blobs/sha256", dir) < 0 || vs_mkdir_p(blobs, 0700, err) < 0)
		return -1;
	char *man = NULL;
	size_t mlen = 0;
	if (fetch_manifest(r, r->ref, token, sizeof(token), &man, &mlen, digest, 0, err) < 0)
		return vs_wrap(err, "pull %s/%s:%s", r->base, r->repo, r->ref);
	struct json_object *o = json_tokener_parse(man);
	struct json_object *cfg = o ? json_object_object_get(o, "config") : NULL, *layers = o ? json_object_object_get(o, "layers") : NULL;
	int rc = 0;
	if (!cfg || !layers || !json_object_is_type(layers, json_type_array))
		rc = vs_fail(err, VS_EINVAL_CONFIG, "manifest %s: expected config and layers (schema 2)", digest);
	if (rc == 0)
		rc = fetch_blob(r, json_object_get_string(json_object_object_get(cfg, "digest")) ?: "", token, sizeof(token), dir, err);
	for (size_t i = 0; rc == 0 && i < json_object_array_length(layers); i++)
		rc = fetch_blob(r, json_object_get_string(json_object_object_get(json_object_array_get_idx(layers, i), "digest")) ?: "",
				token, sizeof(token), dir, err);
	json_object_put(o);
	/* The layout the OCI reader expects: the manifest as a blob, index.json, oci-layout. */
	char path[4096], index[512];
	if (rc == 0 && vs_path_fmt(path, sizeof(path), err, "%s/%s", blobs, digest + 7) == 0)
		rc = vs_write_file(path, man, mlen, 0600, err);
	snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}", digest, mlen);
	if (rc == 0 && vs_path_fmt(path, sizeof(path), err, "%s/index.json", dir) == 0)
		rc = vs_write_file(path, index, strlen(index), 0600, err);
	if (rc == 0 && vs_path_fmt(path, sizeof(path), err, "%s/oci-layout", dir) == 0)
		rc = vs_write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0600, err);
	free(man);
	return rc < 0 ? vs_wrap(err, "pull %s/%s:%s", r->base, r->repo, r->ref) : 0;
}
