#include "base/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"

int vs_json_parse_buf(const char *buf, size_t len, const char *what, struct json_object **out, vs_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return vs_fail(err, ENOMEM, "parse %s", what);
	struct json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t offset = tok->char_offset;
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !obj) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return vs_fail(err, VS_EINVAL_CONFIG, "parse %s: unexpected end of JSON", what);
		return vs_fail(err, VS_EINVAL_CONFIG, "parse %s: %s at offset %zu", what,
			       json_tokener_error_desc(jerr), offset);
	}
	*out = obj;
	return 0;
}

int vs_json_parse_file(const char *path, struct json_object **out, vs_err *err)
{
	char *buf;
	size_t len;
	if (vs_read_regular(path, VS_CONFIG_MAX, &buf, &len, err) < 0)
		return -1;
	int rc = vs_json_parse_buf(buf, len, path, out, err);
	free(buf);
	return rc;
}

int vs_json_member(struct json_object *obj, const char *key, const char *where, enum json_type type,
		   struct json_object **out, vs_err *err)
{
	struct json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0; /* absent or explicit null: both mean "not set" */
	if (!json_object_is_type(v, type))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s%s%s: expected %s, got %s", where, *where ? "." : "", key,
			       json_type_to_name(type), json_type_to_name(json_object_get_type(v)));
	*out = v;
	return 0;
}

int vs_json_str(struct json_object *obj, const char *key, const char *where, bool required, char **out,
		vs_err *err)
{
	struct json_object *v;
	if (vs_json_member(obj, key, where, json_type_string, &v, err) < 0)
		return -1;
	if (!v) {
		if (required)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s%s%s: required field missing", where,
				       *where ? "." : "", key);
		return 0;
	}
	char *s = strdup(json_object_get_string(v));
	if (!s)
		return vs_fail(err, ENOMEM, "%s.%s", where, key);
	free(*out);
	*out = s;
	return 0;
}

int vs_json_bool(struct json_object *obj, const char *key, const char *where, bool *out, bool *present,
		 vs_err *err)
{
	struct json_object *v;
	if (vs_json_member(obj, key, where, json_type_boolean, &v, err) < 0)
		return -1;
	if (present)
		*present = v != NULL;
	if (v)
		*out = json_object_get_boolean(v);
	return 0;
}

int vs_json_strv(struct json_object *obj, const char *key, const char *where, char ***out, size_t *n,
		 vs_err *err)
{
	struct json_object *arr;
	if (vs_json_member(obj, key, where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	size_t len = json_object_array_length(arr);
	char **v = calloc(len + 1, sizeof(char *));
	if (!v)
		return vs_fail(err, ENOMEM, "%s.%s", where, key);
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_string)) {
			vs_strv_free(v);
			return vs_fail(err, VS_EINVAL_CONFIG, "%s%s%s[%zu]: expected string", where,
				       *where ? "." : "", key, i);
		}
		v[i] = strdup(json_object_get_string(e));
		if (!v[i]) {
			vs_strv_free(v);
			return vs_fail(err, ENOMEM, "%s.%s", where, key);
		}
	}
	vs_strv_free(*out);
	*out = v;
	if (n)
		*n = len;
	return 0;
}

void vs_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
