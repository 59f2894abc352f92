/* linux.resources on cgroup v1 controllers: the spec's fields map to the
 * v1 files one to one. Like runc, 0 means "unset" for shares, quota,
 * period, realtime and swap (Go zero values in every OCI producer). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "base/log.h"
#include "ctr/cgroup_internal.h"

static const char *num(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

#define SET_NUM(dir, file, v, err, ...)                                                   \
	({                                                                                \
		char _b[32];                                                              \
		vs_cg_set(dir, file, num(_b, sizeof(_b), (int64_t)(v)), err, __VA_ARGS__); \
	})

/* Unsigned fields are written as such: a huge value must reach the kernel
 * (and the error message) as itself, not wrapped to a negative number. */
#define SET_U64(dir, file, v, err, ...)                                  \
	({                                                               \
		char _b[32];                                             \
		snprintf(_b, sizeof(_b), "%" PRIu64, (uint64_t)(v));     \
		vs_cg_set(dir, file, _b, err, __VA_ARGS__);              \
	})

int vs_cg_v1_cpu(const char *dir, const vs_resources *r, vs_err *err)
{
	if (r->cpu_shares.set && r->cpu_shares.v &&
	    SET_U64(dir, "cpu.shares", r->cpu_shares.v, err, "cpu.shares=%" PRIu64, r->cpu_shares.v) < 0)
		return -1;
	bool period = r->cpu_period.set && r->cpu_period.v, quota = r->cpu_quota.set && r->cpu_quota.v;
	/* The kernel checks quota/period against the parent's ratio as each
	 * is written; if the period cannot go first, try the quota first. */
	vs_err first;
	if (period && SET_U64(dir, "cpu.cfs_period_us", r->cpu_period.v, &first, "cpu.period=%" PRIu64,
			      r->cpu_period.v) < 0) {
		if (!quota) {
			*err = first;
			return -1;
		}
		if (SET_NUM(dir, "cpu.cfs_quota_us", r->cpu_quota.v, err, "cpu.quota=%" PRId64, r->cpu_quota.v) < 0 ||
		    SET_U64(dir, "cpu.cfs_period_us", r->cpu_period.v, err, "cpu.period=%" PRIu64, r->cpu_period.v) < 0)
			return -1;
	} else if (quota &&
		   SET_NUM(dir, "cpu.cfs_quota_us", r->cpu_quota.v, err, "cpu.quota=%" PRId64, r->cpu_quota.v) < 0) {
		return -1;
	}
	if (r->cpu_burst.set &&
	    SET_U64(dir, "cpu.cfs_burst_us", r->cpu_burst.v, err, "cpu.burst=%" PRIu64, r->cpu_burst.v) < 0)
		return -1;
	/* Period before runtime: the runtime must fit in the period. */
	if (r->cpu_realtime_period.set && r->cpu_realtime_period.v &&
	    SET_U64(dir, "cpu.rt_period_us", r->cpu_realtime_period.v, err, "cpu.realtimePeriod=%" PRIu64,
		    r->cpu_realtime_period.v) < 0)
		return -1;
	if (r->cpu_realtime_runtime.set && r->cpu_realtime_runtime.v &&
	    SET_NUM(dir, "cpu.rt_runtime_us", r->cpu_realtime_runtime.v, err, "cpu.realtimeRuntime=%" PRId64,
		    r->cpu_realtime_runtime.v) < 0)
		return -1;
	if (r->cpu_idle.set && SET_NUM(dir, "cpu.idle", r->cpu_idle.v, err, "cpu.idle=%" PRId64, r->cpu_idle.v) < 0)
		return -1;
	return 0;
}

int vs_cg_v1_cpuset(const char *dir, const vs_resources *r, vs_err *err)
{
	if (r->cpu_cpus && *r->cpu_cpus && vs_cg_set(dir, "cpuset.cpus", r->cpu_cpus, err, "cpu.cpus=%s", r->cpu_cpus) < 0)
		return -1;
	if (r->cpu_mems && *r->cpu_mems && vs_cg_set(dir, "cpuset.mems", r->cpu_mems, err, "cpu.mems=%s", r->cpu_mems) < 0)
		return -1;
	return 0;
}

static int set_limit(const char *dir, int64_t v, vs_err *err)
{
	return SET_NUM(dir, "memory.limit_in_bytes", v, err, "memory.limit=%" PRId64, v);
}

static int set_swap(const char *dir, int64_t v, vs_err *err)
{
	return SET_NUM(dir, "memory.memsw.limit_in_bytes", v, err, "memory.swap=%" PRId64, v);
}

/* memory.memsw (memory+swap) must stay >= memory.limit after each single
 * write, so the order depends on whether the limit grows or shrinks. */
static int memory_and_swap(const char *dir, const vs_resources *r, vs_err *err)
{
	bool limit = r->mem_limit.set, swap = r->mem_swap.set && r->mem_swap.v != 0;
	int64_t swap_v = r->mem_swap.v;
	if (limit && r->mem_limit.v == -1 && !swap && vs_cg_exists(dir, "memory.memsw.limit_in_bytes")) {
		swap = true; /* "unlimited memory" lifts the memory+swap cap too */
		swap_v = -1;
	}
	if (limit && swap) {
		uint64_t cur;
		if (vs_cg_read_u64(dir, "memory.limit_in_bytes", &cur, err) < 0)
			return -1;
		if (swap_v == -1 || cur < (uint64_t)swap_v)
			return set_swap(dir, swap_v, err) < 0 ? -1 : set_limit(dir, r->mem_limit.v, err);
		return set_limit(dir, r->mem_limit.v, err) < 0 ? -1 : set_swap(dir, swap_v, err);
	}
	if (limit)
		return set_limit(dir, r->mem_limit.v, err);
	if (swap)
		return set_swap(dir, swap_v, err);
	return 0;
}

int vs_cg_v1_memory(const char *dir, const vs_resources *r, vs_err *err)
{
	if (memory_and_swap(dir, r, err) < 0)
		return -1;
	if (r->mem_reservation.set && SET_NUM(dir, "memory.soft_limit_in_bytes", r->mem_reservation.v, err,
					      "memory.reservation=%" PRId64, r->mem_reservation.v) < 0)
		return -1;
	if (r->mem_kernel.set) {
		/* Deprecated; kernels since 6.x refuse it. The spec lets
		 * runtimes ignore it, as runc does. */
		vs_err e;
		if (SET_NUM(dir, "memory.kmem.limit_in_bytes", r->mem_kernel.v, &e, "memory.kernel=%" PRId64,
			    r->mem_kernel.v) < 0)
			vs_warn("ignoring %s", e.msg);
	}
	if (r->mem_kernel_tcp.set && SET_NUM(dir, "memory.kmem.tcp.limit_in_bytes", r->mem_kernel_tcp.v, err,
					     "memory.kernelTCP=%" PRId64, r->mem_kernel_tcp.v) < 0)
		return -1;
	/* UINT64_MAX is how Go producers say "unset" (-1 in a uint64). */
	if (r->mem_swappiness.set && r->mem_swappiness.v <= 100 &&
	    SET_U64(dir, "memory.swappiness", r->mem_swappiness.v, err, "memory.swappiness=%" PRIu64,
		    r->mem_swappiness.v) < 0)
		return -1;
	if (r->has_disable_oom_killer && vs_cg_set(dir, "memory.oom_control", r->disable_oom_killer ? "1" : "0", err,
						   "memory.disableOOMKiller=%s",
						   r->disable_oom_killer ? "true" : "false") < 0)
		return -1;
	return 0;
}

int vs_cg_v1_pids(const char *dir, const vs_resources *r, vs_err *err)
{
	char b[32];
	const char *v = r->pids_limit.v > 0 ? num(b, sizeof(b), r->pids_limit.v) : "max";
	return vs_cg_set(dir, "pids.max", v, err, "pids.limit=%" PRId64, r->pids_limit.v);
}

static const char *const thr_file[VS_THR_KINDS] = {
	"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
};
const char *const vs_cg_thr_field[VS_THR_KINDS] = {
	"throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice",
};

int vs_cg_v1_blkio(const char *dir, const vs_resources *r, vs_err *err)
{
	/* CFQ had blkio.weight; with BFQ only blkio.bfq.weight exists. */
	bool bfq = !vs_cg_exists(dir, "blkio.weight") && vs_cg_exists(dir, "blkio.bfq.weight");
	const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
	const char *wdev = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	if (r->blkio_weight.set &&
	    SET_U64(dir, wfile, r->blkio_weight.v, err, "blockIO.weight=%" PRIu64, r->blkio_weight.v) < 0)
		return -1;
	if (r->blkio_leaf_weight.set && SET_U64(dir, "blkio.leaf_weight", r->blkio_leaf_weight.v, err,
						"blockIO.leafWeight=%" PRIu64, r->blkio_leaf_weight.v) < 0)
		return -1;
	char line[96];
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const vs_blkio_weight_dev *d = &r->blkio_weight_devices[i];
		if (d->weight.set) {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->weight.v);
			if (vs_cg_set(dir, wdev, line, err, "blockIO.weightDevice[%zu]", i) < 0)
				return -1;
		}
		if (d->leaf_weight.set) {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
				 d->leaf_weight.v);
			if (vs_cg_set(dir, "blkio.leaf_weight_device", line, err, "blockIO.weightDevice[%zu]", i) < 0)
				return -1;
		}
	}
	for (int k = 0; k < VS_THR_KINDS; k++) {
		for (size_t i = 0; i < r->n_blkio_throttle[k]; i++) {
			const vs_blkio_throttle *t = &r->blkio_throttle[k][i];
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, t->major, t->minor, t->rate);
			if (vs_cg_set(dir, thr_file[k], line, err, "blockIO.%s[%zu]", vs_cg_thr_field[k], i) < 0)
				return -1;
		}
	}
	return 0;
}

int vs_cg_v1_hugetlb(const char *dir, const vs_resources *r, vs_err *err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const vs_hugepage_limit *h = &r->hugepage_limits[i];
		char file[64], rsvd[80];
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", h->page_size);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.limit_in_bytes", h->page_size);
		if (SET_U64(dir, file, h->limit, err, "hugepageLimits[%zu](%s).limit=%" PRIu64, i, h->page_size,
			    h->limit) < 0)
			return -1;
		/* Also cap reservations, so mmap(MAP_HUGETLB) fails up front
		 * instead of SIGBUS at fault time. */
		if (vs_cg_exists(dir, rsvd) && SET_U64(dir, rsvd, h->limit, err, "hugepageLimits[%zu](%s).limit=%" PRIu64,
						       i, h->page_size, h->limit) < 0)
			return -1;
	}
	return 0;
}

int vs_cg_v1_net_cls(const char *dir, const vs_resources *r, vs_err *err)
{
	return SET_U64(dir, "net_cls.classid", r->net_class_id.v, err, "network.classID=%" PRIu64, r->net_class_id.v);
}

int vs_cg_v1_net_prio(const char *dir, const vs_resources *r, vs_err *err)
{
	for (size_t i = 0; i < r->n_net_priorities; i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s %u", r->net_priorities[i].name, r->net_priorities[i].priority);
		if (vs_cg_set(dir, "net_prio.ifpriomap", line, err, "network.priorities[%zu]", i) < 0)
			return -1;
	}
	return 0;
}
