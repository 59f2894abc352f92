/* vs_cgroup_apply: check linux.resources, then hand each controller's
 * fields to the v1 or v2 writer of the hierarchy that holds the controller
 * (on a hybrid host that can be either, per controller). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctr/cgroup_internal.h"

static bool want_cpu(const vs_resources *r)
{
	return r->cpu_shares.set || r->cpu_quota.set || r->cpu_period.set || r->cpu_burst.set ||
	       r->cpu_realtime_period.set || r->cpu_realtime_runtime.set || r->cpu_idle.set;
}
static bool want_cpuset(const vs_resources *r)
{
	return r->cpu_cpus || r->cpu_mems;
}
static bool want_memory(const vs_resources *r)
{
	return r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_kernel.set ||
	       r->mem_kernel_tcp.set || r->mem_swappiness.set || r->has_disable_oom_killer;
}
static bool want_pids(const vs_resources *r)
{
	return r->pids_limit.set;
}
static bool want_blkio(const vs_resources *r)
{
	size_t thr = 0;
	for (int k = 0; k < VS_THR_KINDS; k++)
		thr += r->n_blkio_throttle[k];
	return r->blkio_weight.set || r->blkio_leaf_weight.set || r->n_blkio_weight_devices || thr;
}
static bool want_hugetlb(const vs_resources *r)
{
	return r->n_hugepage_limits > 0;
}
static bool want_net_cls(const vs_resources *r)
{
	return r->net_class_id.set;
}
static bool want_net_prio(const vs_resources *r)
{
	return r->n_net_priorities > 0;
}
static bool want_devices(const vs_resources *r)
{
	return r->n_devices > 0;
}
static bool want_unified(const vs_resources *r)
{
	return r->n_unified > 0;
}

#define ANY_V2 (-2) /* the unified tree itself, no controller needed */

static const struct group {
	const char *field; /* for messages: linux.resources.<field> */
	int v1, v2;        /* controller in a v1 / the v2 hierarchy; -1 = none */
	bool (*wanted)(const vs_resources *);
	vs_cg_writer w1, w2;
} groups[] = {
	{"cpu", VS_CGC_CPU, VS_CGC_CPU, want_cpu, vs_cg_v1_cpu, vs_cg_v2_cpu},
	{"cpu.cpus/mems", VS_CGC_CPUSET, VS_CGC_CPUSET, want_cpuset, vs_cg_v1_cpuset, vs_cg_v2_cpuset},
	{"memory", VS_CGC_MEMORY, VS_CGC_MEMORY, want_memory, vs_cg_v1_memory, vs_cg_v2_memory},
	{"pids", VS_CGC_PIDS, VS_CGC_PIDS, want_pids, vs_cg_v1_pids, vs_cg_v2_pids},
	{"blockIO", VS_CGC_BLKIO, VS_CGC_IO, want_blkio, vs_cg_v1_blkio, vs_cg_v2_io},
	{"hugepageLimits", VS_CGC_HUGETLB, VS_CGC_HUGETLB, want_hugetlb, vs_cg_v1_hugetlb, vs_cg_v2_hugetlb},
	{"network.classID", VS_CGC_NET_CLS, -1, want_net_cls, vs_cg_v1_net_cls, NULL},
	{"network.priorities", VS_CGC_NET_PRIO, -1, want_net_prio, vs_cg_v1_net_prio, NULL},
	{"devices", VS_CGC_DEVICES, ANY_V2, want_devices, vs_cg_v1_devices, vs_cg_v2_devices},
	{"unified", -1, ANY_V2, want_unified, NULL, vs_cg_v2_unified},
};

static vs_cg_hier *holder(vs_cgroup *cg, const struct group *g)
{
	for (size_t i = 0; g->v1 >= 0 && i < cg->n; i++)
		if (!cg->h[i].v2 && (cg->h[i].ctrls & (1u << g->v1)))
			return &cg->h[i];
	vs_cg_hier *u = vs_cg_unified(cg);
	if (!u || g->v2 == -1)
		return NULL;
	return g->v2 == ANY_V2 || (u->ctrls & (1u << g->v2)) ? u : NULL;
}

static bool valid_page_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	return digits > 0 && strchr("KMG", s[digits]) && s[digits] && strcmp(s + digits + 1, "B") == 0;
}

static int bad(vs_err *err, const char *fmt_field, int64_t v, const char *why)
{
	return vs_fail(err, VS_EINVAL_CONFIG, "linux.resources.%s=%" PRId64 ": %s", fmt_field, v, why);
}

/* Checks that need no host: done before any write, so a bad request
 * changes nothing. */
static int validate(const vs_resources *r, vs_err *err)
{
	const struct { const vs_opt_i64 *o; const char *name; } mem[] = {
		{&r->mem_limit, "memory.limit"},   {&r->mem_reservation, "memory.reservation"},
		{&r->mem_swap, "memory.swap"},     {&r->mem_kernel, "memory.kernel"},
		{&r->mem_kernel_tcp, "memory.kernelTCP"},
	};
	for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++)
		if (mem[i].o->set && mem[i].o->v < -1)
			return bad(err, mem[i].name, mem[i].o->v, "must be a byte count or -1 (unlimited)");
	if (r->mem_swap.set && r->mem_limit.set && r->mem_swap.v > 0 && r->mem_limit.v > 0 &&
	    r->mem_swap.v < r->mem_limit.v)
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "linux.resources.memory.swap=%" PRId64 ": must be >= memory.limit=%" PRId64
			       " (it limits memory+swap)",
			       r->mem_swap.v, r->mem_limit.v);
	if (r->mem_swappiness.set && r->mem_swappiness.v > 100 && r->mem_swappiness.v != UINT64_MAX)
		return bad(err, "memory.swappiness", (int64_t)r->mem_swappiness.v, "must be 0..100");
	if (r->cpu_idle.set && r->cpu_idle.v != 0 && r->cpu_idle.v != 1)
		return bad(err, "cpu.idle", r->cpu_idle.v, "must be 0 or 1");
	if (r->cpu_quota.set && r->cpu_quota.v < -1)
		return bad(err, "cpu.quota", r->cpu_quota.v, "must be a positive number of microseconds or -1");
	if (r->blkio_weight.set && (r->blkio_weight.v < 10 || r->blkio_weight.v > 1000))
		return bad(err, "blockIO.weight", (int64_t)r->blkio_weight.v, "must be 10..1000");
	if (r->blkio_leaf_weight.set && (r->blkio_leaf_weight.v < 10 || r->blkio_leaf_weight.v > 1000))
		return bad(err, "blockIO.leafWeight", (int64_t)r->blkio_leaf_weight.v, "must be 10..1000");
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const vs_blkio_weight_dev *d = &r->blkio_weight_devices[i];
		char f[64];
		snprintf(f, sizeof(f), "blockIO.weightDevice[%zu].weight", i);
		if (d->weight.set && (d->weight.v < 10 || d->weight.v > 1000))
			return bad(err, f, (int64_t)d->weight.v, "must be 10..1000");
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		if (!valid_page_size(r->hugepage_limits[i].page_size))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.resources.hugepageLimits[%zu].pageSize=%s: expected a size like 2MB or 1GB",
				       i, r->hugepage_limits[i].page_size);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		if (strpbrk(r->net_priorities[i].name, " \n/") || !r->net_priorities[i].name[0])
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.resources.network.priorities[%zu].name=\"%s\": not an interface name", i,
				       r->net_priorities[i].name);
	for (size_t i = 0; i < r->n_devices; i++) {
		const vs_device_rule *d = &r->devices[i];
		if (!d->type || !strchr("abc", d->type) || strspn(d->access, "rwm") != strlen(d->access))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.resources.devices[%zu]: type '%c' access \"%s\": expected a, b or c and "
				       "a subset of rwm",
				       i, d->type ? d->type : '?', d->access);
	}
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified[i].key;
		if (!k[0] || strchr(k, '/') || !strchr(k, '.'))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.resources.unified[\"%s\"]: not a controller file of this cgroup", k);
	}
	return 0;
}

int vs_cgroup_apply(vs_cgroup *cg, const vs_resources *res, vs_err *err)
{
	if (validate(res, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		const struct group *g = &groups[i];
		if (!g->wanted(res))
			continue;
		vs_cg_hier *h = holder(cg, g);
		if (!h) {
			const char *what = g->v1 >= 0 ? vs_cg_ctrl_name(g->v1) : "cgroup2";
			return vs_fail(err, VS_ENOTSUP_HOST, "linux.resources.%s: no %s hierarchy is mounted", g->field,
				       what);
		}
		if ((h->v2 ? g->w2 : g->w1)(h->dir, res, err) < 0)
			return -1;
	}
	return 0;
}
