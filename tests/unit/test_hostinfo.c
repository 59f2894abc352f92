/* The host probe behind `vessel check` and `vm run`, against fixture trees
 * (a temp dir standing for /: dev, sys, proc) and given CPUID facts, so
 * every host kind is tested on any machine: no /dev/kvm (no VT-x/AMD-V;
 * module present but not bound; PVM guest; not loaded on a VT-x CPU), a
 * PVM /dev/kvm, hardware KVM, and v1, v2, hybrid cgroups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/hostinfo.h"

static char root[64];

/* Create root/path (and its parents) with content; NULL content = a dir. */
static void put(const char *path, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s%s", root, path);
	for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	if (!content) {
		mkdir(p, 0755);
		return;
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vs-hostinfo.XXXXXX");
	assert_non_null(mkdtemp(root));
	/* What every fixture host has: namespaces, seccomp, a v2 cgroup. */
	static const char *ns[] = {"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/ns/%s", ns[i]);
		put(p, "");
	}
	put("/proc/self/status", "Name:\tvessel\nSeccomp:\t0\nSeccomp_filters:\t0\n");
	put("/proc/sys/kernel/seccomp/actions_avail", "kill_process kill_thread trap errno user_notif trace log allow\n");
	put("/proc/filesystems", "nodev\tsysfs\nnodev\tcgroup2\n\text4\nnodev\toverlay\n");
	put("/proc/self/mountinfo",
	    "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n");
	put("/dev/net/tun", "");
	return 0;
}

static int remove_root(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const vs_cpu_facts no_virt = {.hypervisor = true, .hv_vendor = "bhyve bhyve"};
static const vs_cpu_facts intel = {.vmx = true};
static const vs_cpu_facts amd = {.svm = true, .hypervisor = true, .hv_vendor = "TCGTCGTCGTCG"};

static size_t verdicts(const vs_hostinfo *h, vs_host_verdict v[VS_HOST_MAX_VERDICTS])
{
	size_t n = vs_host_verdicts(h, v);
	assert_true(n > 0 && n <= VS_HOST_MAX_VERDICTS);
	return n;
}

/* The verdict whose item contains `item`; fails the test if there is none. */
static const vs_host_verdict *find(const vs_host_verdict *v, size_t n, const char *item)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i].item, item))
			return &v[i];
	fail_msg("no verdict for %s", item);
	return &v[0]; /* not reached */
}

static bool any_mentions(const vs_host_verdict *v, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i].reason, word))
			return true;
	return false;
}

static void test_no_kvm_on_cpu_without_vmx_svm(void **state)
{
	(void)state;
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &no_virt, &h);
	assert_false(h.kvm_dev);
	assert_int_equal(vs_host_kvm_kind(&h), VS_KVM_NONE);
	size_t n = verdicts(&h, v);
	const vs_host_verdict *dev = find(v, n, "for /dev/kvm");
	assert_int_equal(dev->level, VS_HOST_FAIL);
	assert_non_null(strstr(dev->reason, "no KVM module"));
	assert_non_null(strstr(dev->reason, "no VT-x/AMD-V offered to this machine"));
	assert_int_equal(find(v, n, "KVM kind")->level, VS_HOST_FAIL);
	assert_int_equal(find(v, n, "hardware virtualization")->level, VS_HOST_WARN);
	assert_non_null(strstr(find(v, n, "hardware virtualization")->reason, "'bhyve bhyve'"));
	/* No advice to load a module the CPU cannot use. */
	assert_false(any_mentions(v, n, "modprobe"));
	assert_false(any_mentions(v, n, "kvm_intel"));
	/* Nothing to open: no accessibility, API or capability lines. */
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(v[i].item, "accessible"));
}

static void test_no_kvm_module_present_not_bound(void **state)
{
	(void)state;
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	char why[256];
	put("/sys/module/kvm/parameters", NULL);
	vs_host_probe_files(root, &no_virt, &h);
	assert_true(h.mod_kvm);
	vs_host_kvm_why(&h, why, sizeof(why));
	assert_non_null(strstr(why, "kvm module is loaded without a backend"));
	assert_non_null(strstr(why, "no VT-x/AMD-V"));

	/* kvm_pvm built in, not bound, and the kernel log does not say why. */
	put("/sys/module/kvm_pvm/parameters", NULL);
	vs_host_probe_files(root, &no_virt, &h);
	assert_true(h.mod_kvm_pvm);
	assert_false(h.pvm_guest);
	assert_int_equal(vs_host_kvm_kind(&h), VS_KVM_NONE);
	vs_host_kvm_why(&h, why, sizeof(why));
	assert_non_null(strstr(why, "kvm_pvm is loaded but did not bind"));
	size_t n = verdicts(&h, v);
	assert_int_equal(find(v, n, "for /dev/kvm")->level, VS_HOST_FAIL);
	/* Not "/dev/kvm is PVM": there is no /dev/kvm. */
	assert_false(any_mentions(v, n, "software-assisted"));
	assert_false(any_mentions(v, n, "modprobe"));
}

static void test_no_kvm_this_kernel_is_a_pvm_guest(void **state)
{
	(void)state;
	put("/sys/module/kvm/parameters", NULL);
	put("/sys/module/kvm_pvm/parameters", NULL);
	/* /dev/kmsg records; the one that matters straddles the first 8 KiB
	 * read of a plain file ("itself" begins 41 bytes into it). */
	char log[12000];
	size_t at = 8192 - 50;
	memset(log, 'x', sizeof(log));
	for (size_t i = 99; i < at; i += 100)
		log[i] = '\n';
	const char *rec = "\n6,580,313689,-;kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\n";
	memcpy(log + at, rec, strlen(rec));
	log[sizeof(log) - 1] = 0;
	put("/dev/kmsg", log);
	vs_hostinfo h;
	vs_host_probe_files(root, &no_virt, &h);
	assert_true(h.pvm_guest);
	char why[256];
	vs_host_kvm_why(&h, why, sizeof(why));
	assert_non_null(strstr(why, "kvm_pvm did not bind: this kernel is itself a PVM guest"));
	assert_non_null(strstr(why, "no VT-x/AMD-V offered to this machine"));
	assert_null(strstr(why, "modprobe"));
}

static void test_no_kvm_module_not_loaded_on_vmx_cpu(void **state)
{
	(void)state;
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &intel, &h);
	size_t n = verdicts(&h, v);
	assert_int_equal(find(v, n, "hardware virtualization")->level, VS_HOST_PASS);
	const vs_host_verdict *dev = find(v, n, "for /dev/kvm");
	assert_int_equal(dev->level, VS_HOST_FAIL);
	assert_non_null(strstr(dev->reason, "modprobe kvm_intel"));
	assert_null(strstr(dev->reason, "kvm_amd"));
	assert_null(strstr(dev->reason, "no VT-x"));

	vs_host_probe_files(root, &amd, &h);
	n = verdicts(&h, v);
	assert_non_null(strstr(find(v, n, "for /dev/kvm")->reason, "modprobe kvm_amd"));

	/* The module bound and registered the device; only the node is missing. */
	put("/sys/module/kvm_intel/parameters", NULL);
	put("/sys/class/misc/kvm/dev", "10:232\n");
	vs_host_probe_files(root, &intel, &h);
	n = verdicts(&h, v);
	assert_non_null(strstr(find(v, n, "for /dev/kvm")->reason, "mknod /dev/kvm c 10 232"));
	assert_false(any_mentions(v, n, "modprobe"));
}

static void test_pvm_dev_kvm_is_software_assisted(void **state)
{
	(void)state;
	put("/dev/kvm", "");
	put("/sys/module/kvm/parameters", NULL);
	put("/sys/module/kvm_pvm/parameters", NULL);
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &no_virt, &h);
	assert_int_equal(vs_host_kvm_kind(&h), VS_KVM_SOFTWARE);
	/* As the ioctl probe finds a PVM /dev/kvm. */
	h.kvm_probed = h.kvm_open = h.irqchip = h.pit2 = h.immediate_exit = true;
	h.kvm_api = 12;
	size_t n = verdicts(&h, v);
	assert_int_equal(find(v, n, "for /dev/kvm")->level, VS_HOST_PASS);
	const vs_host_verdict *kind = find(v, n, "KVM kind");
	assert_int_equal(kind->level, VS_HOST_WARN);
	assert_non_null(strstr(kind->reason, "software-assisted: PVM"));
	assert_non_null(strstr(kind->reason, "Linux kernels cannot boot"));
	assert_int_equal(find(v, n, "hardware virtualization")->level, VS_HOST_WARN);
	char why[64];
	vs_host_kvm_why(&h, why, sizeof(why));
	assert_string_equal(why, "");
}

static void test_hardware_kvm(void **state)
{
	(void)state;
	put("/dev/kvm", "");
	put("/sys/module/kvm/parameters", NULL);
	put("/sys/module/kvm_amd/parameters", NULL);
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &amd, &h);
	assert_int_equal(vs_host_kvm_kind(&h), VS_KVM_HARDWARE);
	h.kvm_probed = h.kvm_open = h.irqchip = h.pit2 = h.immediate_exit = true;
	h.kvm_api = 12;
	size_t n = verdicts(&h, v);
	static const char *items[] = {"hardware virtualization", "for /dev/kvm", "accessible", "API version",
				      "KVM kind", "irqchip"};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		assert_int_equal(find(v, n, items[i])->level, VS_HOST_PASS);
	assert_string_equal(find(v, n, "KVM kind")->reason, "hardware-assisted: AMD-V (kvm_amd)");
	assert_string_equal(find(v, n, "API version")->reason, "12");

	/* The same machine, but /dev/kvm is not ours to open, and an old API. */
	h.kvm_open = false;
	h.kvm_errno = EACCES;
	n = verdicts(&h, v);
	const vs_host_verdict *acc = find(v, n, "accessible");
	assert_int_equal(acc->level, VS_HOST_FAIL);
	assert_non_null(strstr(acc->reason, strerror(EACCES)));
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(v[i].item, "API version"));
	h.kvm_open = true;
	h.kvm_api = 11;
	h.pit2 = false;
	n = verdicts(&h, v);
	assert_int_equal(find(v, n, "API version")->level, VS_HOST_FAIL);
	assert_int_equal(find(v, n, "irqchip")->level, VS_HOST_FAIL);
	assert_string_equal(find(v, n, "irqchip")->reason, "no KVM_CAP_PIT2");
}

/* A CPU with VT-x where only kvm_amd is loaded is not called hardware KVM. */
static void test_kvm_with_unknown_backend(void **state)
{
	(void)state;
	put("/dev/kvm", "");
	put("/sys/module/kvm_amd/parameters", NULL);
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &intel, &h);
	assert_int_equal(vs_host_kvm_kind(&h), VS_KVM_UNKNOWN);
	size_t n = verdicts(&h, v);
	assert_int_equal(find(v, n, "KVM kind")->level, VS_HOST_WARN);
}

static void cgroup_case(const char *mountinfo, bool found, vs_cgroup_mode mode, vs_host_level level,
			const char *reason)
{
	put("/proc/self/mountinfo", mountinfo);
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &intel, &h);
	assert_int_equal(h.cgroup_found, found);
	if (found)
		assert_int_equal(h.cgroup, mode);
	size_t n = verdicts(&h, v);
	const vs_host_verdict *cg = find(v, n, "cgroup mode");
	assert_int_equal(cg->level, level);
	assert_non_null(strstr(cg->reason, reason));
}

#define ROOTFS "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
#define V1                                                                                                      \
	"25 22 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"                \
	"26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup "         \
	"rw,xattr,name=systemd\n"                                                                               \
	"27 25 0:24 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory\n" \
	"28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup "     \
	"rw,cpu,cpuacct\n"
#define UNIFIED "29 25 0:26 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:13 - cgroup2 cgroup2 rw\n"

static void test_cgroup_modes_from_mountinfo(void **state)
{
	(void)state;
	cgroup_case(ROOTFS "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
			   "rw,nsdelegate,memory_recursiveprot\n",
		    true, VS_CG_V2, VS_HOST_PASS, "v2 (unified)");
	cgroup_case(ROOTFS V1, true, VS_CG_V1, VS_HOST_WARN, "v1");
	cgroup_case(ROOTFS V1 UNIFIED, true, VS_CG_HYBRID, VS_HOST_WARN, "hybrid (v1 + v2)");
	/* systemd's own named v1 tree next to cgroup2 is still a v2 host. */
	cgroup_case(ROOTFS "25 22 0:22 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro\n"
			   "26 25 0:23 / /sys/fs/cgroup/systemd rw shared:10 - cgroup cgroup rw,name=systemd\n" UNIFIED,
		    true, VS_CG_V2, VS_HOST_PASS, "v2");
	cgroup_case(ROOTFS, false, VS_CG_V2, VS_HOST_FAIL, "none");
}

static void test_missing_features(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof(p), "%s/proc/self/ns/time", root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/proc/sys/kernel/seccomp/actions_avail", root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/dev/net/tun", root);
	assert_int_equal(unlink(p), 0);
	put("/proc/filesystems", "nodev\tsysfs\n\text4\n");
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &intel, &h);
	size_t n = verdicts(&h, v);
	const vs_host_verdict *ns = find(v, n, "namespaces");
	assert_int_equal(ns->level, VS_HOST_FAIL);
	assert_string_equal(ns->reason, "missing: time");
	assert_int_equal(find(v, n, "seccomp")->level, VS_HOST_WARN);
	assert_int_equal(find(v, n, "overlayfs")->level, VS_HOST_WARN);
	/* Not registered yet, but a module this kernel loads on demand. */
	put("/proc/sys/kernel/osrelease", "6.1.0-57-amd64\n");
	put("/lib/modules/6.1.0-57-amd64/modules.dep", "kernel/fs/fuse/fuse.ko:\nkernel/fs/overlayfs/overlay.ko:\n");
	vs_host_probe_files(root, &intel, &h);
	n = verdicts(&h, v);
	assert_int_equal(find(v, n, "overlayfs")->level, VS_HOST_PASS);
	assert_string_equal(find(v, n, "overlayfs")->reason, "module, loads on first mount");
	assert_int_equal(find(v, n, "tun")->level, VS_HOST_WARN);
	put("/proc/self/status", "Name:\tvessel\n");
	vs_host_probe_files(root, &intel, &h);
	n = verdicts(&h, v);
	assert_int_equal(find(v, n, "seccomp")->level, VS_HOST_FAIL);
}

/* The fixture's baseline is a healthy container host. */
static void test_fixture_baseline_passes(void **state)
{
	(void)state;
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe_files(root, &intel, &h);
	size_t n = verdicts(&h, v);
	static const char *items[] = {"cgroup mode", "namespaces", "seccomp", "overlayfs", "tun"};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		assert_int_equal(find(v, n, items[i])->level, VS_HOST_PASS);
}

/* Capacity for GET /1.0/resources: online CPUs from the kernel's list,
 * memory from meminfo (kB), nothing made up when the files are absent or
 * malformed. */
static void test_capacity(void **state)
{
	(void)state;
	vs_hostinfo h;
	vs_host_probe_files(root, NULL, &h);
	assert_int_equal(h.cpus_online, 0);
	assert_true(h.mem_total == 0);
	put("/sys/devices/system/cpu/online", "0-3,6,8-9\n");
	put("/proc/meminfo", "MemTotal:       16384 kB\nMemFree:  1 kB\nMemAvailable:    8192 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
	vs_host_probe_files(root, NULL, &h);
	assert_int_equal(h.cpus_online, 7);
	assert_true(h.mem_total == 16384ULL * 1024 && h.mem_available == 8192ULL * 1024);
	static const char *const bad[] = {"3-1\n", "x\n", "0-3;5\n", "0-99999999\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("/sys/devices/system/cpu/online", bad[i]);
		vs_host_probe_files(root, NULL, &h);
		assert_int_equal(h.cpus_online, 0);
	}
	put("/sys/devices/system/cpu/online", "0\n");
	vs_host_probe_files(root, NULL, &h);
	assert_int_equal(h.cpus_online, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, make_root, remove_root)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_capacity),
		T(test_no_kvm_on_cpu_without_vmx_svm),
		T(test_no_kvm_module_present_not_bound),
		T(test_no_kvm_this_kernel_is_a_pvm_guest),
		T(test_no_kvm_module_not_loaded_on_vmx_cpu),
		T(test_pvm_dev_kvm_is_software_assisted),
		T(test_hardware_kvm),
		T(test_kvm_with_unknown_backend),
		T(test_cgroup_modes_from_mountinfo),
		T(test_missing_features),
		T(test_fixture_baseline_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
