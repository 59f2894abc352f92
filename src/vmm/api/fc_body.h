/* Inside the API: the strict JSON body helpers shared by the files that
 * parse Firecracker's bodies (fc.c, fc_live.c, obs.c, mmds.c). Each fails
 * with VS_EINVAL_CONFIG and a message naming `what` and the field. */
#ifndef VS_VMM_API_FC_BODY_H
#define VS_VMM_API_FC_BODY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/ratelimit.h"

/* Every key of o is one of `known` (NULL-terminated). */
int vs_fc_only_keys(struct json_object *o, const char *what, const char *const *known, vs_err *err);
/* Member `key` of type t: 1 if present, 0 if absent (fails if required). */
int vs_fc_get(struct json_object *o, const char *what, const char *key, enum json_type t, bool required,
	      struct json_object **v, vs_err *err);
int vs_fc_get_str(struct json_object *o, const char *what, const char *key, bool required, const char **out,
		  vs_err *err);
int vs_fc_get_bool(struct json_object *o, const char *what, const char *key, bool required, bool *out, vs_err *err);
int vs_fc_get_uint(struct json_object *o, const char *what, const char *key, bool required, int64_t max,
		   int64_t *out, vs_err *err);
/* Firecracker's ids (1..64 of [A-Za-z0-9_]), equal to the URL's if given. */
int vs_fc_id_matches(const char *what, const char *path_id, const char *body_id, vs_err *err);

/* Member `key` (a RateLimiter: {bandwidth?, ops?: TokenBucket {size,
 * one_time_burst?, refill_time}}), if present, into *upd: each bucket
 * given is VS_RL_SET (size or refill_time 0 removes it), each absent one
 * VS_RL_KEEP. Returns 1 if present, 0 if absent. */
int vs_fc_rate_limiter(struct json_object *o, const char *what, const char *key, vs_rl_update *upd, vs_err *err);
/* A RateLimiter as JSON (NULL when it limits nothing). */
struct json_object *vs_fc_rate_limiter_json(const vs_rl_cfg *c);

#endif
