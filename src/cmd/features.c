/* `vessel features`: the runtime-spec "features" document (features.md,
 * features-linux.md) that tells higher-level engines what this runtime
 * understands. Lists come from the same tables the parser uses, so the
 * answer cannot drift from what config.json actually accepts. */
#include <errno.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "oci/config.h"
#include "oci/names.h"

static struct json_object *str_array(const char *const *names)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; names[i]; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

static struct json_object *enabled(bool on)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

/* A flag the kernel knows makes seccomp(SET_MODE_FILTER, flag, NULL) fail
 * with EFAULT (bad filter pointer) instead of EINVAL (unknown flag). */
static bool kernel_has_seccomp_flag(const char *name)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} flags[] = {
		{"SECCOMP_FILTER_FLAG_TSYNC", 1UL << 0},
		{"SECCOMP_FILTER_FLAG_LOG", 1UL << 1},
		{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1UL << 2},
		{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1UL << 5},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(flags[i].name, name)) {
			long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags[i].flag, NULL);
			return rc < 0 && errno == EFAULT;
		}
	return false;
}

static struct json_object *seccomp_features(void)
{
	struct json_object *s = json_object_new_object();
	json_object_object_add(s, "enabled", json_object_new_boolean(true));
	json_object_object_add(s, "actions", str_array(vs_seccomp_action_names));
	json_object_object_add(s, "operators", str_array(vs_seccomp_op_names));
	json_object_object_add(s, "archs", str_array(vs_seccomp_arch_names));
	json_object_object_add(s, "knownFlags", str_array(vs_seccomp_flag_names));
	struct json_object *sup = json_object_new_array();
	for (size_t i = 0; vs_seccomp_flag_names[i]; i++) {
		/* libseccomp 2.5 cannot request WAIT_KILLABLE_RECV yet. */
		bool lib = strcmp(vs_seccomp_flag_names[i], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") != 0 ||
			   seccomp_version()->minor >= 6 || seccomp_version()->major > 2;
		if (lib && kernel_has_seccomp_flag(vs_seccomp_flag_names[i]))
			json_object_array_add(sup, json_object_new_string(vs_seccomp_flag_names[i]));
	}
	json_object_object_add(s, "supportedFlags", sup);
	return s;
}

static struct json_object *linux_features(void)
{
	struct json_object *lx = json_object_new_object();
	struct json_object *ns = json_object_new_array(), *caps = json_object_new_array();
	for (int k = 0; k < VS_NS_KINDS; k++)
		json_object_array_add(ns, json_object_new_string(vs_ns_name((vs_ns_kind)k)));
	for (int c = 0; c <= vs_cap_last(); c++)
		json_object_array_add(caps, json_object_new_string(vs_cap_name(c)));
	json_object_object_add(lx, "namespaces", ns);
	json_object_object_add(lx, "capabilities", caps);

	struct json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(true));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(false));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(cg, "rdma", json_object_new_boolean(false));
	json_object_object_add(lx, "cgroup", cg);

	json_object_object_add(lx, "seccomp", seccomp_features());
	json_object_object_add(lx, "apparmor", enabled(true));
	json_object_object_add(lx, "selinux", enabled(false));
	json_object_object_add(lx, "intelRdt", enabled(false));
	struct json_object *ext = json_object_new_object();
	json_object_object_add(ext, "idmap", enabled(false));
	json_object_object_add(lx, "mountExtensions", ext);
	return lx;
}

VS_CMD(features)
{
	(void)g;
	if (argc > 0) {
		fprintf(stderr, "vessel features: unexpected argument '%s'\n", argv[0]);
		return 2;
	}
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(f, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(f, "hooks", str_array(vs_hook_names));
	json_object_object_add(f, "mountOptions", str_array(vs_mount_option_names));
	json_object_object_add(f, "linux", linux_features());

	const struct scmp_version *v = seccomp_version();
	char ver[32];
	snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
	struct json_object *ann = json_object_new_object();
	json_object_object_add(ann, "io.github.seccomp.libseccomp.version", json_object_new_string(ver));
	json_object_object_add(f, "annotations", ann);
	/* Annotations that change how the container runs; none yet. */
	json_object_object_add(f, "potentiallyUnsafeConfigAnnotations", json_object_new_array());

	printf("%s\n", json_object_to_json_string_ext(f, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(f);
	return 0;
}
