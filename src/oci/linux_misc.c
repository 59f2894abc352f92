/* The smaller "linux" knobs: timeOffsets, personality, intelRdt and
 * netDevices. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>

#include "oci/parse.h"

static int parse_time_offset(struct json_object *offs, const char *key, const char *where, vs_time_offset *t,
			     vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *o;
	if (vs_json_member(offs, key, where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, key);
	if (vs_oci_int(o, "secs", k, INT64_MIN, INT64_MAX, &t->secs, NULL, err) < 0 ||
	    vs_oci_u32(o, "nanosecs", k, &t->nanosecs, NULL, err) < 0)
		return -1;
	if (t->nanosecs >= 1000000000)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.nanosecs: must be below 1000000000", k);
	t->set = true;
	return 0;
}

static int parse_time_offsets(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *offs;
	if (vs_json_member(obj, "timeOffsets", where, json_type_object, &offs, err) < 0)
		return -1;
	if (!offs)
		return 0;
	vs_oci_path(k, where, "timeOffsets");
	json_object_object_foreach(offs, key, val)
	{
		(void)val;
		if (strcmp(key, "monotonic") && strcmp(key, "boottime"))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: unknown clock (want monotonic or boottime)", k,
				       key);
	}
	return parse_time_offset(offs, "monotonic", k, &lx->time_monotonic, err) < 0 ||
			       parse_time_offset(offs, "boottime", k, &lx->time_boottime, err) < 0
		       ? -1
		       : 0;
}

static int parse_personality(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH], *domain = NULL;
	struct json_object *o;
	if (vs_json_member(obj, "personality", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "personality");
	if (vs_json_str(o, "domain", k, true, &domain, err) < 0)
		return -1;
	int rc = 0;
	if (!strcmp(domain, "LINUX"))
		lx->personality = PER_LINUX;
	else if (!strcmp(domain, "LINUX32"))
		lx->personality = PER_LINUX32;
	else
		rc = vs_fail(err, VS_EINVAL_CONFIG, "%s.domain: unknown domain '%s' (want LINUX or LINUX32)", k,
			     domain);
	free(domain);
	lx->has_personality = rc == 0;
	/* "flags" has no defined values yet; runc ignores it too. */
	return rc;
}

static int parse_intel_rdt(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *o;
	struct vs_intel_rdt *r = &lx->intel_rdt;
	if (vs_json_member(obj, "intelRdt", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "intelRdt");
	lx->has_intel_rdt = true;
	if (vs_json_str(o, "closID", k, false, &r->clos_id, err) < 0 ||
	    vs_json_str(o, "l3CacheSchema", k, false, &r->l3_cache_schema, err) < 0 ||
	    vs_json_str(o, "memBwSchema", k, false, &r->mem_bw_schema, err) < 0 ||
	    vs_json_bool(o, "enableCMT", k, &r->enable_cmt, NULL, err) < 0 ||
	    vs_json_bool(o, "enableMBM", k, &r->enable_mbm, NULL, err) < 0)
		return -1;
	/* closID names a directory under /sys/fs/resctrl. */
	if (r->clos_id && (!r->clos_id[0] || strchr(r->clos_id, '/') || !strcmp(r->clos_id, ".") ||
			   !strcmp(r->clos_id, "..")))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.closID: '%s' is not a valid resctrl group name", k,
			       r->clos_id);
	return 0;
}

/* netDevices: { "eth1": { "name": "net0" } } -> kv eth1=net0 (name
 * defaults to the host name). */
static int parse_net_devices(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *o;
	if (vs_json_member(obj, "netDevices", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "netDevices");
	size_t n = (size_t)json_object_object_length(o);
	lx->net_devices = calloc(n ? n : 1, sizeof(vs_kv));
	if (!lx->net_devices)
		return vs_fail(err, ENOMEM, "%s", k);
	json_object_object_foreach(o, key, val)
	{
		vs_kv *kv = &lx->net_devices[lx->n_net_devices];
		struct json_object *d;
		vs_oci_path(e, k, key);
		if (!json_object_is_type(val, json_type_object))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: expected object", e);
		lx->n_net_devices++;
		kv->key = strdup(key);
		if (!kv->key)
			return vs_fail(err, ENOMEM, "%s", e);
		if (vs_json_member(val, "name", e, json_type_string, &d, err) < 0)
			return -1;
		kv->value = strdup(d ? json_object_get_string(d) : key);
		if (!kv->value)
			return vs_fail(err, ENOMEM, "%s", e);
		/* Interface names: IFNAMSIZ-1 bytes, no '/' or whitespace. */
		const char *names[] = {kv->key, kv->value};
		for (int i = 0; i < 2; i++)
			if (!names[i][0] || strlen(names[i]) > 15 || strpbrk(names[i], "/ \t\n:"))
				return vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' is not a valid interface name", e,
					       names[i]);
	}
	return 0;
}

int vs_oci_parse_linux_misc(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err)
{
	if (parse_time_offsets(obj, where, lx, err) < 0 || parse_personality(obj, where, lx, err) < 0 ||
	    parse_intel_rdt(obj, where, lx, err) < 0 || parse_net_devices(obj, where, lx, err) < 0)
		return -1;
	return 0;
}
