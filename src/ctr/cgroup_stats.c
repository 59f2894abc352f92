/* Usage numbers for `events --stats`, from whichever hierarchy holds each
 * controller. A controller the host lacks leaves its fields at 0; limits
 * that read "max" are reported as 0 (runc's convention for "unlimited"). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ctr/cgroup_internal.h"

static unsigned long long lim(uint64_t v)
{
	return v == UINT64_MAX ? 0 : v;
}

static int cpu_stats(vs_cgroup *cg, vs_cgroup_stats *st, vs_err *err)
{
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_CPUACCT);
	if (!h) /* v2: cpu.stat is always there, controller or not */
		h = vs_cg_unified(cg);
	if (!h)
		return 0;
	uint64_t v;
	if (h->v2) {
		if (vs_cg_read_key(h->dir, "cpu.stat", "usage_usec", &v, err) < 0)
			return -1;
		st->cpu_usage_ns = v * 1000;
		if (vs_cg_read_key(h->dir, "cpu.stat", "user_usec", &v, err) < 0)
			return -1;
		st->cpu_user_ns = v * 1000;
		if (vs_cg_read_key(h->dir, "cpu.stat", "system_usec", &v, err) < 0)
			return -1;
		st->cpu_kernel_ns = v * 1000;
		return 0;
	}
	if (vs_cg_read_u64(h->dir, "cpuacct.usage", &v, err) < 0)
		return -1;
	st->cpu_usage_ns = v;
	if (vs_cg_exists(h->dir, "cpuacct.usage_user")) {
		if (vs_cg_read_u64(h->dir, "cpuacct.usage_user", &v, err) < 0)
			return -1;
		st->cpu_user_ns = v;
		if (vs_cg_read_u64(h->dir, "cpuacct.usage_sys", &v, err) < 0)
			return -1;
		st->cpu_kernel_ns = v;
		return 0;
	}
	/* Older kernels: cpuacct.stat in clock ticks. */
	unsigned long long tick_ns = 1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
	if (vs_cg_read_key(h->dir, "cpuacct.stat", "user", &v, err) < 0)
		return -1;
	st->cpu_user_ns = v * tick_ns;
	if (vs_cg_read_key(h->dir, "cpuacct.stat", "system", &v, err) < 0)
		return -1;
	st->cpu_kernel_ns = v * tick_ns;
	return 0;
}

static int memory_stats(vs_cgroup *cg, vs_cgroup_stats *st, vs_err *err)
{
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_MEMORY);
	if (!h)
		return 0;
	uint64_t v;
	const char *usage = h->v2 ? "memory.current" : "memory.usage_in_bytes";
	const char *limit = h->v2 ? "memory.max" : "memory.limit_in_bytes";
	const char *peak = h->v2 ? "memory.peak" : "memory.max_usage_in_bytes";
	if (vs_cg_read_u64(h->dir, usage, &v, err) < 0)
		return -1;
	st->mem_usage = v;
	if (vs_cg_read_u64(h->dir, limit, &v, err) < 0)
		return -1;
	st->mem_limit = lim(v);
	if (vs_cg_exists(h->dir, peak)) { /* memory.peak needs Linux 5.19 */
		if (vs_cg_read_u64(h->dir, peak, &v, err) < 0)
			return -1;
		st->mem_max_usage = v;
	}
	if (h->v2 ? vs_cg_read_key(h->dir, "memory.events", "max", &v, err) : vs_cg_read_u64(h->dir, "memory.failcnt", &v, err))
		return -1;
	st->mem_failcnt = v;
	return 0;
}

static int pids_stats(vs_cgroup *cg, vs_cgroup_stats *st, vs_err *err)
{
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_PIDS);
	if (!h)
		return 0;
	uint64_t v;
	if (vs_cg_read_u64(h->dir, "pids.current", &v, err) < 0)
		return -1;
	st->pids_current = v;
	if (vs_cg_read_u64(h->dir, "pids.max", &v, err) < 0)
		return -1;
	st->pids_limit = lim(v);
	return 0;
}

int vs_cgroup_stats_read(vs_cgroup *cg, vs_cgroup_stats *st, vs_err *err)
{
	memset(st, 0, sizeof(*st));
	if (cpu_stats(cg, st, err) < 0 || memory_stats(cg, st, err) < 0 || pids_stats(cg, st, err) < 0)
		return vs_wrap(err, "read stats of cgroup %s", cg->path);
	return 0;
}

int vs_cgroup_oom_kills(vs_cgroup *cg, uint64_t *n, vs_err *err)
{
	*n = 0;
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_MEMORY);
	if (!h)
		return 0;
	return vs_cg_read_key(h->dir, h->v2 ? "memory.events" : "memory.oom_control", "oom_kill", n, err);
}
