/* GET /1.0/resources: the host's totals (the host probe of `vessel
 * check`: CPUs, memory, cgroup mode, KVM), what the instances' limits
 * allocate of them and the overcommit ratio, and the storage under the
 * root. Incus's names where it has them (cpu.total, memory.total/used). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "host/hostinfo.h"
#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/limits.h"

static struct json_object *ratio(unsigned long long used, unsigned long long total)
{
	return json_object_new_double(total ? (double)used / (double)total : 0.0);
}

struct json_object *vsd_api_resources(vsd *d, vsd_req *r)
{
	if (strcmp(r->method, "GET"))
		return vsd_env_error(405, "method not allowed");
	vs_hostinfo h;
	vs_host_probe_files(NULL, NULL, &h);
	/* What the instances' limits claim; an instance without a limit claims none. */
	unsigned long long cpus = 0, mem = 0;
	int n = 0, no_cpu = 0, no_mem = 0;
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT config FROM instances WHERE phase = 'ready'", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct json_object *cfg = json_tokener_parse((const char *)sqlite3_column_text(st, 0));
		vsd_limits lim;
		if (vsd_limits_parse(cfg, &lim, NULL) == 0) {
			cpus += lim.cpus;
			mem += lim.memory;
			no_cpu += !lim.cpus;
			no_mem += !lim.memory;
		}
		json_object_put(cfg);
		n++;
	}
	sqlite3_finalize(st);

	struct json_object *o = json_object_new_object(), *cpu = json_object_new_object(), *m = json_object_new_object();
	json_object_object_add(cpu, "architecture", json_object_new_string("x86_64"));
	json_object_object_add(cpu, "total", json_object_new_int64(h.cpus_online));
	json_object_object_add(cpu, "allocated", json_object_new_int64((int64_t)cpus));
	json_object_object_add(cpu, "overcommit", ratio(cpus, h.cpus_online));
	json_object_object_add(cpu, "unlimited_instances", json_object_new_int(no_cpu));
	json_object_object_add(o, "cpu", cpu);
	json_object_object_add(m, "total", json_object_new_int64((int64_t)h.mem_total));
	json_object_object_add(m, "used", json_object_new_int64((int64_t)(h.mem_total - (h.mem_available < h.mem_total ? h.mem_available : h.mem_total))));
	json_object_object_add(m, "available", json_object_new_int64((int64_t)h.mem_available));
	json_object_object_add(m, "swap_total", json_object_new_int64((int64_t)h.swap_total));
	json_object_object_add(m, "swap_used", json_object_new_int64((int64_t)(h.swap_total - (h.swap_free < h.swap_total ? h.swap_free : h.swap_total))));
	json_object_object_add(m, "allocated", json_object_new_int64((int64_t)mem));
	json_object_object_add(m, "overcommit", ratio(mem, h.mem_total));
	json_object_object_add(m, "unlimited_instances", json_object_new_int(no_mem));
	json_object_object_add(o, "memory", m);

	struct json_object *pool = json_object_new_object();
	struct statvfs sv;
	json_object_object_add(pool, "name", json_object_new_string("default"));
	json_object_object_add(pool, "driver", json_object_new_string("dir"));
	json_object_object_add(pool, "path", json_object_new_string(d->root));
	if (statvfs(d->root, &sv) == 0) {
		unsigned long long bs = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
		json_object_object_add(pool, "total", json_object_new_int64((int64_t)(sv.f_blocks * bs)));
		json_object_object_add(pool, "used", json_object_new_int64((int64_t)((sv.f_blocks - sv.f_bfree) * bs)));
		json_object_object_add(pool, "free", json_object_new_int64((int64_t)(sv.f_bavail * bs)));
	}
	struct json_object *storage = json_object_new_object(), *pools = json_object_new_array();
	json_object_array_add(pools, pool);
	json_object_object_add(storage, "pools", pools);
	json_object_object_add(o, "storage", storage);

	static const char *const modes[] = {[VS_CG_V1] = "v1", [VS_CG_V2] = "v2", [VS_CG_HYBRID] = "hybrid"};
	static const char *const kvm[] = {[VS_KVM_NONE] = "none", [VS_KVM_SOFTWARE] = "software",
					  [VS_KVM_HARDWARE] = "hardware", [VS_KVM_UNKNOWN] = "unknown"};
	struct json_object *host = json_object_new_object();
	json_object_object_add(host, "cgroup", json_object_new_string(h.cgroup_found ? modes[h.cgroup] : "none"));
	json_object_object_add(host, "kvm", json_object_new_string(kvm[vs_host_kvm_kind(&h)]));
	json_object_object_add(host, "overlayfs", json_object_new_boolean(h.overlayfs));
	json_object_object_add(host, "seccomp", json_object_new_boolean(h.seccomp_filter));
	json_object_object_add(o, "host", host);
	struct json_object *inst = json_object_new_object();
	json_object_object_add(inst, "total", json_object_new_int(n));
	json_object_object_add(o, "instances", inst);
	return vsd_env_sync(o);
}
