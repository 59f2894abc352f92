/* The default OCI config (runc's `spec`), as a json-c tree. */
#ifndef VS_OCI_SPEC_DEFAULT_H
#define VS_OCI_SPEC_DEFAULT_H

#include <json-c/json.h>
#include <stdbool.h>

/* A new tree the caller owns (json_object_put), NULL when out of memory.
 * rootless: runc's specconv.ToRootless for the calling user. */
struct json_object *vs_spec_default(bool rootless);

#endif
