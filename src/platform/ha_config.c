#include "platform/ha_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int apply(const char *key, const char *val, vsd_ha *ha, vs_err *err)
{
	long *dur = !strcmp(key, "health.interval") ? &ha->health.interval_ms
		  : !strcmp(key, "health.timeout") ? &ha->health.timeout_ms
		  : !strcmp(key, "health.start_period") ? &ha->health.start_period_ms : NULL;
	int rc;
	if (!strcmp(key, "restart.policy"))
		rc = vsd_restart_parse(val, &ha->restart, err);
	else if (!strcmp(key, "health.check"))
		rc = vsd_health_parse_check(val, &ha->health, err);
	else if (dur)
		rc = vsd_parse_duration_ms(val, dur, err);
	else if (!strcmp(key, "health.retries")) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(val, &end, 10);
		if (*val < '1' || *val > '9' || *end || errno || n > 100)
			return vs_fail(err, VS_EINVAL_CONFIG, "config.health.retries=%.32s: expected 1 to 100", val);
		ha->health.retries = (unsigned)n;
		rc = 0;
	} else
		return 0;
	return rc < 0 ? vs_wrap(err, "config.%s", key) : 1;
}

int vsd_ha_key(const char *key, const char *val, vs_err *err)
{
	vsd_ha tmp;
	vsd_health_defaults(&tmp.health);
	return apply(key, val, &tmp, err);
}

int vsd_ha_parse(struct json_object *config, vsd_ha *ha, vs_err *err)
{
	memset(ha, 0, sizeof(*ha));
	vsd_health_defaults(&ha->health);
	if (!config || !json_object_is_type(config, json_type_object))
		return 0;
	bool other = false;
	json_object_object_foreach(config, key, val)
	{
		if (!json_object_is_type(val, json_type_string))
			continue;
		if (apply(key, json_object_get_string(val), ha, err) < 0)
			return -1;
		other |= !strncmp(key, "health.", 7) && strcmp(key, "health.check");
	}
	if (other && ha->health.kind == VSD_HEALTH_NONE)
		return vs_fail(err, VS_EINVAL_CONFIG, "config.health.*: set health.check (exec:CMD, tcp:PORT or http:PORT[/PATH]) too");
	return 0;
}
