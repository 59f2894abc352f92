/* linux.resources on the unified (v2) hierarchy. The spec speaks v1; the
 * values are mapped the way runc and crun map them, so a config behaves
 * the same under either runtime. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ctr/cgroup_internal.h"

uint64_t vs_cg_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	/* [2, 262144] -> [1, 10000] linearly. */
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t vs_cg_blkio_to_io_weight(uint64_t w)
{
	if (w == 0)
		return 0;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	/* [10, 1000] -> [1, 10000] linearly. */
	return 1 + (w - 10) * 9999 / 990;
}

int vs_cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, vs_err *err)
{
	/* v1's swap counts memory+swap; v2's memory.swap.max counts swap alone. */
	if (limit == -1 && swap == 0) {
		*out = -1; /* unlimited memory without a swap value: swap unlimited too */
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*out = swap;
		return 0;
	}
	if (limit <= 0)
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "linux.resources.memory.swap=%" PRId64 ": needs a memory.limit (it limits memory+swap)",
			       swap);
	if (swap < limit)
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "linux.resources.memory.swap=%" PRId64 ": must be >= memory.limit=%" PRId64, swap, limit);
	*out = swap - limit;
	return 0;
}

static const char *num_or_max(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		return "max";
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

int vs_cg_v2_cpu(const char *dir, const vs_resources *r, vs_err *err)
{
	char b[64], b2[32];
	if ((r->cpu_realtime_runtime.set && r->cpu_realtime_runtime.v) ||
	    (r->cpu_realtime_period.set && r->cpu_realtime_period.v))
		return vs_fail(err, VS_ENOTSUP_HOST, "linux.resources.cpu.realtimeRuntime/realtimePeriod: %s",
			       "cgroup v2 has no realtime CPU limits");
	if (r->cpu_shares.set && r->cpu_shares.v) {
		snprintf(b, sizeof(b), "%" PRIu64, vs_cg_shares_to_weight(r->cpu_shares.v));
		if (vs_cg_set(dir, "cpu.weight", b, err, "cpu.shares=%" PRIu64, r->cpu_shares.v) < 0)
			return -1;
	}
	bool quota = r->cpu_quota.set && r->cpu_quota.v, period = r->cpu_period.set && r->cpu_period.v;
	if (quota || period) {
		/* cpu.max is "QUOTA PERIOD"; a lone QUOTA keeps the period, but
		 * a lone PERIOD is not accepted: keep the current quota. */
		char cur[32] = "max";
		if (!quota) {
			char *s;
			if (vs_cg_read(dir, "cpu.max", &s, err) < 0)
				return vs_wrap(err, "linux.resources.cpu.period=%" PRIu64, r->cpu_period.v);
			sscanf(s, "%31s", cur);
			free(s);
		}
		const char *q = quota ? num_or_max(b2, sizeof(b2), r->cpu_quota.v) : cur;
		if (period)
			snprintf(b, sizeof(b), "%s %" PRIu64, q, r->cpu_period.v);
		else
			snprintf(b, sizeof(b), "%s", q);
		char field[96];
		if (quota && period)
			snprintf(field, sizeof(field), "cpu.quota=%" PRId64 ",cpu.period=%" PRIu64, r->cpu_quota.v,
				 r->cpu_period.v);
		else if (quota)
			snprintf(field, sizeof(field), "cpu.quota=%" PRId64, r->cpu_quota.v);
		else
			snprintf(field, sizeof(field), "cpu.period=%" PRIu64, r->cpu_period.v);
		if (vs_cg_set(dir, "cpu.max", b, err, "%s", field) < 0)
			return -1;
	}
	if (r->cpu_burst.set) {
		snprintf(b, sizeof(b), "%" PRIu64, r->cpu_burst.v);
		if (vs_cg_set(dir, "cpu.max.burst", b, err, "cpu.burst=%" PRIu64, r->cpu_burst.v) < 0)
			return -1;
	}
	if (r->cpu_idle.set) {
		snprintf(b, sizeof(b), "%" PRId64, r->cpu_idle.v);
		if (vs_cg_set(dir, "cpu.idle", b, err, "cpu.idle=%" PRId64, r->cpu_idle.v) < 0)
			return -1;
	}
	return 0;
}

int vs_cg_v2_cpuset(const char *dir, const vs_resources *r, vs_err *err)
{
	if (r->cpu_cpus && *r->cpu_cpus && vs_cg_set(dir, "cpuset.cpus", r->cpu_cpus, err, "cpu.cpus=%s", r->cpu_cpus) < 0)
		return -1;
	if (r->cpu_mems && *r->cpu_mems && vs_cg_set(dir, "cpuset.mems", r->cpu_mems, err, "cpu.mems=%s", r->cpu_mems) < 0)
		return -1;
	return 0;
}

int vs_cg_v2_memory(const char *dir, const vs_resources *r, vs_err *err)
{
	char b[32];
	if (r->mem_limit.set && vs_cg_set(dir, "memory.max", num_or_max(b, sizeof(b), r->mem_limit.v), err,
					  "memory.limit=%" PRId64, r->mem_limit.v) < 0)
		return -1;
	bool swap = r->mem_swap.set && r->mem_swap.v != 0;
	if (swap || (r->mem_limit.set && r->mem_limit.v == -1 && vs_cg_exists(dir, "memory.swap.max"))) {
		/* A partial update may change swap alone: take the limit in force. */
		int64_t limit = r->mem_limit.v, v2;
		if (!r->mem_limit.set) {
			uint64_t cur;
			if (vs_cg_read_u64(dir, "memory.max", &cur, err) < 0)
				return vs_wrap(err, "linux.resources.memory.swap=%" PRId64, r->mem_swap.v);
			limit = cur == UINT64_MAX ? -1 : (int64_t)cur;
		}
		if (vs_cg_swap_to_v2(swap ? r->mem_swap.v : 0, limit, &v2, err) < 0 ||
		    vs_cg_set(dir, "memory.swap.max", num_or_max(b, sizeof(b), v2), err, "memory.swap=%" PRId64,
			      r->mem_swap.v) < 0)
			return -1;
	}
	if (r->mem_reservation.set && vs_cg_set(dir, "memory.low", num_or_max(b, sizeof(b), r->mem_reservation.v), err,
						"memory.reservation=%" PRId64, r->mem_reservation.v) < 0)
		return -1;
	/* No v2 equivalent; runc and crun ignore these the same way. */
	if (r->mem_kernel.set || r->mem_kernel_tcp.set)
		vs_warn("linux.resources.memory.kernel/kernelTCP: ignored on cgroup v2");
	if (r->mem_swappiness.set && r->mem_swappiness.v <= 100)
		vs_warn("linux.resources.memory.swappiness: ignored on cgroup v2");
	if (r->has_disable_oom_killer && r->disable_oom_killer)
		vs_warn("linux.resources.memory.disableOOMKiller: ignored on cgroup v2");
	return 0;
}

int vs_cg_v2_pids(const char *dir, const vs_resources *r, vs_err *err)
{
	char b[32];
	return vs_cg_set(dir, "pids.max", num_or_max(b, sizeof(b), r->pids_limit.v > 0 ? r->pids_limit.v : -1), err,
			 "pids.limit=%" PRId64, r->pids_limit.v);
}

static const char *const io_max_key[VS_THR_KINDS] = {"rbps", "wbps", "riops", "wiops"};

int vs_cg_v2_io(const char *dir, const vs_resources *r, vs_err *err)
{
	/* With BFQ, io.bfq.weight takes the v1 scale directly. */
	bool bfq = vs_cg_exists(dir, "io.bfq.weight");
	const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
	char line[96];
	if (r->blkio_weight.set) {
		uint64_t w = bfq ? r->blkio_weight.v : vs_cg_blkio_to_io_weight(r->blkio_weight.v);
		snprintf(line, sizeof(line), "default %" PRIu64, w);
		if (vs_cg_set(dir, wfile, line, err, "blockIO.weight=%" PRIu64, r->blkio_weight.v) < 0)
			return -1;
	}
	if (r->blkio_leaf_weight.set)
		vs_warn("linux.resources.blockIO.leafWeight: ignored on cgroup v2");
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const vs_blkio_weight_dev *d = &r->blkio_weight_devices[i];
		if (!d->weight.set)
			continue;
		uint64_t w = bfq ? d->weight.v : vs_cg_blkio_to_io_weight(d->weight.v);
		snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, w);
		if (vs_cg_set(dir, wfile, line, err, "blockIO.weightDevice[%zu]", i) < 0)
			return -1;
	}
	for (int k = 0; k < VS_THR_KINDS; k++) {
		for (size_t i = 0; i < r->n_blkio_throttle[k]; i++) {
			const vs_blkio_throttle *t = &r->blkio_throttle[k][i];
			char rate[32];
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=%s", t->major, t->minor, io_max_key[k],
				 t->rate ? (snprintf(rate, sizeof(rate), "%" PRIu64, t->rate), rate) : "max");
			if (vs_cg_set(dir, "io.max", line, err, "blockIO.%s[%zu]", vs_cg_thr_field[k], i) < 0)
				return -1;
		}
	}
	return 0;
}

int vs_cg_v2_hugetlb(const char *dir, const vs_resources *r, vs_err *err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const vs_hugepage_limit *h = &r->hugepage_limits[i];
		char file[64], rsvd[80], v[32];
		snprintf(file, sizeof(file), "hugetlb.%s.max", h->page_size);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", h->page_size);
		snprintf(v, sizeof(v), "%" PRIu64, h->limit);
		if (vs_cg_set(dir, file, v, err, "hugepageLimits[%zu](%s).limit=%s", i, h->page_size, v) < 0)
			return -1;
		if (vs_cg_exists(dir, rsvd) &&
		    vs_cg_set(dir, rsvd, v, err, "hugepageLimits[%zu](%s).limit=%s", i, h->page_size, v) < 0)
			return -1;
	}
	return 0;
}

int vs_cg_v2_unified(const char *dir, const vs_resources *r, vs_err *err)
{
	for (size_t i = 0; i < r->n_unified; i++)
		if (vs_cg_set(dir, r->unified[i].key, r->unified[i].value, err, "unified[\"%s\"]=%s", r->unified[i].key,
			      r->unified[i].value) < 0)
			return -1;
	return 0;
}
