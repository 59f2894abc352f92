/* /1.0/networks, /1.0/networks/{name}, /1.0/networks/{name}/leases:
 * sync, as Incus's (creating a bridge takes milliseconds). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/envelope.h"
#include "platform/name.h"
#include "platform/network.h"

static struct json_object *create(vsd *d, vsd_req *r)
{
	static const char *const keys[] = {"name", "type", "description", "config", NULL};
	static const char *const cfg_keys[] = {"ipv4.address", "ipv4.nat", NULL};
	struct json_object *body = NULL, *v;
	vs_err err = {0};
	const char *name = NULL, *ipv4 = NULL;
	bool nat = true;
	if (vsd_api_body(r->body, r->body_len, keys, &body, &err) < 0)
		goto bad;
	if (!json_object_object_get_ex(body, "name", &v) || !json_object_is_type(v, json_type_string)) {
		vs_fail(&err, VS_EINVAL_CONFIG, "name: required, a string");
		goto bad;
	}
	name = json_object_get_string(v);
	if (vsd_name_check(name, "network name", &err) < 0)
		goto bad;
	snprintf(r->summary, sizeof(r->summary), "create network %s", name);
	if (json_object_object_get_ex(body, "type", &v) &&
	    (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "bridge"))) {
		vs_fail(&err, VS_EINVAL_CONFIG, "type: only \"bridge\" is supported");
		goto bad;
	}
	struct json_object *cfg = json_object_object_get(body, "config");
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		vs_fail(&err, VS_EINVAL_CONFIG, "config: required, an object with ipv4.address (GATEWAY/PREFIX)");
		goto bad;
	}
	if (vsd_api_keys(cfg, "config", cfg_keys, &err) < 0)
		goto bad;
	json_object_object_foreach(cfg, k, val)
	{
		if (!json_object_is_type(val, json_type_string)) {
			vs_fail(&err, VS_EINVAL_CONFIG, "config.%s: expected a string", k);
			goto bad;
		}
	}
	ipv4 = json_object_get_string(json_object_object_get(cfg, "ipv4.address"));
	if (!ipv4) {
		vs_fail(&err, VS_EINVAL_CONFIG, "config.ipv4.address: required (GATEWAY/PREFIX, like 10.10.0.1/24)");
		goto bad;
	}
	if ((v = json_object_object_get(cfg, "ipv4.nat"))) {
		const char *s = json_object_get_string(v);
		if (strcmp(s, "true") && strcmp(s, "false")) {
			vs_fail(&err, VS_EINVAL_CONFIG, "config.ipv4.nat: expected \"true\" or \"false\"");
			goto bad;
		}
		nat = !strcmp(s, "true");
	}
	if (vsd_net_create(d, name, ipv4, nat, &err) < 0)
		goto bad;
	json_object_put(body);
	return vsd_env_sync(NULL);
bad:
	json_object_put(body);
	return vsd_api_error(&err);
}

struct json_object *vsd_api_networks(vsd *d, vsd_req *r, char **seg, int n)
{
	vs_err err = {0};
	bool get = !strcmp(r->method, "GET");
	if (n == 0) {
		if (get)
			return vsd_env_sync(vsd_net_list(d, r->recursion && atoi(r->recursion) >= 1));
		if (!strcmp(r->method, "POST"))
			return create(d, r);
		return vsd_env_error(405, "method not allowed");
	}
	const char *name = seg[0];
	if (vsd_name_check(name, "network name", &err) < 0)
		return vsd_api_error(&err);
	struct json_object *o = vsd_net_json(d, name);
	if (!o) {
		vs_fail(&err, ENOENT, "network %s not found", name);
		return vsd_api_error(&err);
	}
	if (n == 1 && get)
		return vsd_env_sync(o);
	json_object_put(o);
	if (n == 1 && !strcmp(r->method, "DELETE")) {
		snprintf(r->summary, sizeof(r->summary), "delete network %s", name);
		return vsd_net_delete(d, name, &err) < 0 ? vsd_api_error(&err) : vsd_env_sync(NULL);
	}
	if (n == 2 && !strcmp(seg[1], "leases"))
		return get ? vsd_env_sync(vsd_net_leases(d, name)) : vsd_env_error(405, "method not allowed");
	if (n == 1)
		return vsd_env_error(405, "method not allowed");
	return vsd_env_error(404, "not found");
}
