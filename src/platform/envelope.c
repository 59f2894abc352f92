#include "platform/envelope.h"

#include <string.h>

static struct json_object *envelope(const char *type, const char *status, int status_code, const char *op,
				    int error_code, const char *error, struct json_object *metadata)
{
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "status", json_object_new_string(status));
	json_object_object_add(e, "status_code", json_object_new_int(status_code));
	json_object_object_add(e, "operation", json_object_new_string(op));
	json_object_object_add(e, "error_code", json_object_new_int(error_code));
	json_object_object_add(e, "error", json_object_new_string(error));
	json_object_object_add(e, "metadata", metadata);
	return e;
}

struct json_object *vsd_env_sync(struct json_object *metadata)
{
	return envelope("sync", "Success", 200, "", 0, "", metadata);
}

struct json_object *vsd_env_async(const char *op_url, struct json_object *op)
{
	return envelope("async", "Operation created", 100, op_url, 0, "", op);
}

struct json_object *vsd_env_error(int http_code, const char *msg)
{
	return envelope("error", "", 0, "", http_code, msg, NULL);
}

int vsd_env_http_status(struct json_object *env)
{
	const char *type = json_object_get_string(json_object_object_get(env, "type"));
	if (type && !strcmp(type, "async"))
		return 202;
	if (type && !strcmp(type, "error"))
		return json_object_get_int(json_object_object_get(env, "error_code"));
	return 200;
}
