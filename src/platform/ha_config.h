/* The HA keys of an instance's config: restart.policy and health.*
 * (check, interval, timeout, retries, start_period). limits.c hands them
 * here, so `config` keeps one validation. Pure functions. */
#ifndef VSD_HA_CONFIG_H
#define VSD_HA_CONFIG_H

#include <json-c/json.h>

#include "platform/health.h"
#include "platform/restart.h"

typedef struct vsd_ha {
	vsd_restart_policy restart; /* default no */
	vsd_health health;          /* kind NONE without health.check */
} vsd_ha;

/* One key: 1 if it is an HA key with a valid value, 0 if it is not an HA
 * key, -1 with err if its value is bad. */
int vsd_ha_key(const char *key, const char *val, vs_err *err);
/* The whole config (an object of strings, already checked key by key):
 * fills *ha; health.* other than check without health.check is refused. */
int vsd_ha_parse(struct json_object *config, vsd_ha *ha, vs_err *err);

#endif
