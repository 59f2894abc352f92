/* Vessel's API extension for live migration (not in Firecracker's spec):
 * PUT /migrate {"destination": "unix:PATH"|"tcp:HOST:PORT",
 * "max_downtime_ms": N?, "max_rounds": N?} migrates the running VM and
 * answers when it is done: 200 with the statistics (the VMM then exits),
 * or 400 with the reason (the VM runs on here, as it was). GET /migrate
 * answers the statistics of the last migration (state "none" if none). */
#include <string.h>

#include "vmm/api/fc.h"
#include "vmm/api/fc_body.h"

static const char *state_name(vs_vmm_mig_state s)
{
	switch (s) {
	case VS_MIG_ACTIVE: return "active";
	case VS_MIG_COMPLETED: return "completed";
	case VS_MIG_FAILED: return "failed";
	default: return "none";
	}
}

struct json_object *vs_fc_migrate_json(const vs_vmm_mig_stats *s)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(state_name(s->state)));
	if (s->state == VS_MIG_IDLE)
		return o;
	json_object_object_add(o, "destination", json_object_new_string(s->dest));
	json_object_object_add(o, "max_downtime_ms", json_object_new_int64(s->max_downtime_ms));
	json_object_object_add(o, "rounds", json_object_new_int64(s->rounds));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)s->bytes));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)s->pages));
	json_object_object_add(o, "zero_pages", json_object_new_int64((int64_t)s->zero_pages));
	json_object_object_add(o, "last_dirty_pages", json_object_new_int64((int64_t)s->last_dirty_pages));
	json_object_object_add(o, "state_bytes", json_object_new_int64((int64_t)s->state_bytes));
	json_object_object_add(o, "total_ms", json_object_new_double((double)s->total_us / 1000.0));
	json_object_object_add(o, "downtime_ms", json_object_new_double((double)s->downtime_us / 1000.0));
	json_object_object_add(o, "downtime_source_ms", json_object_new_double((double)s->downtime_source_us / 1000.0));
	json_object_object_add(o, "destination_restore_ms", json_object_new_double((double)s->dest_restore_us / 1000.0));
	if (s->state == VS_MIG_FAILED)
		json_object_object_add(o, "error", json_object_new_string(s->error));
	return o;
}

int vs_fc_migrate(vs_vmm *m, struct json_object *o, vs_vmm_mig_stats *st, vs_err *err)
{
	static const char *const known[] = {"destination", "max_downtime_ms", "max_rounds", NULL};
	const char *w = "migrate", *dest;
	int64_t down = 0, rounds = 0;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "destination", true, &dest, err) < 0 ||
	    vs_fc_get_uint(o, w, "max_downtime_ms", false, 60000, &down, err) < 0 ||
	    vs_fc_get_uint(o, w, "max_rounds", false, 1000, &rounds, err) < 0)
		return -1;
	vs_vmm_mig_params p = {.max_downtime_ms = (uint32_t)down, .max_rounds = (uint32_t)rounds};
	if (strlen(dest) >= sizeof(p.dest))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: destination longer than %zu bytes", w, sizeof(p.dest) - 1);
	strcpy(p.dest, dest);
	return vs_vmm_migrate(m, &p, st, err);
}
