/* Firecracker's rate limiters (RateLimiter, TokenBucket) in drive and
 * network-interface bodies, and the post-boot PATCHes of both
 * (PartialDrive: a new backing file and/or rate limiter; PartialNetwork-
 * Interface: rate limiters). Strict bodies, as everywhere in the API. */
#include <stdio.h>
#include <string.h>

#include "vmm/api/fc.h"
#include "vmm/api/fc_body.h"

static int bucket(struct json_object *o, const char *what, const char *key, vs_rl_change *ch, vs_tbucket_cfg *c,
		  vs_err *err)
{
	static const char *const known[] = {"size", "one_time_burst", "refill_time", NULL};
	struct json_object *b;
	int r = vs_fc_get(o, what, key, json_type_object, false, &b, err);
	if (r <= 0)
		return r;
	char w[96];
	snprintf(w, sizeof(w), "%s: %s", what, key);
	int64_t size = 0, burst = 0, refill = 0;
	if (vs_fc_only_keys(b, w, known, err) < 0 ||
	    vs_fc_get_uint(b, w, "size", true, (int64_t)VS_RL_MAX_TOKENS, &size, err) < 0 ||
	    vs_fc_get_uint(b, w, "one_time_burst", false, (int64_t)VS_RL_MAX_TOKENS, &burst, err) < 0 ||
	    vs_fc_get_uint(b, w, "refill_time", true, (int64_t)VS_RL_MAX_REFILL_MS, &refill, err) < 0)
		return -1;
	*ch = VS_RL_SET;
	*c = (vs_tbucket_cfg){(uint64_t)size, (uint64_t)burst, (uint64_t)refill};
	return 1;
}

int vs_fc_rate_limiter(struct json_object *o, const char *what, const char *key, vs_rl_update *upd, vs_err *err)
{
	static const char *const known[] = {"bandwidth", "ops", NULL};
	struct json_object *rl;
	*upd = (vs_rl_update){0};
	int r = vs_fc_get(o, what, key, json_type_object, false, &rl, err);
	if (r <= 0)
		return r;
	char w[96];
	snprintf(w, sizeof(w), "%s: %s", what, key);
	if (vs_fc_only_keys(rl, w, known, err) < 0 || bucket(rl, w, "bandwidth", &upd->bw_change, &upd->cfg.bw, err) < 0 ||
	    bucket(rl, w, "ops", &upd->ops_change, &upd->cfg.ops, err) < 0)
		return -1;
	return 1;
}

static struct json_object *bucket_json(const vs_tbucket_cfg *c)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "size", json_object_new_int64((int64_t)c->size));
	if (c->one_time_burst)
		json_object_object_add(o, "one_time_burst", json_object_new_int64((int64_t)c->one_time_burst));
	json_object_object_add(o, "refill_time", json_object_new_int64((int64_t)c->refill_ms));
	return o;
}

struct json_object *vs_fc_rate_limiter_json(const vs_rl_cfg *c)
{
	if (!vs_rl_cfg_on(c))
		return NULL;
	struct json_object *o = json_object_new_object();
	if (vs_tbucket_cfg_on(&c->bw))
		json_object_object_add(o, "bandwidth", bucket_json(&c->bw));
	if (vs_tbucket_cfg_on(&c->ops))
		json_object_object_add(o, "ops", bucket_json(&c->ops));
	return o;
}

int vs_fc_drive_patch(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	const char *w = "drive", *id, *path = NULL;
	vs_rl_update rl;
	int have_rl;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "drive_id", true, &id, err) < 0 ||
	    vs_fc_get_str(o, w, "path_on_host", false, &path, err) < 0 ||
	    (have_rl = vs_fc_rate_limiter(o, w, "rate_limiter", &rl, err)) < 0 ||
	    vs_fc_id_matches(w, path_id, id, err) < 0)
		return -1;
	/* Checked even with nothing to change: the drive must exist, the VM run. */
	return vs_vmm_update_device(m, VS_VMM_DEV_BLOCK, id, path, have_rl ? &rl : NULL, NULL, err);
}

int vs_fc_net_patch(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	const char *w = "network-interface", *id;
	vs_rl_update rx, tx;
	int have_rx, have_tx;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "iface_id", true, &id, err) < 0 ||
	    (have_rx = vs_fc_rate_limiter(o, w, "rx_rate_limiter", &rx, err)) < 0 ||
	    (have_tx = vs_fc_rate_limiter(o, w, "tx_rate_limiter", &tx, err)) < 0 ||
	    vs_fc_id_matches(w, path_id, id, err) < 0)
		return -1;
	/* Checked even with nothing to change: the interface must exist. */
	return vs_vmm_update_device(m, VS_VMM_DEV_NET, id, NULL, have_rx ? &rx : NULL, have_tx ? &tx : NULL, err);
}
