/* Incus's response envelopes: every API answer is one of these.
 *   sync:  {type:"sync", status:"Success", status_code:200, operation:"", error_code:0, error:"", metadata}
 *   async: {type:"async", status:"Operation created", status_code:100, operation:URL, ..., metadata: op}
 *   error: {type:"error", status:"", status_code:0, operation:"", error_code:HTTP, error:msg, metadata:null}
 * Each takes ownership of metadata. */
#ifndef VSD_ENVELOPE_H
#define VSD_ENVELOPE_H

#include <json-c/json.h>

struct json_object *vsd_env_sync(struct json_object *metadata);
struct json_object *vsd_env_async(const char *op_url, struct json_object *op);
struct json_object *vsd_env_error(int http_code, const char *msg);

/* The HTTP status an envelope is sent with: 200, 202, or its error_code. */
int vsd_env_http_status(struct json_object *env);

#endif
