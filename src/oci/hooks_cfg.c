/* "hooks": the six lifecycle hook lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/names.h"
#include "oci/parse.h"

static int parse_hook(struct json_object *o, const char *where, vs_hook *h, vs_err *err)
{
	char k[VS_OCI_PATH];
	int64_t timeout;
	bool have;
	if (vs_json_str(o, "path", where, true, &h->path, err) < 0 ||
	    vs_json_strv(o, "args", where, &h->args, NULL, err) < 0 ||
	    vs_json_strv(o, "env", where, &h->env, NULL, err) < 0)
		return -1;
	if (h->path[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' must be absolute", vs_oci_path(k, where, "path"),
			       h->path);
	if (vs_oci_int(o, "timeout", where, INT32_MIN, INT32_MAX, &timeout, &have, err) < 0)
		return -1;
	if (have && timeout <= 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: must be greater than zero",
			       vs_oci_path(k, where, "timeout"));
	h->timeout = have ? (int)timeout : 0;
	return 0;
}

int vs_oci_parse_hooks(struct json_object *obj, const char *where, vs_config *cfg, vs_err *err)
{
	char k[VS_OCI_PATH], l[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *hooks;
	if (vs_json_member(obj, "hooks", where, json_type_object, &hooks, err) < 0)
		return -1;
	if (!hooks)
		return 0;
	vs_oci_path(k, where, "hooks");
	for (int kind = 0; kind < VS_HOOK_KINDS; kind++) {
		struct json_object *arr;
		if (vs_json_member(hooks, vs_hook_names[kind], k, json_type_array, &arr, err) < 0)
			return -1;
		if (!arr)
			continue;
		vs_oci_path(l, k, vs_hook_names[kind]);
		size_t n = json_object_array_length(arr);
		cfg->hooks[kind] = calloc(n ? n : 1, sizeof(vs_hook));
		if (!cfg->hooks[kind])
			return vs_fail(err, ENOMEM, "%s", l);
		for (size_t i = 0; i < n; i++) {
			struct json_object *o;
			if (vs_oci_elem_obj(arr, i, l, &o, err) < 0)
				return -1;
			cfg->n_hooks[kind] = i + 1;
			if (parse_hook(o, vs_oci_path_idx(e, l, i), &cfg->hooks[kind][i], err) < 0)
				return -1;
		}
	}
	return 0;
}

void vs_oci_hooks_clear(vs_config *cfg)
{
	for (int kind = 0; kind < VS_HOOK_KINDS; kind++) {
		for (size_t i = 0; i < cfg->n_hooks[kind]; i++) {
			vs_hook *h = &cfg->hooks[kind][i];
			free(h->path);
			vs_strv_free(h->args);
			vs_strv_free(h->env);
		}
		free(cfg->hooks[kind]);
		cfg->hooks[kind] = NULL;
		cfg->n_hooks[kind] = 0;
	}
}
