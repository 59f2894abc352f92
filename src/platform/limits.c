#include "platform/limits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/ha_config.h"
#include "platform/network.h"

int vsd_parse_size(const char *s, uint64_t *out, vs_err *err)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{"", 1}, {"B", 1},
		{"kB", 1000ULL}, {"MB", 1000ULL * 1000}, {"GB", 1000ULL * 1000 * 1000}, {"TB", 1000ULL * 1000 * 1000 * 1000},
		{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40},
	};
	if (!s || s[0] < '0' || s[0] > '9')
		return vs_fail(err, VS_EINVAL_CONFIG, "size \"%.32s\": expected a number with an optional unit (B, kB, MB, GB, KiB, MiB, GiB, ...)", s ? s : "");
	errno = 0;
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return vs_fail(err, VS_EINVAL_CONFIG, "size \"%.32s\": out of range", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (n > UINT64_MAX / units[i].mult)
			return vs_fail(err, VS_EINVAL_CONFIG, "size \"%.32s\": out of range", s);
		*out = n * units[i].mult;
		return 0;
	}
	return vs_fail(err, VS_EINVAL_CONFIG, "size \"%.32s\": unknown unit \"%.8s\" (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, end);
}

int vsd_limits_parse(struct json_object *config, vsd_limits *l, vs_err *err)
{
	memset(l, 0, sizeof(*l));
	if (!config)
		return 0;
	if (!json_object_is_type(config, json_type_object))
		return vs_fail(err, VS_EINVAL_CONFIG, "config: expected an object");
	json_object_object_foreach(config, key, val)
	{
		if (!json_object_is_type(val, json_type_string))
			return vs_fail(err, VS_EINVAL_CONFIG, "config.%s: expected a string", key);
		const char *v = json_object_get_string(val);
		if (!strcmp(key, "limits.memory")) {
			if (vsd_parse_size(v, &l->memory, err) < 0)
				return vs_wrap(err, "config.limits.memory");
			if (l->memory < (4ULL << 20))
				return vs_fail(err, VS_EINVAL_CONFIG, "config.limits.memory=%s: less than 4MiB", v);
		} else if (!strcmp(key, "limits.cpu")) {
			char *end;
			errno = 0;
			unsigned long n = strtoul(v, &end, 10);
			if (v[0] < '1' || v[0] > '9' || *end || errno || n > 1024)
				return vs_fail(err, VS_EINVAL_CONFIG, "config.limits.cpu=%.32s: expected a whole number of CPUs, 1 to 1024", v);
			l->cpus = (unsigned)n;
		} else {
			int ha = vsd_ha_key(key, v, err);
			if (ha == 0)
				ha = vsd_net_key(key, v, err);
			if (ha < 0)
				return -1;
			if (ha == 0)
				return vs_fail(err, VS_EINVAL_CONFIG, "config.%s: unknown key (known: limits.memory, limits.cpu, "
					       "restart.policy, health.check, health.interval, health.timeout, health.retries, "
					       "health.start_period, network, network.ipv4.address)", key);
		}
	}
	vsd_ha ha;
	return vsd_ha_parse(config, &ha, err);
}
