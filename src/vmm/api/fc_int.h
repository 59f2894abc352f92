/* Inside the API: the strict field readers of fc.c, shared by the body
 * parsers (fc.c, fc_devices.c). Each fails with VS_EINVAL_CONFIG naming
 * `what` and the field; the getters return 1 if present, 0 if absent. */
#ifndef VS_VMM_API_FC_INT_H
#define VS_VMM_API_FC_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* Every key of o is one of `known` (NULL-terminated). */
int vs_fc_only_keys(struct json_object *o, const char *what, const char *const *known, vs_err *err);
int vs_fc_get(struct json_object *o, const char *what, const char *key, enum json_type t, bool required,
	      struct json_object **v, vs_err *err);
int vs_fc_get_str(struct json_object *o, const char *what, const char *key, bool required, const char **out,
		  vs_err *err);
int vs_fc_get_bool(struct json_object *o, const char *what, const char *key, bool required, bool *out,
		   vs_err *err);
int vs_fc_get_uint(struct json_object *o, const char *what, const char *key, bool required, int64_t max,
		   int64_t *out, vs_err *err);

#endif
