/* Firecracker's vsock and balloon bodies (strict, as the others) and the
 * JSON of GET /balloon, GET /balloon/statistics and their part of GET
 * /vm/config. */
#include <string.h>

#include "vmm/api/fc.h"
#include "vmm/api/fc_body.h"

int vs_fc_vsock(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	const char *w = "vsock", *uds, *id = NULL;
	int64_t cid;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_uint(o, w, "guest_cid", true, UINT32_MAX, &cid, err) < 0 ||
	    vs_fc_get_str(o, w, "uds_path", true, &uds, err) < 0 || vs_fc_get_str(o, w, "vsock_id", false, &id, err) < 0)
		return -1;
	vs_vmm_vsock v = {.guest_cid = (uint32_t)cid};
	if (strlen(uds) >= sizeof(v.uds_path))
		return vs_fail(err, VS_EINVAL_CONFIG, "vsock: \"uds_path\" longer than %zu bytes", sizeof(v.uds_path) - 1);
	if (id && strlen(id) >= sizeof(v.id))
		return vs_fail(err, VS_EINVAL_CONFIG, "vsock: \"vsock_id\" longer than %zu bytes", sizeof(v.id) - 1);
	memcpy(v.uds_path, uds, strlen(uds) + 1);
	if (id)
		memcpy(v.id, id, strlen(id) + 1);
	return vs_vmm_set_vsock(m, &v, err);
}

int vs_fc_balloon(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"amount_mib", "deflate_on_oom", "stats_polling_interval_s", NULL};
	const char *w = "balloon";
	int64_t mib, interval = 0;
	vs_vmm_balloon b = {0};
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_uint(o, w, "amount_mib", true, UINT32_MAX >> 8, &mib, err) < 0 ||
	    vs_fc_get_bool(o, w, "deflate_on_oom", true, &b.deflate_on_oom, err) < 0 ||
	    vs_fc_get_uint(o, w, "stats_polling_interval_s", false, 86400, &interval, err) < 0)
		return -1;
	b.amount_mib = (uint32_t)mib;
	b.stats_interval_s = (uint32_t)interval;
	return vs_vmm_set_balloon(m, &b, err);
}

int vs_fc_balloon_patch(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"amount_mib", NULL};
	int64_t mib;
	if (vs_fc_only_keys(o, "balloon", known, err) < 0 ||
	    vs_fc_get_uint(o, "balloon", "amount_mib", true, UINT32_MAX >> 8, &mib, err) < 0)
		return -1;
	return vs_vmm_balloon_target(m, (uint32_t)mib, err);
}

int vs_fc_balloon_stats_patch(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"stats_polling_interval_s", NULL};
	const char *w = "balloon statistics";
	int64_t s;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_uint(o, w, "stats_polling_interval_s", true, 86400, &s, err) < 0)
		return -1;
	return vs_vmm_balloon_interval(m, (uint32_t)s, err);
}

struct json_object *vs_fc_vsock_json(const vs_vmm_vsock *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "guest_cid", json_object_new_int64(v->guest_cid));
	json_object_object_add(o, "uds_path", json_object_new_string(v->uds_path));
	if (v->id[0])
		json_object_object_add(o, "vsock_id", json_object_new_string(v->id));
	return o;
}

struct json_object *vs_fc_balloon_json(const vs_vmm_balloon *b)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "amount_mib", json_object_new_int64(b->amount_mib));
	json_object_object_add(o, "deflate_on_oom", json_object_new_boolean(b->deflate_on_oom));
	json_object_object_add(o, "stats_polling_interval_s", json_object_new_int64(b->stats_interval_s));
	return o;
}

struct json_object *vs_fc_balloon_stats_json(const vs_vmm_balloon_stats *s)
{
	/* Firecracker's names, in the guest's tag order (virtio 1.2, 5.5.6.3). */
	static const char *const names[VS_BSTAT_N] = {
		"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory", "total_memory",
		"available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures"};
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "target_pages", json_object_new_int64(s->target_pages));
	json_object_object_add(o, "actual_pages", json_object_new_int64(s->actual_pages));
	json_object_object_add(o, "target_mib", json_object_new_int64(s->target_pages / 256));
	json_object_object_add(o, "actual_mib", json_object_new_int64(s->actual_pages / 256));
	for (unsigned i = 0; i < VS_BSTAT_N; i++)
		if (s->have >> i & 1)
			json_object_object_add(o, names[i], json_object_new_int64((int64_t)s->stats[i]));
	return o;
}
