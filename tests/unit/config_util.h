/* Shared by the test_config*.c unit tests: a small valid config and a JSON
 * merge patch (RFC 7386: objects merge, null deletes, anything else
 * replaces) so each case states only what it changes. */
#ifndef VS_TEST_CONFIG_UTIL_H
#define VS_TEST_CONFIG_UTIL_H

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"

static const char config_base[] =
	"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}";

static inline void merge_patch(struct json_object *target, struct json_object *patch)
{
	json_object_object_foreach(patch, k, v)
	{
		struct json_object *cur = json_object_object_get(target, k);
		if (!v)
			json_object_object_del(target, k);
		else if (json_object_is_type(v, json_type_object) && json_object_is_type(cur, json_type_object))
			merge_patch(cur, v);
		else
			json_object_object_add(target, k, json_object_get(v));
	}
}

/* config_base with `patch` applied, as a malloc'd string. */
static inline char *patched(const char *patch)
{
	struct json_object *base = json_tokener_parse(config_base);
	struct json_object *p = json_tokener_parse(patch);
	if (!base || !p)
		abort(); /* a typo in the test itself */
	merge_patch(base, p);
	char *s = strdup(json_object_to_json_string(base));
	json_object_put(base);
	json_object_put(p);
	return s;
}

static inline int parse_patched(const char *patch, vs_config **cfg, vs_err *err)
{
	char *s = patched(patch);
	int rc = vs_config_parse(s, strlen(s), "/bundle", cfg, err);
	free(s);
	return rc;
}

#endif
