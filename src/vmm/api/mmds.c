/* Firecracker's MMDS data store as the API sees it: PUT replaces the
 * store (a JSON object), PATCH applies a JSON merge patch (RFC 7396: null
 * deletes a key, objects merge, anything else replaces), GET returns it;
 * the store stays within Firecracker's 51200 bytes. PUT /mmds/config is
 * checked and kept (version, the interfaces allowed, the IPv4 address).
 * The guest-side endpoint (the net device answering 169.254.169.254) is
 * not there yet: the store is reachable through the API only. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/fc_body.h"
#include "vmm/api/obs.h"

static struct json_object *merge(struct json_object *target, struct json_object *patch)
{
	if (!json_object_is_type(patch, json_type_object)) {
		json_object_put(target);
		return json_object_get(patch);
	}
	if (!json_object_is_type(target, json_type_object)) {
		json_object_put(target);
		target = json_object_new_object();
	}
	json_object_object_foreach(patch, k, v) {
		if (!v) {
			json_object_object_del(target, k);
			continue;
		}
		struct json_object *cur = NULL;
		json_object_object_get_ex(target, k, &cur);
		struct json_object *m = merge(json_object_get(cur), v);
		json_object_object_add(target, k, m); /* drops target's old reference */
	}
	return target;
}

int vs_fc_mmds_put(vs_fc_obs *o, struct json_object *body, bool patch, vs_err *err)
{
	struct json_object *next = NULL;
	if (patch) {
		if (o->mmds && json_object_deep_copy(o->mmds, &next, NULL) < 0)
			return vs_fail(err, ENOMEM, "mmds: copy the data store");
		struct json_object *p = NULL;
		if (json_object_deep_copy(body, &p, NULL) < 0) {
			json_object_put(next);
			return vs_fail(err, ENOMEM, "mmds: copy the patch");
		}
		next = merge(next, p);
		json_object_put(p);
	} else if (json_object_deep_copy(body, &next, NULL) < 0) {
		return vs_fail(err, ENOMEM, "mmds: copy the data store");
	}
	size_t n = strlen(json_object_to_json_string_ext(next, JSON_C_TO_STRING_PLAIN));
	if (n > VS_FC_MMDS_MAX) {
		json_object_put(next);
		return vs_fail(err, VS_EINVAL_CONFIG, "mmds: the data store would be %zu bytes, more than the %d allowed",
			       n, VS_FC_MMDS_MAX);
	}
	json_object_put(o->mmds);
	o->mmds = next;
	return 0;
}

struct json_object *vs_fc_mmds_get(vs_fc_obs *o)
{
	return o->mmds ? json_object_get(o->mmds) : json_object_new_object();
}

static bool link_local(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	uint32_t h = ntohl(a.s_addr);
	/* 169.254.0.0/16 without the first and last /24 (as Firecracker's pattern). */
	return (h >> 16) == 0xa9fe && ((h >> 8) & 0xff) != 0 && ((h >> 8) & 0xff) != 255;
}

int vs_fc_mmds_config(vs_fc_obs *o, vs_vmm *m, struct json_object *body, vs_err *err)
{
	static const char *const known[] = {"version", "network_interfaces", "ipv4_address", "imds_compat", NULL};
	const char *w = "mmds-config", *version = NULL, *addr = NULL;
	bool compat = false;
	struct json_object *ifs;
	if (vs_fc_only_keys(body, w, known, err) < 0 || vs_fc_get_str(body, w, "version", false, &version, err) < 0 ||
	    vs_fc_get(body, w, "network_interfaces", json_type_array, true, &ifs, err) < 0 ||
	    vs_fc_get_str(body, w, "ipv4_address", false, &addr, err) < 0 ||
	    vs_fc_get_bool(body, w, "imds_compat", false, &compat, err) < 0)
		return -1;
	if (vs_vmm_state_of(m) != VS_VMM_NOT_STARTED)
		return vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: not possible after the VM has started");
	if (version && strcmp(version, "V1") && strcmp(version, "V2"))
		return vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: version \"%.16s\" is not V1 or V2", version);
	if (addr && !link_local(addr))
		return vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: ipv4_address \"%.32s\" is not a valid IPv4 "
			       "link-local address (169.254.1.0-169.254.254.255)", addr);
	size_t n = json_object_array_length(ifs);
	if (n == 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: network_interfaces is empty");
	vs_vmm_spec *s = malloc(sizeof(*s));
	if (!s)
		return vs_fail(err, ENOMEM, "mmds-config");
	vs_vmm_describe(m, s);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ifs, i);
		if (!json_object_is_type(e, json_type_string)) {
			r = vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: network_interfaces[%zu] must be a string", i);
			break;
		}
		const char *id = json_object_get_string(e);
		bool found = false;
		for (unsigned d = 0; d < s->n_devs && !found; d++)
			found = s->devs[d].kind == VS_VMM_DEV_NET && !strcmp(s->devs[d].id, id);
		if (!found)
			r = vs_fail(err, VS_EINVAL_CONFIG, "mmds-config: no network interface \"%.64s\"", id);
	}
	free(s);
	if (r < 0)
		return -1;
	struct json_object *c = json_object_new_object(), *list = NULL;
	json_object_deep_copy(ifs, &list, NULL);
	json_object_object_add(c, "version", json_object_new_string(version ? version : "V1"));
	json_object_object_add(c, "network_interfaces", list);
	json_object_object_add(c, "ipv4_address", json_object_new_string(addr ? addr : "169.254.169.254"));
	json_object_object_add(c, "imds_compat", json_object_new_boolean(compat));
	json_object_put(o->mmds_config);
	o->mmds_config = c;
	return 0;
}
