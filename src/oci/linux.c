/* The "linux" object: namespaces, id mappings, devices, sysctl and paths.
 * Resources, seccomp and the smaller knobs (linux_misc.c) have their own files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/names.h"
#include "oci/parse.h"

static int parse_namespaces(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *arr;
	if (vs_json_member(obj, "namespaces", where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	vs_oci_path(k, where, "namespaces");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o;
		char *type = NULL, *path = NULL;
		if (vs_oci_elem_obj(arr, i, k, &o, err) < 0)
			return -1;
		vs_oci_path_idx(e, k, i);
		if (vs_json_str(o, "type", e, true, &type, err) < 0)
			return -1;
		int kind = vs_ns_from_name(type);
		if (kind < 0)
			vs_fail(err, VS_EINVAL_CONFIG, "%s.type: unknown namespace '%s'", e, type);
		else if (lx->ns[kind].enabled)
			vs_fail(err, VS_EINVAL_CONFIG, "%s: duplicate '%s'", k, type);
		else if (vs_json_str(o, "path", e, false, &path, err) == 0) {
			if (path && path[0] != '/') {
				vs_fail(err, VS_EINVAL_CONFIG, "%s.path: '%s' must be absolute", e, path);
				free(path);
			} else {
				lx->ns[kind].enabled = true;
				lx->ns[kind].path = path;
				free(type);
				continue;
			}
		}
		free(type);
		return -1;
	}
	return 0;
}

static int parse_id_map(struct json_object *o, const char *e, void *elem, vs_err *err)
{
	vs_id_map *m = elem;
	bool c, h, s;
	if (vs_oci_id(o, "containerID", e, &m->container_id, &c, err) < 0 ||
	    vs_oci_id(o, "hostID", e, &m->host_id, &h, err) < 0 || vs_oci_u32(o, "size", e, &m->size, &s, err) < 0)
		return -1;
	if (!c || !h || !s)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required field missing", e,
			       !c ? "containerID" : !h ? "hostID" : "size");
	/* A range may be large ("0 0 4294967295" is the whole id space) but
	 * must never reach 4294967295 itself, the "no id" value. */
	if (m->size == 0 || (uint64_t)m->container_id + m->size > UINT32_MAX ||
	    (uint64_t)m->host_id + m->size > UINT32_MAX)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.size: %u is empty or reaches past id 4294967294", e, m->size);
	return 0;
}

int vs_oci_id_maps(struct json_object *obj, const char *key, const char *where, vs_id_map **out, size_t *n,
		   vs_err *err)
{
	return vs_oci_array(obj, key, where, sizeof(vs_id_map), parse_id_map, (void **)out, n, err);
}

static int parse_device(struct json_object *o, const char *where, vs_device *d, vs_err *err)
{
	char k[VS_OCI_PATH], *type = NULL;
	bool has_major, has_minor, has_mode, has_uid, has_gid;
	if (vs_json_str(o, "path", where, true, &d->path, err) < 0)
		return -1;
	if (d->path[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' must be absolute", vs_oci_path(k, where, "path"),
			       d->path);
	if (vs_json_str(o, "type", where, true, &type, err) < 0)
		return -1;
	bool ok = strlen(type) == 1 && strchr("cbup", type[0]);
	d->type = type[0];
	if (!ok)
		vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown device type '%s' (want c, b, u or p)",
			vs_oci_path(k, where, "type"), type);
	free(type);
	if (!ok)
		return -1;
	/* dev_t major/minor are 32-bit in the kernel (MKDEV takes 12+20 bits). */
	if (vs_oci_int(o, "major", where, 0, UINT32_MAX, &d->major, &has_major, err) < 0 ||
	    vs_oci_int(o, "minor", where, 0, UINT32_MAX, &d->minor, &has_minor, err) < 0)
		return -1;
	if (d->type != 'p' && (!has_major || !has_minor))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required for device type '%c'", where,
			       has_major ? "minor" : "major", d->type);
	if (vs_oci_u32(o, "fileMode", where, &d->file_mode, &has_mode, err) < 0 ||
	    vs_oci_id(o, "uid", where, &d->uid, &has_uid, err) < 0 ||
	    vs_oci_id(o, "gid", where, &d->gid, &has_gid, err) < 0)
		return -1;
	if (has_mode && d->file_mode > 07777)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %o is not a permission mode",
			       vs_oci_path(k, where, "fileMode"), d->file_mode);
	d->has_file_mode = has_mode;
	d->has_uid = has_uid;
	d->has_gid = has_gid;
	return 0;
}

static int parse_devices(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *arr;
	if (vs_json_member(obj, "devices", where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	vs_oci_path(k, where, "devices");
	size_t n = json_object_array_length(arr);
	lx->devices = calloc(n ? n : 1, sizeof(vs_device));
	if (!lx->devices)
		return vs_fail(err, ENOMEM, "%s", k);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o;
		if (vs_oci_elem_obj(arr, i, k, &o, err) < 0)
			return -1;
		lx->n_devices = i + 1;
		if (parse_device(o, vs_oci_path_idx(e, k, i), &lx->devices[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_paths(struct json_object *obj, const char *key, const char *where, char ***v, size_t *n,
		       vs_err *err)
{
	char k[VS_OCI_PATH];
	if (vs_json_strv(obj, key, where, v, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i][0] != '/')
			return vs_fail(err, VS_EINVAL_CONFIG, "%s[%zu]: '%s' must be absolute",
				       vs_oci_path(k, where, key), i, (*v)[i]);
	return 0;
}

static int parse_propagation(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH], *s = NULL;
	if (vs_json_str(obj, "rootfsPropagation", where, false, &s, err) < 0)
		return -1;
	int rc = 0;
	if (s && s[0] && vs_oci_propagation(s, &lx->rootfs_propagation) < 0)
		rc = vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown propagation '%s'",
			     vs_oci_path(k, where, "rootfsPropagation"), s);
	free(s);
	return rc;
}

int vs_oci_parse_linux(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *res, *sc;
	if (parse_namespaces(obj, where, lx, err) < 0 ||
	    vs_oci_id_maps(obj, "uidMappings", where, &lx->uid_mappings, &lx->n_uid_mappings, err) < 0 ||
	    vs_oci_id_maps(obj, "gidMappings", where, &lx->gid_mappings, &lx->n_gid_mappings, err) < 0 ||
	    parse_devices(obj, where, lx, err) < 0 ||
	    vs_json_str(obj, "cgroupsPath", where, false, &lx->cgroups_path, err) < 0 ||
	    vs_oci_kv(obj, "sysctl", where, &lx->sysctl, &lx->n_sysctl, err) < 0 ||
	    parse_propagation(obj, where, lx, err) < 0 ||
	    parse_paths(obj, "maskedPaths", where, &lx->masked_paths, &lx->n_masked_paths, err) < 0 ||
	    parse_paths(obj, "readonlyPaths", where, &lx->readonly_paths, &lx->n_readonly_paths, err) < 0 ||
	    vs_json_str(obj, "mountLabel", where, false, &lx->mount_label, err) < 0 ||
	    vs_oci_parse_linux_misc(obj, where, lx, err) < 0)
		return -1;
	if (vs_json_member(obj, "resources", where, json_type_object, &res, err) < 0)
		return -1;
	if (res) {
		lx->has_resources = true;
		if (vs_oci_parse_resources(res, vs_oci_path(k, where, "resources"), &lx->resources, err) < 0)
			return -1;
	}
	if (vs_json_member(obj, "seccomp", where, json_type_object, &sc, err) < 0)
		return -1;
	if (sc) {
		lx->has_seccomp = true;
		if (vs_oci_parse_seccomp(sc, vs_oci_path(k, where, "seccomp"), &lx->seccomp, err) < 0)
			return -1;
	}
	return 0;
}

void vs_oci_linux_clear(vs_linux *lx)
{
	for (int i = 0; i < VS_NS_KINDS; i++)
		free(lx->ns[i].path);
	free(lx->uid_mappings);
	free(lx->gid_mappings);
	for (size_t i = 0; i < lx->n_devices; i++)
		free(lx->devices[i].path);
	free(lx->devices);
	free(lx->cgroups_path);
	vs_resources_clear(&lx->resources);
	vs_oci_kv_free(lx->sysctl, lx->n_sysctl);
	vs_oci_seccomp_clear(&lx->seccomp);
	vs_strv_free(lx->masked_paths);
	vs_strv_free(lx->readonly_paths);
	free(lx->mount_label);
	free(lx->intel_rdt.clos_id);
	free(lx->intel_rdt.l3_cache_schema);
	free(lx->intel_rdt.mem_bw_schema);
	vs_oci_kv_free(lx->net_devices, lx->n_net_devices);
	memset(lx, 0, sizeof(*lx));
}
