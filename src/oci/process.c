/* The "process" object: args, env, cwd, user, terminal, capabilities,
 * rlimits and the rest of what the container's first (or exec'd) process
 * runs with. Also the entry point for `exec --process process.json`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "oci/names.h"
#include "oci/parse.h"

static int parse_user(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char u[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *user, *gids;
	if (vs_json_member(obj, "user", where, json_type_object, &user, err) < 0)
		return -1;
	if (!user)
		return 0;
	vs_oci_path(u, where, "user");
	if (vs_oci_id(user, "uid", u, &p->uid, NULL, err) < 0 || vs_oci_id(user, "gid", u, &p->gid, NULL, err) < 0)
		return -1;
	bool has_umask;
	if (vs_oci_u32(user, "umask", u, &p->umask, &has_umask, err) < 0)
		return -1;
	p->has_umask = has_umask;
	if (has_umask && p->umask > 0777)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.umask: %o is not a permission mask", u, p->umask);
	if (vs_json_member(user, "additionalGids", u, json_type_array, &gids, err) < 0)
		return -1;
	if (!gids)
		return 0;
	size_t n = json_object_array_length(gids);
	p->additional_gids = calloc(n ? n : 1, sizeof(uint32_t));
	if (!p->additional_gids)
		return vs_fail(err, ENOMEM, "%s.additionalGids", u);
	vs_oci_path(e, u, "additionalGids");
	for (size_t i = 0; i < n; i++) {
		struct json_object *g = json_object_array_get_idx(gids, i);
		int64_t v = json_object_get_int64(g);
		if (!json_object_is_type(g, json_type_int) || v < 0 || v > VS_OCI_ID_MAX)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s[%zu]: %s is not a gid (0..%u)", e, i,
				       json_object_to_json_string(g), VS_OCI_ID_MAX);
		p->additional_gids[i] = (uint32_t)v;
		p->n_additional_gids = i + 1;
	}
	return 0;
}

static const char *const cap_set_keys[VS_CAP_SETS] = {
	[VS_CAP_BOUNDING] = "bounding",       [VS_CAP_EFFECTIVE] = "effective",
	[VS_CAP_INHERITABLE] = "inheritable", [VS_CAP_PERMITTED] = "permitted",
	[VS_CAP_AMBIENT] = "ambient",
};

/* Unknown names are skipped with a warning, as runc does: a config written
 * for a newer kernel still runs on an older one. */
static int parse_caps(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char c[VS_OCI_PATH], s[VS_OCI_PATH];
	struct json_object *caps;
	if (vs_json_member(obj, "capabilities", where, json_type_object, &caps, err) < 0)
		return -1;
	if (!caps)
		return 0;
	p->has_caps = true;
	vs_oci_path(c, where, "capabilities");
	for (int set = 0; set < VS_CAP_SETS; set++) {
		struct json_object *arr;
		if (vs_json_member(caps, cap_set_keys[set], c, json_type_array, &arr, err) < 0)
			return -1;
		if (!arr)
			continue;
		vs_oci_path(s, c, cap_set_keys[set]);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(e, json_type_string))
				return vs_fail(err, VS_EINVAL_CONFIG, "%s[%zu]: expected string", s, i);
			int cap = vs_cap_from_name(json_object_get_string(e));
			if (cap < 0) {
				vs_warn("%s[%zu]: unknown capability '%s' ignored", s, i, json_object_get_string(e));
				continue;
			}
			p->caps[set] |= 1ULL << cap;
		}
	}
	return 0;
}

static int parse_rlimits(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char r[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *arr;
	if (vs_json_member(obj, "rlimits", where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	vs_oci_path(r, where, "rlimits");
	size_t n = json_object_array_length(arr);
	p->rlimits = calloc(n ? n : 1, sizeof(vs_rlimit));
	if (!p->rlimits)
		return vs_fail(err, ENOMEM, "%s", r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o;
		char *type = NULL;
		bool has_soft, has_hard;
		vs_rlimit *rl = &p->rlimits[i];
		if (vs_oci_elem_obj(arr, i, r, &o, err) < 0)
			return -1;
		vs_oci_path_idx(e, r, i);
		if (vs_json_str(o, "type", e, true, &type, err) < 0)
			return -1;
		rl->resource = vs_rlimit_from_name(type);
		if (rl->resource < 0) {
			vs_fail(err, VS_EINVAL_CONFIG, "%s.type: unknown rlimit '%s'", e, type);
			free(type);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == rl->resource) {
				vs_fail(err, VS_EINVAL_CONFIG, "%s.type: duplicate '%s'", e, type);
				free(type);
				return -1;
			}
		free(type);
		if (vs_oci_uint(o, "soft", e, UINT64_MAX, &rl->soft, &has_soft, err) < 0 ||
		    vs_oci_uint(o, "hard", e, UINT64_MAX, &rl->hard, &has_hard, err) < 0)
			return -1;
		if (!has_soft || !has_hard)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required field missing", e,
				       has_soft ? "hard" : "soft");
		if (rl->soft > rl->hard)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: soft limit %llu exceeds hard limit %llu", e,
				       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
		p->n_rlimits = i + 1;
	}
	return 0;
}

static int parse_console(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char c[VS_OCI_PATH];
	struct json_object *cs;
	uint64_t h, w;
	bool has_h, has_w;
	if (vs_json_member(obj, "consoleSize", where, json_type_object, &cs, err) < 0)
		return -1;
	if (!cs)
		return 0;
	vs_oci_path(c, where, "consoleSize");
	/* struct winsize holds unsigned short rows/columns. */
	if (vs_oci_uint(cs, "height", c, UINT16_MAX, &h, &has_h, err) < 0 ||
	    vs_oci_uint(cs, "width", c, UINT16_MAX, &w, &has_w, err) < 0)
		return -1;
	if (!has_h || !has_w)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required field missing", c, has_h ? "width" : "height");
	p->has_console_size = true;
	p->console_height = (unsigned)h;
	p->console_width = (unsigned)w;
	return 0;
}

static int parse_env(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char e[VS_OCI_PATH];
	if (vs_json_strv(obj, "env", where, &p->env, &p->n_env, err) < 0)
		return -1;
	vs_oci_path(e, where, "env");
	for (size_t i = 0; i < p->n_env; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return vs_fail(err, VS_EINVAL_CONFIG, "%s[%zu]: '%s' is not KEY=VALUE", e, i, p->env[i]);
	return 0;
}

int vs_oci_parse_process(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char k[VS_OCI_PATH];
	bool have;
	if (vs_json_bool(obj, "terminal", where, &p->terminal, NULL, err) < 0 || parse_console(obj, where, p, err) < 0 ||
	    parse_user(obj, where, p, err) < 0)
		return -1;
	if (vs_json_strv(obj, "args", where, &p->args, &p->n_args, err) < 0)
		return -1;
	if (p->n_args == 0 || !p->args[0][0])
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: required and must not be empty",
			       vs_oci_path(k, where, "args"));
	if (parse_env(obj, where, p, err) < 0 || vs_json_str(obj, "cwd", where, true, &p->cwd, err) < 0)
		return -1;
	if (p->cwd[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' must be absolute", vs_oci_path(k, where, "cwd"),
			       p->cwd);
	if (parse_caps(obj, where, p, err) < 0 || parse_rlimits(obj, where, p, err) < 0 ||
	    vs_json_bool(obj, "noNewPrivileges", where, &p->no_new_privileges, NULL, err) < 0 ||
	    vs_json_str(obj, "apparmorProfile", where, false, &p->apparmor_profile, err) < 0 ||
	    vs_json_str(obj, "selinuxLabel", where, false, &p->selinux_label, err) < 0)
		return -1;
	int64_t oom;
	/* The kernel's range for /proc/self/oom_score_adj. */
	if (vs_oci_int(obj, "oomScoreAdj", where, -1000, 1000, &oom, &have, err) < 0)
		return -1;
	p->has_oom_score_adj = have;
	p->oom_score_adj = have ? (int)oom : 0;
	return vs_oci_parse_sched(obj, where, p, err);
}

void vs_process_clear(vs_process *p)
{
	if (!p)
		return;
	free(p->additional_gids);
	vs_strv_free(p->args);
	vs_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->exec_cpu_affinity_initial);
	free(p->exec_cpu_affinity_final);
	memset(p, 0, sizeof(*p));
}

int vs_process_parse(const char *json, size_t len, vs_process *proc, vs_err *err)
{
	struct json_object *root;
	vs_process p = {0};
	if (vs_json_parse_buf(json, len, "process.json", &root, err) < 0)
		return -1;
	int rc = -1;
	if (!json_object_is_type(root, json_type_object))
		vs_fail(err, VS_EINVAL_CONFIG, "process.json: expected a JSON object");
	else if (vs_oci_check_nul(root, "", err) == 0 && vs_oci_parse_process(root, "", &p, err) == 0)
		rc = 0;
	json_object_put(root);
	if (rc < 0) {
		vs_process_clear(&p);
		if (err && err->code == VS_EINVAL_CONFIG && strncmp(err->msg, "process.json", 12))
			vs_wrap(err, "process.json");
		return -1;
	}
	*proc = p;
	return 0;
}
