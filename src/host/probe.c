/* The host probe: files under a root prefix, CPUID, and /dev/kvm itself. */
#include "host/hostinfo.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

/* What kvm_pvm logs when it declines a kernel that is itself a PVM guest:
 * "kvm-pvm: this kernel is itself a kvm-pvm guest; not binding". */
#define PVM_GUEST_LOG "itself a kvm-pvm guest"

void vs_cpu_facts_read(vs_cpu_facts *c)
{
	unsigned a, b, cx, d;
	memset(c, 0, sizeof(*c));
	if (__get_cpuid(1, &a, &b, &cx, &d)) {
		c->vmx = cx & (1u << 5);
		c->hypervisor = cx & (1u << 31);
	}
	if (__get_cpuid(0x80000001, &a, &b, &cx, &d))
		c->svm = cx & (1u << 2);
	if (!c->hypervisor)
		return;
	__cpuid(0x40000000, a, b, cx, d);
	memcpy(c->hv_vendor, &b, 4);
	memcpy(c->hv_vendor + 4, &cx, 4);
	memcpy(c->hv_vendor + 8, &d, 4);
	for (int i = 0; i < 12; i++)
		if ((unsigned char)c->hv_vendor[i] < 0x20 || (unsigned char)c->hv_vendor[i] > 0x7e)
			c->hv_vendor[i] = c->hv_vendor[i] ? '?' : 0;
	for (int i = 11; i >= 0 && (c->hv_vendor[i] == ' ' || !c->hv_vendor[i]); i--)
		c->hv_vendor[i] = 0; /* "bhyve bhyve " */
}

static const char *at(const char *root, const char *path, char *buf, size_t len)
{
	if (!root || !*root || !strcmp(root, "/"))
		return path;
	if ((size_t)snprintf(buf, len, "%s%s", root, path) >= len)
		return "/nonexistent/path-too-long"; /* probes as absent */
	return buf;
}

static bool exists(const char *root, const char *path)
{
	char buf[4096];
	return access(at(root, path, buf, sizeof(buf)), F_OK) == 0;
}

/* A line of the file starts with prefix (or, with word_at_end, its last
 * tab-separated word is prefix: /proc/filesystems). */
static bool file_has_line(const char *root, const char *path, const char *prefix, bool word_at_end)
{
	char buf[4096];
	FILE *f = fopen(at(root, path, buf, sizeof(buf)), "re");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (word_at_end) {
			char *w = strrchr(line, '\t');
			found = !strcmp(w ? w + 1 : line, prefix);
		} else {
			found = !strncmp(line, prefix, strlen(prefix));
		}
	}
	fclose(f);
	return found;
}

/* A module this kernel can load on demand: named in modules.dep (or built
 * in) under /lib/modules/<release>. */
static bool module_available(const char *root, const char *ko)
{
	char rel[128], buf[4096];
	FILE *f = fopen(at(root, "/proc/sys/kernel/osrelease", buf, sizeof(buf)), "re");
	if (!f)
		return false;
	bool got = fgets(rel, sizeof(rel), f) != NULL;
	fclose(f);
	if (!got)
		return false;
	rel[strcspn(rel, "\n")] = 0;
	static const char *lists[] = {"modules.dep", "modules.builtin"};
	for (size_t i = 0; i < 2; i++) {
		char path[256];
		snprintf(path, sizeof(path), "/lib/modules/%.100s/%s", rel, lists[i]);
		if (!(f = fopen(at(root, path, buf, sizeof(buf)), "re")))
			continue;
		char line[512];
		bool found = false;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, ko) != NULL;
		fclose(f);
		if (found)
			return true;
	}
	return false;
}

/* Whether the kernel log holds needle. /dev/kmsg returns one record per
 * read and EAGAIN at the end; a fixture is a plain file read in chunks, so
 * the tail of each chunk is kept to find a needle cut in two. Bounded, in
 * case the path is something endless. */
static bool kmsg_has(const char *root, const char *needle)
{
	char path[4096];
	int fd = open(at(root, "/dev/kmsg", path, sizeof(path)), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	enum { CHUNK = 8192 }; /* more than a kmsg record (1 KiB) */
	size_t nl = strlen(needle), keep = 0;
	char buf[CHUNK + 64];
	if (nl == 0 || nl >= 64) {
		close(fd);
		return false;
	}
	bool found = false;
	for (int reads = 0; !found && reads < 100000; reads++) {
		ssize_t n = read(fd, buf + keep, CHUNK);
		if (n < 0 && errno == EPIPE)
			continue; /* a record was overwritten while we read */
		if (n <= 0)
			break;
		size_t have = keep + (size_t)n;
		buf[have] = 0;
		found = memmem(buf, have, needle, nl) != NULL;
		keep = have < nl - 1 ? have : nl - 1;
		memmove(buf, buf + have - keep, keep);
	}
	close(fd);
	return found;
}

static void probe_ns(const char *root, vs_hostinfo *h)
{
	static const char *kinds[] = {"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/ns/%s", kinds[i]);
		if (!exists(root, p)) {
			size_t l = strlen(h->ns_missing);
			snprintf(h->ns_missing + l, sizeof(h->ns_missing) - l, "%s%s", l ? " " : "", kinds[i]);
		}
	}
}

void vs_host_probe_files(const char *root, const vs_cpu_facts *cpu, vs_hostinfo *h)
{
	memset(h, 0, sizeof(*h));
	h->kvm_api = -1;
	if (cpu)
		h->cpu = *cpu;
	else
		vs_cpu_facts_read(&h->cpu);
	vs_host_probe_capacity(root, h);
	h->kvm_dev = exists(root, "/dev/kvm");
	h->kvm_registered = exists(root, "/sys/class/misc/kvm");
	/* Loaded modules and built-in ones with parameters both show here. */
	h->mod_kvm = exists(root, "/sys/module/kvm");
	h->mod_kvm_intel = exists(root, "/sys/module/kvm_intel");
	h->mod_kvm_amd = exists(root, "/sys/module/kvm_amd");
	h->mod_kvm_pvm = exists(root, "/sys/module/kvm_pvm");
	if (h->mod_kvm_pvm && !h->kvm_dev)
		h->pvm_guest = kmsg_has(root, PVM_GUEST_LOG);

	char mi[4096];
	vs_err err = {0};
	h->cgroup_found = vs_cgroup_mode_detect_at(at(root, "/proc/self/mountinfo", mi, sizeof(mi)), &h->cgroup,
						   &err) == 0;
	if (!h->cgroup_found)
		vs_err_str(&err, h->cgroup_why, sizeof(h->cgroup_why));

	probe_ns(root, h);
	/* The Seccomp: line exists unless seccomp is compiled out. */
	h->seccomp = file_has_line(root, "/proc/self/status", "Seccomp:", false);
	h->seccomp_filter = h->seccomp && exists(root, "/proc/sys/kernel/seccomp/actions_avail");
	h->overlayfs = file_has_line(root, "/proc/filesystems", "overlay", true) || exists(root, "/sys/module/overlay");
	h->overlayfs_module = !h->overlayfs && module_available(root, "/overlay.ko");
	h->tun = exists(root, "/dev/net/tun");
}

static bool has_cap(int fd, int cap)
{
	return ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0;
}

void vs_host_probe_kvm_dev(const char *root, vs_hostinfo *h)
{
	char path[4096];
	h->kvm_probed = true;
	int fd = open(at(root, "/dev/kvm", path, sizeof(path)), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		h->kvm_errno = errno;
		return;
	}
	h->kvm_open = true;
	h->kvm_api = ioctl(fd, KVM_GET_API_VERSION, 0);
	h->irqchip = has_cap(fd, KVM_CAP_IRQCHIP);
	h->pit2 = has_cap(fd, KVM_CAP_PIT2);
	h->immediate_exit = has_cap(fd, KVM_CAP_IMMEDIATE_EXIT);
	close(fd);
}

void vs_host_probe(vs_hostinfo *h)
{
	vs_host_probe_files(NULL, NULL, h);
	if (h->kvm_dev)
		vs_host_probe_kvm_dev(NULL, h);
}
