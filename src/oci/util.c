/* JSON helpers shared by the oci/ section parsers. */
#include "oci/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON paths only name a field in messages: one too deep to fit is cut
 * short visibly, with "...". */
static const char *mark_cut(char *buf, int n)
{
	if (n >= VS_OCI_PATH)
		memcpy(buf + VS_OCI_PATH - 4, "...", 4);
	return buf;
}

const char *vs_oci_path(char *buf, const char *where, const char *key)
{
	return mark_cut(buf, snprintf(buf, VS_OCI_PATH, "%s%s%s", where, *where ? "." : "", key));
}

const char *vs_oci_path_idx(char *buf, const char *where, size_t i)
{
	return mark_cut(buf, snprintf(buf, VS_OCI_PATH, "%s[%zu]", where, i));
}

static int get_int(struct json_object *obj, const char *key, const char *where, struct json_object **v,
		   vs_err *err)
{
	char p[VS_OCI_PATH];
	*v = NULL;
	if (!json_object_object_get_ex(obj, key, v) || !*v)
		return 0;
	if (!json_object_is_type(*v, json_type_int))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: expected integer, got %s", vs_oci_path(p, where, key),
			       json_type_to_name(json_object_get_type(*v)));
	return 0;
}

int vs_oci_int(struct json_object *obj, const char *key, const char *where, int64_t min, int64_t max,
	       int64_t *out, bool *present, vs_err *err)
{
	char p[VS_OCI_PATH];
	struct json_object *v;
	if (get_int(obj, key, where, &v, err) < 0)
		return -1;
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	int64_t x = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64; get_int64 clamps them. */
	if ((x == INT64_MAX && json_object_get_uint64(v) > INT64_MAX) || x < min || x > max)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %s out of range [%lld, %lld]",
			       vs_oci_path(p, where, key), json_object_to_json_string(v), (long long)min,
			       (long long)max);
	*out = x;
	return 0;
}

int vs_oci_uint(struct json_object *obj, const char *key, const char *where, uint64_t max, uint64_t *out,
		bool *present, vs_err *err)
{
	char p[VS_OCI_PATH];
	struct json_object *v;
	if (get_int(obj, key, where, &v, err) < 0)
		return -1;
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %s out of range [0, %llu]", vs_oci_path(p, where, key),
			       json_object_to_json_string(v), (unsigned long long)max);
	*out = json_object_get_uint64(v);
	return 0;
}

static int u32_upto(struct json_object *obj, const char *key, const char *where, uint32_t max, uint32_t *out,
		    bool *present, vs_err *err)
{
	uint64_t v;
	bool have;
	if (vs_oci_uint(obj, key, where, max, &v, &have, err) < 0)
		return -1;
	if (present)
		*present = have;
	if (have)
		*out = (uint32_t)v;
	return 0;
}

int vs_oci_u32(struct json_object *obj, const char *key, const char *where, uint32_t *out, bool *present,
	       vs_err *err)
{
	return u32_upto(obj, key, where, UINT32_MAX, out, present, err);
}

int vs_oci_id(struct json_object *obj, const char *key, const char *where, uint32_t *out, bool *present,
	      vs_err *err)
{
	return u32_upto(obj, key, where, VS_OCI_ID_MAX, out, present, err);
}

int vs_oci_elem_obj(struct json_object *arr, size_t i, const char *where, struct json_object **out,
		    vs_err *err)
{
	char p[VS_OCI_PATH];
	*out = json_object_array_get_idx(arr, i);
	if (!json_object_is_type(*out, json_type_object))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: expected object, got %s", vs_oci_path_idx(p, where, i),
			       json_type_to_name(json_object_get_type(*out)));
	return 0;
}

void vs_oci_kv_free(vs_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int vs_oci_kv(struct json_object *obj, const char *key, const char *where, vs_kv **out, size_t *n,
	      vs_err *err)
{
	char p[VS_OCI_PATH];
	struct json_object *m;
	if (vs_json_member(obj, key, where, json_type_object, &m, err) < 0)
		return -1;
	if (!m)
		return 0;
	vs_oci_path(p, where, key);
	size_t len = (size_t)json_object_object_length(m), i = 0;
	vs_kv *kv = calloc(len ? len : 1, sizeof(*kv));
	if (!kv)
		return vs_fail(err, ENOMEM, "%s", p);
	json_object_object_foreach(m, k, v)
	{
		if (!json_object_is_type(v, json_type_string)) {
			vs_oci_kv_free(kv, i);
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: expected string, got %s", p, k,
				       json_type_to_name(json_object_get_type(v)));
		}
		kv[i].key = strdup(k);
		kv[i].value = strdup(json_object_get_string(v));
		i++;
		if (!kv[i - 1].key || !kv[i - 1].value) {
			vs_oci_kv_free(kv, i);
			return vs_fail(err, ENOMEM, "%s", p);
		}
	}
	*out = kv;
	*n = i;
	return 0;
}

int vs_oci_check_nul(struct json_object *obj, const char *where, vs_err *err)
{
	char p[VS_OCI_PATH];
	switch (json_object_get_type(obj)) {
	case json_type_string:
		if (strlen(json_object_get_string(obj)) != (size_t)json_object_get_string_len(obj))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: string contains a NUL byte", *where ? where : "(top)");
		return 0;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(obj); i++)
			if (vs_oci_check_nul(json_object_array_get_idx(obj, i), vs_oci_path_idx(p, where, i), err) < 0)
				return -1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(obj, k, v)
		{
			/* json-c keys are C strings; a NUL in a key already truncated it. */
			if (vs_oci_check_nul(v, vs_oci_path(p, where, k), err) < 0)
				return -1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

void vs_oci_strv_clear(char ***v, size_t *n)
{
	vs_strv_free(*v);
	*v = NULL;
	if (n)
		*n = 0;
}

/* Allocate and fill an array of `size`-byte elements with `fn`, one per
 * object in obj[key]; *n counts the elements started, for cleanup. */
int vs_oci_array(struct json_object *obj, const char *key, const char *where, size_t size, vs_oci_elem_fn fn,
		       void **out, size_t *n, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *arr;
	if (vs_json_member(obj, key, where, json_type_array, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	vs_oci_path(k, where, key);
	size_t len = json_object_array_length(arr);
	*out = calloc(len ? len : 1, size);
	if (!*out)
		return vs_fail(err, ENOMEM, "%s", k);
	for (size_t i = 0; i < len; i++) {
		struct json_object *o;
		if (vs_oci_elem_obj(arr, i, k, &o, err) < 0)
			return -1;
		*n = i + 1;
		if (fn(o, vs_oci_path_idx(e, k, i), (char *)*out + i * size, err) < 0)
			return -1;
	}
	return 0;
}
