/* Thin helpers over json-c that turn type mismatches into vs_err messages
 * naming the JSON path ("process.args[2]: expected string"). Only oci/ and
 * the front ends touch JSON; engines receive plain structs. */
#ifndef VS_JSON_H
#define VS_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* A regular file of at most VS_CONFIG_MAX bytes (see vs_read_regular). */
int vs_json_parse_file(const char *path, struct json_object **out, vs_err *err);
int vs_json_parse_buf(const char *buf, size_t len, const char *what, struct json_object **out, vs_err *err);

/* Getters: look up key in obj (an object). If absent: *present=false (if
 * present!=NULL) and return 0, or fail if required. `where` is the JSON path
 * of obj, used in messages. */
int vs_json_str(struct json_object *obj, const char *key, const char *where, bool required, char **out,
		vs_err *err);
int vs_json_bool(struct json_object *obj, const char *key, const char *where, bool *out, bool *present,
		 vs_err *err);
/* Array of strings -> NULL-terminated malloc'd vector. */
int vs_json_strv(struct json_object *obj, const char *key, const char *where, char ***out, size_t *n,
		 vs_err *err);
/* Return the member if present and of `type`, NULL if absent; fail on wrong type. */
int vs_json_member(struct json_object *obj, const char *key, const char *where, enum json_type type,
		   struct json_object **out, vs_err *err);

void vs_strv_free(char **v);

#endif
