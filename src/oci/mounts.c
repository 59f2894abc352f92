/* "mounts": each entry's options split into MS_* flags, propagation,
 * recursive mount_setattr attributes and the leftover data string, with
 * runc's exact mapping (libcontainer/specconv) so configs behave the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci/names.h"
#include "oci/parse.h"

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_opts[] = {
	{"acl", false, MS_POSIXACL},         {"async", true, MS_SYNCHRONOUS},
	{"atime", true, MS_NOATIME},         {"bind", false, MS_BIND},
	{"defaults", false, 0},              {"dev", true, MS_NODEV},
	{"diratime", true, MS_NODIRATIME},   {"dirsync", false, MS_DIRSYNC},
	{"exec", true, MS_NOEXEC},           {"iversion", false, MS_I_VERSION},
	{"lazytime", false, MS_LAZYTIME},    {"loud", true, MS_SILENT},
	{"mand", false, MS_MANDLOCK},        {"noacl", true, MS_POSIXACL},
	{"noatime", false, MS_NOATIME},      {"nodev", false, MS_NODEV},
	{"nodiratime", false, MS_NODIRATIME}, {"noexec", false, MS_NOEXEC},
	{"noiversion", true, MS_I_VERSION},  {"nolazytime", true, MS_LAZYTIME},
	{"nomand", true, MS_MANDLOCK},       {"norelatime", true, MS_RELATIME},
	{"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
	{"nosymfollow", false, MS_NOSYMFOLLOW}, {"rbind", false, MS_BIND | MS_REC},
	{"relatime", false, MS_RELATIME},    {"remount", false, MS_REMOUNT},
	{"ro", false, MS_RDONLY},            {"rw", true, MS_RDONLY},
	{"silent", false, MS_SILENT},        {"strictatime", false, MS_STRICTATIME},
	{"suid", true, MS_NOSUID},           {"symfollow", true, MS_NOSYMFOLLOW},
	{"sync", false, MS_SYNCHRONOUS},
};

static const struct {
	const char *name;
	unsigned long flag;
} prop_opts[] = {
	{"private", MS_PRIVATE},
	{"shared", MS_SHARED},
	{"slave", MS_SLAVE},
	{"unbindable", MS_UNBINDABLE},
	{"rprivate", MS_PRIVATE | MS_REC},
	{"rshared", MS_SHARED | MS_REC},
	{"rslave", MS_SLAVE | MS_REC},
	{"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Recursive variants applied with mount_setattr(AT_RECURSIVE). */
static const struct {
	const char *name;
	bool clear;
	unsigned long attr;
} attr_opts[] = {
	{"rro", false, MOUNT_ATTR_RDONLY},           {"rrw", true, MOUNT_ATTR_RDONLY},
	{"rnosuid", false, MOUNT_ATTR_NOSUID},       {"rsuid", true, MOUNT_ATTR_NOSUID},
	{"rnodev", false, MOUNT_ATTR_NODEV},         {"rdev", true, MOUNT_ATTR_NODEV},
	{"rnoexec", false, MOUNT_ATTR_NOEXEC},       {"rexec", true, MOUNT_ATTR_NOEXEC},
	{"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
	{"rrelatime", false, MOUNT_ATTR_RELATIME},   {"rnorelatime", true, MOUNT_ATTR_RELATIME},
	{"rnoatime", false, MOUNT_ATTR_NOATIME},     {"ratime", true, MOUNT_ATTR_NOATIME},
	{"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
	{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

const char *const vs_mount_option_names[] = {
	"acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap",
	"iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec",
	"noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow",
	"private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "ridmap",
	"rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
	"rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
	"rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
	"strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int vs_oci_propagation(const char *name, unsigned long *out)
{
	for (size_t i = 0; i < N(prop_opts); i++)
		if (!strcmp(prop_opts[i].name, name)) {
			*out = prop_opts[i].flag;
			return 0;
		}
	return -1;
}

/* True if `o` is one of the named (non-data) options; applies it to m. */
static bool apply_known(vs_mount *m, const char *o)
{
	for (size_t i = 0; i < N(flag_opts); i++)
		if (!strcmp(flag_opts[i].name, o)) {
			if (flag_opts[i].clear)
				m->flags &= ~flag_opts[i].flag;
			else
				m->flags |= flag_opts[i].flag;
			return true;
		}
	unsigned long prop;
	if (vs_oci_propagation(o, &prop) == 0) {
		m->propagation = prop;
		return true;
	}
	for (size_t i = 0; i < N(attr_opts); i++)
		if (!strcmp(attr_opts[i].name, o)) {
			unsigned long a = attr_opts[i].attr;
			if (attr_opts[i].clear) {
				m->attr_clr |= a;
			} else {
				m->attr_set |= a;
				/* The atime modes are one field: setting one clears the others. */
				if ((a & MOUNT_ATTR__ATIME) == a)
					m->attr_clr |= MOUNT_ATTR__ATIME;
			}
			return true;
		}
	if (!strcmp(o, "tmpcopyup")) {
		m->tmpcopyup = true;
		return true;
	}
	if (!strcmp(o, "idmap") || !strcmp(o, "ridmap")) {
		m->idmap = true;
		m->idmap_recursive = o[0] == 'r';
		return true;
	}
	return false;
}

int vs_oci_mount_options(vs_mount *m, const char *where, vs_err *err)
{
	size_t cap = 1;
	for (size_t i = 0; i < m->n_options; i++)
		cap += strlen(m->options[i]) + 1;
	char *data = calloc(1, cap), *end = data;
	if (!data)
		return vs_fail(err, ENOMEM, "%s.options", where);
	for (size_t i = 0; i < m->n_options; i++) {
		const char *o = m->options[i];
		if (!o[0] || apply_known(m, o))
			continue;
		if (end != data)
			*end++ = ',';
		end = stpcpy(end, o);
	}
	free(m->data);
	m->data = NULL;
	if (end != data)
		m->data = data;
	else
		free(data);
	if (m->type && !strcmp(m->type, "bind"))
		m->flags |= MS_BIND;
	m->is_bind = (m->flags & MS_BIND) != 0;
	return 0;
}

static int parse_one(struct json_object *o, const char *where, vs_mount *m, vs_err *err)
{
	char k[VS_OCI_PATH];
	if (vs_json_str(o, "destination", where, true, &m->destination, err) < 0 ||
	    vs_json_str(o, "type", where, false, &m->type, err) < 0 ||
	    vs_json_str(o, "source", where, false, &m->source, err) < 0 ||
	    vs_json_strv(o, "options", where, &m->options, &m->n_options, err) < 0)
		return -1;
	if (m->destination[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' must be absolute",
			       vs_oci_path(k, where, "destination"), m->destination);
	if (vs_oci_mount_options(m, where, err) < 0)
		return -1;
	if (m->is_bind && (!m->source || !m->source[0]))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: bind mount needs a source",
			       vs_oci_path(k, where, "source"));
	if (vs_oci_id_maps(o, "uidMappings", where, &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
	    vs_oci_id_maps(o, "gidMappings", where, &m->gid_mappings, &m->n_gid_mappings, err) < 0)
		return -1;
	if ((m->n_uid_mappings > 0) != (m->n_gid_mappings > 0))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: uidMappings and gidMappings must be given together",
			       where);
	if (m->n_uid_mappings && !m->idmap) {
		/* runc 1.2: mappings on a bind mount imply an idmapped mount. */
		m->idmap = true;
		m->idmap_recursive = (m->flags & MS_REC) != 0;
	}
	if (m->idmap && !m->is_bind)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: idmapped mounts are only supported for bind mounts",
			       where);
	return 0;
}

void vs_oci_mount_clear(vs_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	vs_strv_free(m->options);
	free(m->data);
	free(m->uid_mappings);
	free(m->gid_mappings);
	memset(m, 0, sizeof(*m));
}

int vs_oci_parse_mounts(struct json_object *obj, const char *where, vs_config *cfg, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *arr;
	if (vs_json_member(obj, "mounts", where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	vs_oci_path(k, where, "mounts");
	size_t n = json_object_array_length(arr);
	cfg->mounts = calloc(n ? n : 1, sizeof(vs_mount));
	if (!cfg->mounts)
		return vs_fail(err, ENOMEM, "%s", k);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o;
		if (vs_oci_elem_obj(arr, i, k, &o, err) < 0)
			return -1;
		cfg->n_mounts = i + 1; /* count it first so a half-filled entry is freed */
		if (parse_one(o, vs_oci_path_idx(e, k, i), &cfg->mounts[i], err) < 0)
			return -1;
	}
	return 0;
}
