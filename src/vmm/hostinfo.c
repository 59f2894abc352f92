#include "vmm/hostinfo.h"

#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/vm.h"

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void probe_kvm(vs_hostinfo *h)
{
	unsigned a, b, c, d;
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		h->cpu_vmx = c & (1u << 5);
		h->hypervisor = c & (1u << 31);
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		h->cpu_svm = c & (1u << 2);
	if (h->hypervisor) {
		__cpuid(0x40000000, a, b, c, d);
		memcpy(h->hv_vendor, &b, 4);
		memcpy(h->hv_vendor + 4, &c, 4);
		memcpy(h->hv_vendor + 8, &d, 4);
		for (int i = 0; i < 12; i++)
			if ((unsigned char)h->hv_vendor[i] < 0x20 || (unsigned char)h->hv_vendor[i] > 0x7e)
				h->hv_vendor[i] = h->hv_vendor[i] ? '?' : 0;
	}
	/* PVM ("Protected Virtual Machine", a KVM backend for nested clouds)
	 * registers as its own module; with it loaded /dev/kvm is PVM. */
	h->kvm_pvm = exists("/sys/module/kvm_pvm");
	h->kvm_api = -1;
	h->kvm_dev = exists("/dev/kvm");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	h->kvm_open = true;
	h->kvm_api = ioctl(fd, KVM_GET_API_VERSION, 0);
	h->irqchip = vs_kvm_check_cap(fd, KVM_CAP_IRQCHIP);
	h->pit2 = vs_kvm_check_cap(fd, KVM_CAP_PIT2);
	h->immediate_exit = vs_kvm_check_cap(fd, KVM_CAP_IMMEDIATE_EXIT);
	close(fd);
}

/* cgroup2 mounted at the unified root only -> v2; cgroup (v1) hierarchies
 * only -> v1; both -> hybrid. */
static vs_cgroup_mode probe_cgroup(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return VS_CGROUP_NONE;
	bool v1 = false, v2 = false;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		if (!strncmp(sep + 3, "cgroup2 ", 8))
			v2 = true;
		else if (!strncmp(sep + 3, "cgroup ", 7))
			v1 = true;
	}
	fclose(f);
	return v1 && v2 ? VS_CGROUP_HYBRID : v2 ? VS_CGROUP_V2 : v1 ? VS_CGROUP_V1 : VS_CGROUP_NONE;
}

static void probe_ns(vs_hostinfo *h)
{
	static const char *kinds[] = {"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"};
	h->ns_missing[0] = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/ns/%s", kinds[i]);
		if (!exists(p)) {
			size_t l = strlen(h->ns_missing);
			snprintf(h->ns_missing + l, sizeof(h->ns_missing) - l, "%s%s", l ? " " : "", kinds[i]);
		}
	}
}

static bool file_has_word(const char *path, const char *word)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *w = strrchr(line, '\t');
		w = w ? w + 1 : line;
		w[strcspn(w, "\n")] = 0;
		found = !strcmp(w, word);
	}
	fclose(f);
	return found;
}

void vs_hostinfo_probe(vs_hostinfo *h)
{
	memset(h, 0, sizeof(*h));
	probe_kvm(h);
	h->cgroup = probe_cgroup();
	probe_ns(h);
	/* PR_GET_SECCOMP works unless seccomp is compiled out (EINVAL). */
	h->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	h->seccomp_filter = h->seccomp && exists("/proc/sys/kernel/seccomp/actions_avail");
	h->overlayfs = file_has_word("/proc/filesystems", "overlay") || exists("/sys/module/overlay");
	h->tun = exists("/dev/net/tun");
}
