/* The starter config.json `vessel spec` writes (the one `runc spec` writes,
 * plus a cgroup namespace, as runc 1.2), and runc's rootless conversion.
 * Shared by the CLI and vesseld, which adapts it per instance. */
#include "oci/spec_default.h"

#include <string.h>
#include <unistd.h>

static const char default_spec[] =
	"{\"ociVersion\":\"1.2.0\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],"
	"\"cwd\":\"/\","
	"\"capabilities\":{"
	"\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"runc\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
	"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
	"\"linux\":{"
	"\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
	"{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
	"\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

static struct json_object *id_mapping(unsigned host_id)
{
	struct json_object *arr = json_object_new_array(), *m = json_object_new_object();
	json_object_object_add(m, "containerID", json_object_new_int64(0));
	json_object_object_add(m, "hostID", json_object_new_int64(host_id));
	json_object_object_add(m, "size", json_object_new_int64(1));
	json_object_array_add(arr, m);
	return arr;
}

/* What runc's specconv.ToRootless does: a user namespace mapping only the
 * caller, no network namespace (nothing to configure it with), /sys bound
 * from the host (sysfs cannot be mounted without a netns), no uid=/gid=
 * mount options (those ids are unmapped) and no cgroup resources. */
static void to_rootless(struct json_object *spec)
{
	struct json_object *lx = json_object_object_get(spec, "linux");
	struct json_object *old = json_object_object_get(lx, "namespaces");
	struct json_object *ns = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(old); i++) {
		struct json_object *n = json_object_array_get_idx(old, i);
		const char *t = json_object_get_string(json_object_object_get(n, "type"));
		if (strcmp(t, "network") && strcmp(t, "user"))
			json_object_array_add(ns, json_object_get(n));
	}
	struct json_object *user = json_object_new_object();
	json_object_object_add(user, "type", json_object_new_string("user"));
	json_object_array_add(ns, user);
	json_object_object_del(lx, "resources");
	json_object_object_del(lx, "namespaces");
	json_object_object_add(lx, "uidMappings", id_mapping(geteuid()));
	json_object_object_add(lx, "gidMappings", id_mapping(getegid()));
	/* Re-add after the mappings to keep runc's key order. */
	struct json_object *masked = json_object_get(json_object_object_get(lx, "maskedPaths"));
	struct json_object *ro = json_object_get(json_object_object_get(lx, "readonlyPaths"));
	json_object_object_del(lx, "maskedPaths");
	json_object_object_del(lx, "readonlyPaths");
	json_object_object_add(lx, "namespaces", ns);
	json_object_object_add(lx, "maskedPaths", masked);
	json_object_object_add(lx, "readonlyPaths", ro);

	struct json_object *mounts = json_object_object_get(spec, "mounts");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		const char *dst = json_object_get_string(json_object_object_get(m, "destination"));
		if (!strcmp(dst, "/sys")) {
			struct json_object *sys = json_tokener_parse(
				"{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
				"\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}");
			json_object_array_put_idx(mounts, i, sys);
			continue;
		}
		struct json_object *opts = json_object_object_get(m, "options");
		if (!opts)
			continue;
		struct json_object *kept = json_object_new_array();
		for (size_t j = 0; j < json_object_array_length(opts); j++) {
			struct json_object *o = json_object_array_get_idx(opts, j);
			const char *s = json_object_get_string(o);
			if (strncmp(s, "uid=", 4) && strncmp(s, "gid=", 4))
				json_object_array_add(kept, json_object_get(o));
		}
		json_object_object_add(m, "options", kept);
	}
}

struct json_object *vs_spec_default(bool rootless)
{
	struct json_object *spec = json_tokener_parse(default_spec);
	if (spec && rootless)
		to_rootless(spec);
	return spec;
}
