/* process.ioPriority, process.scheduler and process.execCPUAffinity
 * (runtime-spec 1.2): how the process is scheduled, checked against what
 * sched_setattr(2) and ioprio_set(2) accept. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "oci/parse.h"

/* Not every libc exports these; values from linux/sched.h. */
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_ISO
#define SCHED_ISO 4 /* reserved by the kernel; the spec lists it */
#endif

static const struct {
	const char *name;
	int value;
} policies[] = {
	{"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
	{"SCHED_BATCH", SCHED_BATCH}, {"SCHED_ISO", SCHED_ISO},   {"SCHED_IDLE", SCHED_IDLE},
	{"SCHED_DEADLINE", SCHED_DEADLINE},
};

/* sched_attr.sched_flags bits (linux/sched.h). */
static const struct {
	const char *name;
	uint64_t bit;
} sched_flags[] = {
	{"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
	{"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
	{"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
	{"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse_io_priority(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	static const char *const classes[] = {NULL, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
	char k[VS_OCI_PATH], *cls = NULL;
	struct json_object *o;
	int64_t prio = 0;
	if (vs_json_member(obj, "ioPriority", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "ioPriority");
	if (vs_json_str(o, "class", k, true, &cls, err) < 0)
		return -1;
	for (int i = 1; i < (int)N(classes); i++)
		if (!strcmp(cls, classes[i]))
			p->io_priority_class = i;
	if (!p->io_priority_class)
		vs_fail(err, VS_EINVAL_CONFIG, "%s.class: unknown class '%s'", k, cls);
	free(cls);
	if (!p->io_priority_class)
		return -1;
	/* ioprio levels are 0 (highest) to 7. */
	if (vs_oci_int(o, "priority", k, 0, 7, &prio, NULL, err) < 0)
		return -1;
	p->io_priority = (int)prio;
	p->has_io_priority = true;
	return 0;
}

static int parse_sched_flags(struct json_object *o, const char *where, struct vs_sched *s, vs_err *err)
{
	char **flags = NULL;
	size_t n = 0;
	if (vs_json_strv(o, "flags", where, &flags, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < N(sched_flags) && strcmp(sched_flags[j].name, flags[i]))
			j++;
		if (j == N(sched_flags)) {
			vs_fail(err, VS_EINVAL_CONFIG, "%s.flags[%zu]: unknown flag '%s'", where, i, flags[i]);
			vs_strv_free(flags);
			return -1;
		}
		s->flags |= sched_flags[j].bit;
	}
	vs_strv_free(flags);
	return 0;
}

static int parse_scheduler(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char k[VS_OCI_PATH], *policy = NULL;
	struct json_object *o;
	struct vs_sched *s = &p->scheduler;
	int64_t nice = 0, prio = 0;
	if (vs_json_member(obj, "scheduler", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "scheduler");
	if (vs_json_str(o, "policy", k, true, &policy, err) < 0)
		return -1;
	s->policy = -1;
	for (size_t i = 0; i < N(policies); i++)
		if (!strcmp(policy, policies[i].name))
			s->policy = policies[i].value;
	if (s->policy < 0)
		vs_fail(err, VS_EINVAL_CONFIG, "%s.policy: unknown policy '%s'", k, policy);
	free(policy);
	if (s->policy < 0)
		return -1;
	if (vs_oci_int(o, "nice", k, -20, 19, &nice, NULL, err) < 0 ||
	    vs_oci_int(o, "priority", k, INT32_MIN, INT32_MAX, &prio, NULL, err) < 0 ||
	    parse_sched_flags(o, k, s, err) < 0 ||
	    vs_oci_uint(o, "runtime", k, UINT64_MAX, &s->runtime, NULL, err) < 0 ||
	    vs_oci_uint(o, "deadline", k, UINT64_MAX, &s->deadline, NULL, err) < 0 ||
	    vs_oci_uint(o, "period", k, UINT64_MAX, &s->period, NULL, err) < 0)
		return -1;
	s->nice = (int)nice;
	s->priority = (int)prio;
	/* Real-time policies need a static priority, the others must have 0. */
	bool rt = s->policy == SCHED_FIFO || s->policy == SCHED_RR;
	if (rt && (prio < 1 || prio > 99))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.priority: must be 1..99 for a real-time policy", k);
	if (!rt && prio != 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s.priority: must be 0 unless the policy is SCHED_FIFO or SCHED_RR",
			       k);
	if (s->policy == SCHED_DEADLINE && (!s->runtime || s->runtime > s->deadline ||
					    (s->period && s->deadline > s->period)))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: SCHED_DEADLINE needs 0 < runtime <= deadline <= period", k);
	p->has_scheduler = true;
	return 0;
}

static int parse_affinity(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	char k[VS_OCI_PATH];
	struct json_object *o;
	if (vs_json_member(obj, "execCPUAffinity", where, json_type_object, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	vs_oci_path(k, where, "execCPUAffinity");
	if (vs_json_str(o, "initial", k, false, &p->exec_cpu_affinity_initial, err) < 0 ||
	    vs_json_str(o, "final", k, false, &p->exec_cpu_affinity_final, err) < 0)
		return -1;
	const char *lists[] = {p->exec_cpu_affinity_initial, p->exec_cpu_affinity_final};
	for (int i = 0; i < 2; i++)
		if (lists[i] && (!lists[i][0] || strspn(lists[i], "0123456789,-") != strlen(lists[i])))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.%s: '%s' is not a CPU list like 0-3,7", k,
				       i ? "final" : "initial", lists[i]);
	return 0;
}

int vs_oci_parse_sched(struct json_object *obj, const char *where, vs_process *p, vs_err *err)
{
	if (parse_io_priority(obj, where, p, err) < 0 || parse_scheduler(obj, where, p, err) < 0 ||
	    parse_affinity(obj, where, p, err) < 0)
		return -1;
	return 0;
}
