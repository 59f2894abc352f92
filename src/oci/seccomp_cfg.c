/* "linux.seccomp": names of actions, operators, architectures and flags are
 * checked here; syscall names are left to libseccomp at load time (a name
 * unknown to this kernel is skipped, as runc does). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/names.h"
#include "oci/parse.h"

static int parse_action(struct json_object *o, const char *key, const char *where, bool required,
			vs_seccomp_action *out, bool *present, vs_err *err)
{
	char k[VS_OCI_PATH], *s = NULL;
	if (vs_json_str(o, key, where, required, &s, err) < 0)
		return -1;
	if (present)
		*present = s != NULL;
	if (!s)
		return 0;
	int a = vs_seccomp_action_from_name(s);
	if (a < 0)
		vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown seccomp action '%s'", vs_oci_path(k, where, key), s);
	free(s);
	if (a < 0)
		return -1;
	*out = (vs_seccomp_action)a;
	return 0;
}

/* errnoRet only means something to the actions that return a value. */
static int parse_errno_ret(struct json_object *o, const char *key, const char *where, vs_seccomp_action act,
			   bool *has, uint32_t *out, vs_err *err)
{
	char k[VS_OCI_PATH];
	if (vs_oci_u32(o, key, where, out, has, err) < 0)
		return -1;
	if (*has && act != VS_SCMP_ERRNO && act != VS_SCMP_TRACE)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
			       vs_oci_path(k, where, key), vs_seccomp_action_name(act));
	return 0;
}

static int parse_arg(struct json_object *o, const char *where, vs_seccomp_arg *a, vs_err *err)
{
	char k[VS_OCI_PATH], *op = NULL;
	uint64_t idx;
	bool has_idx, has_val;
	/* Syscalls take at most six arguments. */
	if (vs_oci_uint(o, "index", where, 5, &idx, &has_idx, err) < 0 ||
	    vs_oci_uint(o, "value", where, UINT64_MAX, &a->value, &has_val, err) < 0 ||
	    vs_oci_uint(o, "valueTwo", where, UINT64_MAX, &a->value_two, NULL, err) < 0)
		return -1;
	if (!has_idx || !has_val)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required field missing", where,
			       has_idx ? "value" : "index");
	a->index = (unsigned)idx;
	if (vs_json_str(o, "op", where, true, &op, err) < 0)
		return -1;
	int v = vs_seccomp_op_from_name(op);
	if (v < 0)
		vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown seccomp operator '%s'", vs_oci_path(k, where, "op"), op);
	free(op);
	if (v < 0)
		return -1;
	a->op = (vs_seccomp_op)v;
	return 0;
}

static int parse_rule(struct json_object *o, const char *where, vs_seccomp_rule *r, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *args;
	if (vs_json_strv(o, "names", where, &r->names, &r->n_names, err) < 0)
		return -1;
	if (r->n_names == 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: required and must not be empty",
			       vs_oci_path(k, where, "names"));
	if (parse_action(o, "action", where, true, &r->action, NULL, err) < 0 ||
	    parse_errno_ret(o, "errnoRet", where, r->action, &r->has_errno_ret, &r->errno_ret, err) < 0 ||
	    vs_json_member(o, "args", where, json_type_array, &args, err) < 0)
		return -1;
	if (!args)
		return 0;
	vs_oci_path(k, where, "args");
	size_t n = json_object_array_length(args);
	r->args = calloc(n ? n : 1, sizeof(vs_seccomp_arg));
	if (!r->args)
		return vs_fail(err, ENOMEM, "%s", k);
	for (size_t i = 0; i < n; i++) {
		struct json_object *a;
		if (vs_oci_elem_obj(args, i, k, &a, err) < 0)
			return -1;
		r->n_args = i + 1;
		if (parse_arg(a, vs_oci_path_idx(e, k, i), &r->args[i], err) < 0)
			return -1;
	}
	return 0;
}

static int check_names(char **v, const char *key, const char *where, bool (*known)(const char *), const char *what,
		       vs_err *err)
{
	char k[VS_OCI_PATH];
	for (size_t i = 0; v && v[i]; i++)
		if (!known(v[i]))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s[%zu]: unknown seccomp %s '%s'",
				       vs_oci_path(k, where, key), i, what, v[i]);
	return 0;
}

int vs_oci_parse_seccomp(struct json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *rules;
	bool uses_notify;
	if (parse_action(obj, "defaultAction", where, true, &s->default_action, NULL, err) < 0 ||
	    parse_errno_ret(obj, "defaultErrnoRet", where, s->default_action, &s->has_default_errno_ret,
			    &s->default_errno_ret, err) < 0 ||
	    vs_json_strv(obj, "architectures", where, &s->architectures, NULL, err) < 0 ||
	    check_names(s->architectures, "architectures", where, vs_seccomp_arch_known, "architecture", err) < 0 ||
	    vs_json_strv(obj, "flags", where, &s->flags, NULL, err) < 0 ||
	    check_names(s->flags, "flags", where, vs_seccomp_flag_known, "flag", err) < 0 ||
	    vs_json_str(obj, "listenerPath", where, false, &s->listener_path, err) < 0 ||
	    vs_json_str(obj, "listenerMetadata", where, false, &s->listener_metadata, err) < 0 ||
	    vs_json_member(obj, "syscalls", where, json_type_array, &rules, err) < 0)
		return -1;
	/* The kernel cannot notify on the default action (libseccomp refuses). */
	if (s->default_action == VS_SCMP_NOTIFY)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: SCMP_ACT_NOTIFY cannot be the default action",
			       vs_oci_path(k, where, "defaultAction"));
	uses_notify = false;
	if (rules) {
		vs_oci_path(k, where, "syscalls");
		size_t n = json_object_array_length(rules);
		s->rules = calloc(n ? n : 1, sizeof(vs_seccomp_rule));
		if (!s->rules)
			return vs_fail(err, ENOMEM, "%s", k);
		for (size_t i = 0; i < n; i++) {
			struct json_object *o;
			if (vs_oci_elem_obj(rules, i, k, &o, err) < 0)
				return -1;
			s->n_rules = i + 1;
			if (parse_rule(o, vs_oci_path_idx(e, k, i), &s->rules[i], err) < 0)
				return -1;
			uses_notify |= s->rules[i].action == VS_SCMP_NOTIFY;
		}
	}
	if (uses_notify && (!s->listener_path || !s->listener_path[0]))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: required when a rule uses SCMP_ACT_NOTIFY",
			       vs_oci_path(k, where, "listenerPath"));
	return 0;
}

void vs_oci_seccomp_clear(vs_seccomp *s)
{
	vs_strv_free(s->architectures);
	vs_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_rules; i++) {
		vs_strv_free(s->rules[i].names);
		free(s->rules[i].args);
	}
	free(s->rules);
	memset(s, 0, sizeof(*s));
}
