/* Instance config keys and their values: the one validation of `config`
 * in a create request (unknown keys are refused). Pure functions. */
#ifndef VSD_LIMITS_H
#define VSD_LIMITS_H

#include <json-c/json.h>
#include <stdint.h>

#include "base/error.h"

typedef struct vsd_limits {
	uint64_t memory; /* bytes, 0 = unlimited */
	unsigned cpus;   /* whole CPUs of quota, 0 = unlimited */
} vsd_limits;

/* "256MiB", "1GB", "512kB", "1048576" (bytes) -> bytes. */
int vsd_parse_size(const char *s, uint64_t *out, vs_err *err);
/* config: an object of string values; fills *l. */
int vsd_limits_parse(struct json_object *config, vsd_limits *l, vs_err *err);

#endif
