/* Inside the API: the strict JSON field readers of fc.c, shared with the
 * snapshot bodies (fc_snapshot.c). Each returns 1 if the field is there,
 * 0 if absent (-1 if it is required), -1 on a wrong type, naming it. */
#ifndef VS_VMM_API_FC_INT_H
#define VS_VMM_API_FC_INT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "base/error.h"

/* Every key of o is one of `known` (NULL-terminated). */
int vs_fc_only_keys(struct json_object *o, const char *what, const char *const *known, vs_err *err);
int vs_fc_get(struct json_object *o, const char *what, const char *key, enum json_type t, bool required,
	      struct json_object **v, vs_err *err);
int vs_fc_get_str(struct json_object *o, const char *what, const char *key, bool required, const char **out,
		  vs_err *err);
int vs_fc_get_bool(struct json_object *o, const char *what, const char *key, bool required, bool *out, vs_err *err);

#endif
