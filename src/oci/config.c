/* config.json as a whole: parse the top level, hand each section to its
 * parser, validate across sections, resolve root.path against the bundle. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "oci/parse.h"

/* Runtime-spec 1.x only: a 2.0 config may mean something else entirely. */
static int check_version(const char *v, vs_err *err)
{
	if (strncmp(v, "1.", 2) != 0 || v[2] < '0' || v[2] > '9')
		return vs_fail(err, VS_EINVAL_CONFIG, "ociVersion: '%s' is not supported (want 1.x)", v);
	return 0;
}

static int parse_root(struct json_object *top, const char *bundle, vs_config *c, vs_err *err)
{
	struct json_object *root;
	if (vs_json_member(top, "root", "", json_type_object, &root, err) < 0)
		return -1;
	if (!root)
		return vs_fail(err, VS_EINVAL_CONFIG, "root: required field missing");
	if (vs_json_str(root, "path", "root", true, &c->root_path, err) < 0 ||
	    vs_json_bool(root, "readonly", "root", &c->root_readonly, NULL, err) < 0)
		return -1;
	if (!c->root_path[0])
		return vs_fail(err, VS_EINVAL_CONFIG, "root.path: must not be empty");
	if (c->root_path[0] == '/' || !bundle)
		return 0;
	char *abs;
	if (asprintf(&abs, "%s/%s", bundle, c->root_path) < 0)
		return vs_fail(err, ENOMEM, "root.path");
	free(c->root_path);
	c->root_path = abs;
	return 0;
}

static int parse_top(struct json_object *top, const char *bundle, vs_config *c, vs_err *err)
{
	struct json_object *proc, *lx;
	if (!json_object_is_type(top, json_type_object))
		return vs_fail(err, VS_EINVAL_CONFIG, "expected a JSON object at the top level");
	if (vs_oci_check_nul(top, "", err) < 0)
		return -1;
	if (vs_json_str(top, "ociVersion", "", true, &c->oci_version, err) < 0 ||
	    check_version(c->oci_version, err) < 0 || parse_root(top, bundle, c, err) < 0)
		return -1;
	if (vs_json_member(top, "process", "", json_type_object, &proc, err) < 0)
		return -1;
	if (proc) {
		c->has_process = true;
		if (vs_oci_parse_process(proc, "process", &c->process, err) < 0)
			return -1;
	}
	if (vs_json_str(top, "hostname", "", false, &c->hostname, err) < 0 ||
	    vs_json_str(top, "domainname", "", false, &c->domainname, err) < 0 ||
	    vs_oci_parse_mounts(top, "", c, err) < 0 || vs_oci_parse_hooks(top, "", c, err) < 0 ||
	    vs_oci_kv(top, "annotations", "", &c->annotations, &c->n_annotations, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_annotations; i++)
		if (!c->annotations[i].key[0])
			return vs_fail(err, VS_EINVAL_CONFIG, "annotations: keys must not be empty");
	if (vs_json_member(top, "linux", "", json_type_object, &lx, err) < 0)
		return -1;
	if (lx && vs_oci_parse_linux(lx, "linux", &c->linux_, err) < 0)
		return -1;
	return vs_oci_validate(c, err);
}

int vs_config_parse(const char *json, size_t len, const char *bundle, vs_config **out, vs_err *err)
{
	struct json_object *top;
	if (vs_json_parse_buf(json, len, "config.json", &top, err) < 0)
		return -1;
	vs_config *c = calloc(1, sizeof(*c));
	if (!c) {
		json_object_put(top);
		return vs_fail(err, ENOMEM, "parse config.json");
	}
	int rc = parse_top(top, bundle, c, err);
	json_object_put(top);
	if (rc < 0) {
		vs_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int vs_config_load(const char *bundle, vs_config **out, vs_err *err)
{
	char path[PATH_MAX], abs_bundle[PATH_MAX];
	char *buf;
	size_t len;
	struct stat st;
	/* root.path is resolved against the bundle, which must itself be absolute. */
	if (!realpath(bundle, abs_bundle))
		return vs_fail(err, errno, "bundle %s", bundle);
	if (snprintf(path, sizeof(path), "%s/config.json", abs_bundle) >= (int)sizeof(path))
		return vs_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	if (vs_read_regular(path, VS_CONFIG_MAX, &buf, &len, err) < 0)
		return -1;
	vs_config *c;
	int rc = vs_config_parse(buf, len, abs_bundle, &c, err);
	if (rc < 0)
		free(buf);
	else
		c->raw = buf, c->raw_len = len;
	if (rc < 0) {
		if (err && err->code == VS_EINVAL_CONFIG && strncmp(err->msg, "parse config.json", 17))
			vs_wrap(err, "config.json");
		return -1;
	}
	if (c->linux_.ns[VS_NS_MNT].enabled && c->linux_.ns[VS_NS_MNT].path) {
		*out = c; /* root.path names a directory of the joined namespace: resolved there */
		return 0;
	}
	bool exists = stat(c->root_path, &st) == 0;
	if (!exists || !S_ISDIR(st.st_mode)) {
		vs_fail(err, VS_EINVAL_CONFIG, "config.json: root.path %s: %s", c->root_path,
			exists ? "not a directory" : "no such directory");
		vs_config_free(c);
		return -1;
	}
	/* Symlinks in root.path are resolved once, here, as for the bundle:
	 * the engine binds and pivots into the real directory. (runc refuses
	 * a symlinked rootfs instead; podman and containerd hand us resolved
	 * paths, so either way a real directory is what gets used.) */
	char *real = realpath(c->root_path, NULL);
	if (!real) {
		vs_fail(err, errno, "config.json: root.path %s: resolve", c->root_path);
		vs_config_free(c);
		return -1;
	}
	if (!strcmp(real, "/")) {
		vs_fail(err, VS_EINVAL_CONFIG, "config.json: root.path %s: is the host's root directory", c->root_path);
		free(real);
		vs_config_free(c);
		return -1;
	}
	free(c->root_path);
	c->root_path = real;
	*out = c;
	return 0;
}

void vs_config_free(vs_config *c)
{
	if (!c)
		return;
	free(c->oci_version);
	free(c->raw);
	free(c->root_path);
	vs_process_clear(&c->process);
	free(c->hostname);
	free(c->domainname);
	for (size_t i = 0; i < c->n_mounts; i++)
		vs_oci_mount_clear(&c->mounts[i]);
	free(c->mounts);
	vs_oci_hooks_clear(c);
	vs_oci_kv_free(c->annotations, c->n_annotations);
	vs_oci_linux_clear(&c->linux_);
	free(c);
}
