/* "linux.resources" (and `update --resources`): cgroup limits. Values are
 * range-checked here so the cgroup code can write them as they are. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/parse.h"

static int opt_i64(struct json_object *o, const char *key, const char *where, int64_t min, vs_opt_i64 *out,
		   vs_err *err)
{
	return vs_oci_int(o, key, where, min, INT64_MAX, &out->v, &out->set, err);
}

static int opt_u64(struct json_object *o, const char *key, const char *where, uint64_t max, vs_opt_u64 *out,
		   vs_err *err)
{
	return vs_oci_uint(o, key, where, max, &out->v, &out->set, err);
}

static int opt_bool(struct json_object *o, const char *key, const char *where, bool *has, bool *out, vs_err *err)
{
	return vs_json_bool(o, key, where, out, has, err);
}

static int parse_device_rule(struct json_object *o, const char *where, vs_device_rule *d, vs_err *err)
{
	char k[VS_OCI_PATH], *type = NULL, *access = NULL;
	bool has_allow, have;
	if (vs_json_bool(o, "allow", where, &d->allow, &has_allow, err) < 0)
		return -1;
	if (!has_allow)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: required field missing", vs_oci_path(k, where, "allow"));
	if (vs_json_str(o, "type", where, false, &type, err) < 0)
		return -1;
	d->type = type ? type[0] : 'a';
	bool ok = !type || (strlen(type) == 1 && strchr("abc", type[0]));
	if (!ok)
		vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown device type '%s' (want a, b or c)",
			vs_oci_path(k, where, "type"), type);
	free(type);
	if (!ok)
		return -1;
	d->major = d->minor = -1; /* absent = wildcard */
	if (vs_oci_int(o, "major", where, -1, UINT32_MAX, &d->major, &have, err) < 0 ||
	    vs_oci_int(o, "minor", where, -1, UINT32_MAX, &d->minor, &have, err) < 0 ||
	    vs_json_str(o, "access", where, false, &access, err) < 0)
		return -1;
	if (!access) {
		strcpy(d->access, "rwm");
		return 0;
	}
	/* Each of r, w, m at most once: the result fits in access[4]. */
	size_t n = 0;
	for (const char *c = access; *c; c++) {
		if (!strchr("rwm", *c) || memchr(d->access, *c, n)) {
			vs_fail(err, VS_EINVAL_CONFIG, "%s: '%s' is not a subset of \"rwm\"",
				vs_oci_path(k, where, "access"), access);
			free(access);
			return -1;
		}
		d->access[n++] = *c;
	}
	d->access[n] = 0;
	free(access);
	return 0;
}


static int dev_rule_fn(struct json_object *o, const char *where, void *elem, vs_err *err)
{
	return parse_device_rule(o, where, elem, err);
}

static int major_minor(struct json_object *o, const char *where, int64_t *major, int64_t *minor, vs_err *err)
{
	bool a, b;
	if (vs_oci_int(o, "major", where, 0, UINT32_MAX, major, &a, err) < 0 ||
	    vs_oci_int(o, "minor", where, 0, UINT32_MAX, minor, &b, err) < 0)
		return -1;
	if (!a || !b)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: required field missing", where, a ? "minor" : "major");
	return 0;
}

static int weight_dev_fn(struct json_object *o, const char *where, void *elem, vs_err *err)
{
	vs_blkio_weight_dev *w = elem;
	if (major_minor(o, where, &w->major, &w->minor, err) < 0)
		return -1;
	/* blkio weights are 10..1000; 0 is accepted by runc to mean "remove". */
	return opt_u64(o, "weight", where, 1000, &w->weight, err) < 0 ||
			       opt_u64(o, "leafWeight", where, 1000, &w->leaf_weight, err) < 0
		       ? -1
		       : 0;
}

static int throttle_fn(struct json_object *o, const char *where, void *elem, vs_err *err)
{
	vs_blkio_throttle *t = elem;
	bool have;
	if (major_minor(o, where, &t->major, &t->minor, err) < 0 ||
	    vs_oci_uint(o, "rate", where, UINT64_MAX, &t->rate, &have, err) < 0)
		return -1;
	if (!have)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.rate: required field missing", where);
	return 0;
}

static int hugepage_fn(struct json_object *o, const char *where, void *elem, vs_err *err)
{
	vs_hugepage_limit *h = elem;
	bool have;
	if (vs_json_str(o, "pageSize", where, true, &h->page_size, err) < 0 ||
	    vs_oci_uint(o, "limit", where, UINT64_MAX, &h->limit, &have, err) < 0)
		return -1;
	if (!have)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.limit: required field missing", where);
	return 0;
}

static int net_prio_fn(struct json_object *o, const char *where, void *elem, vs_err *err)
{
	vs_net_prio *p = elem;
	bool have;
	if (vs_json_str(o, "name", where, true, &p->name, err) < 0 ||
	    vs_oci_u32(o, "priority", where, &p->priority, &have, err) < 0)
		return -1;
	if (!have)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.priority: required field missing", where);
	return 0;
}

static int parse_memory(struct json_object *m, const char *w, vs_resources *r, vs_err *err)
{
	/* -1 = unlimited; anything below is meaningless. */
	if (opt_i64(m, "limit", w, -1, &r->mem_limit, err) < 0 || opt_i64(m, "reservation", w, -1, &r->mem_reservation, err) < 0 ||
	    opt_i64(m, "swap", w, -1, &r->mem_swap, err) < 0 || opt_i64(m, "kernel", w, -1, &r->mem_kernel, err) < 0 ||
	    opt_i64(m, "kernelTCP", w, -1, &r->mem_kernel_tcp, err) < 0 ||
	    opt_u64(m, "swappiness", w, 100, &r->mem_swappiness, err) < 0 ||
	    opt_bool(m, "disableOOMKiller", w, &r->has_disable_oom_killer, &r->disable_oom_killer, err) < 0 ||
	    opt_bool(m, "useHierarchy", w, &r->has_use_hierarchy, &r->use_hierarchy, err) < 0 ||
	    opt_bool(m, "checkBeforeUpdate", w, &r->has_check_before_update, &r->check_before_update, err) < 0)
		return -1;
	return 0;
}

static int parse_cpu(struct json_object *c, const char *w, vs_resources *r, vs_err *err)
{
	if (opt_u64(c, "shares", w, UINT64_MAX, &r->cpu_shares, err) < 0 ||
	    opt_i64(c, "quota", w, -1, &r->cpu_quota, err) < 0 || opt_u64(c, "burst", w, UINT64_MAX, &r->cpu_burst, err) < 0 ||
	    opt_u64(c, "period", w, UINT64_MAX, &r->cpu_period, err) < 0 ||
	    opt_i64(c, "realtimeRuntime", w, INT64_MIN, &r->cpu_realtime_runtime, err) < 0 ||
	    opt_u64(c, "realtimePeriod", w, UINT64_MAX, &r->cpu_realtime_period, err) < 0 ||
	    vs_json_str(c, "cpus", w, false, &r->cpu_cpus, err) < 0 ||
	    vs_json_str(c, "mems", w, false, &r->cpu_mems, err) < 0)
		return -1;
	/* cpu.idle is a boolean-like 0/1 in cgroup v2. */
	return vs_oci_int(c, "idle", w, 0, 1, &r->cpu_idle.v, &r->cpu_idle.set, err);
}

static int parse_blkio(struct json_object *b, const char *w, vs_resources *r, vs_err *err)
{
	static const char *const keys[VS_THR_KINDS] = {
		[VS_THR_READ_BPS] = "throttleReadBpsDevice",
		[VS_THR_WRITE_BPS] = "throttleWriteBpsDevice",
		[VS_THR_READ_IOPS] = "throttleReadIOPSDevice",
		[VS_THR_WRITE_IOPS] = "throttleWriteIOPSDevice",
	};
	if (opt_u64(b, "weight", w, 1000, &r->blkio_weight, err) < 0 ||
	    opt_u64(b, "leafWeight", w, 1000, &r->blkio_leaf_weight, err) < 0 ||
	    vs_oci_array(b, "weightDevice", w, sizeof(vs_blkio_weight_dev), weight_dev_fn,
			(void **)&r->blkio_weight_devices, &r->n_blkio_weight_devices, err) < 0)
		return -1;
	for (int t = 0; t < VS_THR_KINDS; t++)
		if (vs_oci_array(b, keys[t], w, sizeof(vs_blkio_throttle), throttle_fn, (void **)&r->blkio_throttle[t],
				&r->n_blkio_throttle[t], err) < 0)
			return -1;
	return 0;
}

/* Fetch the sub-object obj[key] and run fn on it with its path. */
static int section(struct json_object *obj, const char *key, const char *where, vs_resources *r,
		   int (*fn)(struct json_object *, const char *, vs_resources *, vs_err *), vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *o;
	if (vs_json_member(obj, key, where, json_type_object, &o, err) < 0)
		return -1;
	return o ? fn(o, vs_oci_path(k, where, key), r, err) : 0;
}

static int parse_pids(struct json_object *p, const char *w, vs_resources *r, vs_err *err)
{
	return opt_i64(p, "limit", w, INT64_MIN, &r->pids_limit, err);
}

static int parse_network(struct json_object *n, const char *w, vs_resources *r, vs_err *err)
{
	if (opt_u64(n, "classID", w, UINT32_MAX, &r->net_class_id, err) < 0)
		return -1;
	return vs_oci_array(n, "priorities", w, sizeof(vs_net_prio), net_prio_fn, (void **)&r->net_priorities,
			   &r->n_net_priorities, err);
}

/* rdma: { "mlx5_1": { "hcaHandles": 3, "hcaObjects": 10000 } } */
static int parse_rdma(struct json_object *obj, const char *where, vs_resources *r, vs_err *err)
{
	char k[VS_OCI_PATH], e[VS_OCI_PATH];
	struct json_object *o;
	if (vs_json_member(obj, "rdma", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "rdma");
	size_t n = (size_t)json_object_object_length(o);
	r->rdma = calloc(n ? n : 1, sizeof(*r->rdma));
	if (!r->rdma)
		return vs_fail(err, ENOMEM, "%s", k);
	json_object_object_foreach(o, dev, val)
	{
		struct vs_rdma_limit *l = &r->rdma[r->n_rdma];
		vs_oci_path(e, k, dev);
		if (!json_object_is_type(val, json_type_object))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: expected object", e);
		r->n_rdma++;
		l->device = strdup(dev);
		if (!l->device)
			return vs_fail(err, ENOMEM, "%s", e);
		if (opt_u64(val, "hcaHandles", e, UINT32_MAX, &l->hca_handles, err) < 0 ||
		    opt_u64(val, "hcaObjects", e, UINT32_MAX, &l->hca_objects, err) < 0)
			return -1;
	}
	return 0;
}

int vs_oci_parse_resources(struct json_object *obj, const char *where, vs_resources *r, vs_err *err)
{
	if (vs_oci_array(obj, "devices", where, sizeof(vs_device_rule), dev_rule_fn, (void **)&r->devices,
			&r->n_devices, err) < 0 ||
	    section(obj, "memory", where, r, parse_memory, err) < 0 || section(obj, "cpu", where, r, parse_cpu, err) < 0 ||
	    section(obj, "pids", where, r, parse_pids, err) < 0 || section(obj, "blockIO", where, r, parse_blkio, err) < 0 ||
	    section(obj, "network", where, r, parse_network, err) < 0 ||
	    vs_oci_array(obj, "hugepageLimits", where, sizeof(vs_hugepage_limit), hugepage_fn,
			(void **)&r->hugepage_limits, &r->n_hugepage_limits, err) < 0 ||
	    vs_oci_kv(obj, "unified", where, &r->unified, &r->n_unified, err) < 0 ||
	    parse_rdma(obj, where, r, err) < 0)
		return -1;
	return 0;
}

void vs_resources_clear(vs_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->blkio_weight_devices);
	for (int t = 0; t < VS_THR_KINDS; t++)
		free(r->blkio_throttle[t]);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		free(r->net_priorities[i].name);
	free(r->net_priorities);
	vs_oci_kv_free(r->unified, r->n_unified);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	memset(r, 0, sizeof(*r));
}

int vs_resources_parse(const char *json, size_t len, vs_resources *res, vs_err *err)
{
	struct json_object *root;
	vs_resources r = {0};
	if (vs_json_parse_buf(json, len, "resources", &root, err) < 0)
		return -1;
	int rc = -1;
	if (!json_object_is_type(root, json_type_object))
		vs_fail(err, VS_EINVAL_CONFIG, "resources: expected a JSON object");
	else if (vs_oci_check_nul(root, "", err) == 0 && vs_oci_parse_resources(root, "", &r, err) == 0)
		rc = 0;
	json_object_put(root);
	if (rc < 0) {
		vs_resources_clear(&r);
		return -1;
	}
	*res = r;
	return 0;
}
