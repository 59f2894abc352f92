#include "platform/bundle.h"

#include <errno.h>

#include "base/fs.h"
#include "oci/spec_default.h"

#define CPU_PERIOD 100000

struct json_object *vsd_bundle_config(const vsd_bundle *b, vs_err *err)
{
	struct json_object *spec = vs_spec_default(false);
	if (!spec) {
		vs_fail(err, ENOMEM, "default config for %s", b->hostname);
		return NULL;
	}
	struct json_object *proc = json_object_object_get(spec, "process");
	json_object_object_add(proc, "terminal", json_object_new_boolean(false));
	json_object_object_add(proc, "args", json_object_get(b->command));
	if (b->env)
		json_object_object_add(proc, "env", json_object_get(b->env));
	json_object_object_add(proc, "cwd", json_object_new_string(b->cwd && *b->cwd ? b->cwd : "/"));
	/* CAP_NET_RAW as Docker's default set has it: ping on an instance's network. */
	struct json_object *caps = json_object_object_get(proc, "capabilities");
	const char *sets[] = {"bounding", "effective", "permitted"};
	for (size_t i = 0; caps && i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct json_object *set = json_object_object_get(caps, sets[i]);
		if (set && json_object_is_type(set, json_type_array))
			json_object_array_add(set, json_object_new_string("CAP_NET_RAW"));
	}
	struct json_object *root = json_object_object_get(spec, "root");
	json_object_object_add(root, "readonly", json_object_new_boolean(false));
	json_object_object_add(spec, "hostname", json_object_new_string(b->hostname));
	struct json_object *lx = json_object_object_get(spec, "linux");
	json_object_object_add(lx, "cgroupsPath", json_object_new_string(b->cgroup));
	struct json_object *res = json_object_object_get(lx, "resources");
	if (b->limits.memory) {
		struct json_object *mem = json_object_new_object();
		json_object_object_add(mem, "limit", json_object_new_int64((int64_t)b->limits.memory));
		json_object_object_add(res, "memory", mem);
	}
	if (b->limits.cpus) {
		struct json_object *cpu = json_object_new_object();
		json_object_object_add(cpu, "quota", json_object_new_int64((int64_t)b->limits.cpus * CPU_PERIOD));
		json_object_object_add(cpu, "period", json_object_new_int64(CPU_PERIOD));
		json_object_object_add(res, "cpu", cpu);
	}
	return spec;
}

int vsd_bundle_write(const vsd_bundle *b, vs_err *err)
{
	struct json_object *spec = vsd_bundle_config(b, err);
	if (!spec)
		return -1;
	char path[4096];
	int rc = vs_path_fmt(path, sizeof(path), err, "%s/config.json", b->dir);
	if (rc == 0) {
		size_t len;
		const char *text = json_object_to_json_string_length(spec, JSON_C_TO_STRING_PRETTY, &len);
		rc = vs_write_file_atomic(path, text, len, 0600, err);
	}
	json_object_put(spec);
	return rc;
}
