/* Facts -> verdicts: a pure function, so every host kind is testable on
 * any machine. The KVM verdicts name the real reason and only the fix that
 * applies (no "load kvm-intel" on a CPU without VT-x). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host/hostinfo.h"

vs_kvm_kind vs_host_kvm_kind(const vs_hostinfo *h)
{
	if (!h->kvm_dev)
		return VS_KVM_NONE;
	if ((h->mod_kvm_intel && h->cpu.vmx) || (h->mod_kvm_amd && h->cpu.svm))
		return VS_KVM_HARDWARE;
	/* PVM ("Protected Virtual Machine", a KVM backend for nested clouds)
	 * registers as its own module; with it loaded /dev/kvm is PVM. */
	if (h->mod_kvm_pvm)
		return VS_KVM_SOFTWARE;
	return VS_KVM_UNKNOWN;
}

static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap); /* truncation only shortens a reason */
	va_end(ap);
}

/* "no VT-x/AMD-V offered to this machine (CPUID[; hypervisor 'X' does not
 * pass it on])" */
static void no_hw_virt(const vs_hostinfo *h, bool name_hv, char *buf, size_t len)
{
	cat(buf, len, "no VT-x/AMD-V offered to this machine (CPUID");
	if (name_hv && h->cpu.hypervisor)
		cat(buf, len, "; hypervisor '%s' does not pass it on", h->cpu.hv_vendor);
	cat(buf, len, ")");
}

static const char *backend(const vs_hostinfo *h)
{
	return h->mod_kvm_intel ? "kvm_intel" : h->mod_kvm_amd ? "kvm_amd" : h->mod_kvm_pvm ? "kvm_pvm" : NULL;
}

void vs_host_kvm_why(const vs_hostinfo *h, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = 0;
	if (h->kvm_dev)
		return;
	bool hw = h->cpu.vmx || h->cpu.svm;
	const char *mod = backend(h);
	if (h->mod_kvm_pvm && h->pvm_guest) {
		cat(buf, len, "kvm_pvm did not bind: this kernel is itself a PVM guest");
	} else if (h->kvm_registered) {
		cat(buf, len, "%s registered the kvm device but the node is missing (mknod /dev/kvm c 10 232)",
		    mod ? mod : "KVM");
		return;
	} else if (mod) {
		cat(buf, len, "%s is loaded but did not bind (see dmesg)", mod);
	} else if (h->cpu.vmx) {
		cat(buf, len, "KVM is not loaded on a CPU with VT-x (modprobe kvm_intel)");
		return;
	} else if (h->cpu.svm) {
		cat(buf, len, "KVM is not loaded on a CPU with AMD-V (modprobe kvm_amd)");
		return;
	} else if (h->mod_kvm) {
		cat(buf, len, "the kvm module is loaded without a backend (kvm_intel, kvm_amd or kvm_pvm)");
	} else {
		cat(buf, len, "no KVM module");
	}
	if (!hw) {
		cat(buf, len, "; ");
		no_hw_virt(h, false, buf, len);
	}
}

typedef struct list {
	vs_host_verdict *v;
	size_t n;
} list;

static void add(list *l, const char *item, vs_host_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(list *l, const char *item, vs_host_level level, const char *fmt, ...)
{
	if (l->n >= VS_HOST_MAX_VERDICTS)
		return;
	vs_host_verdict *v = &l->v[l->n++];
	v->item = item;
	v->level = level;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static void kvm_verdicts(const vs_hostinfo *h, list *l)
{
	char why[sizeof(l->v->reason)] = "";
	vs_kvm_kind kind = vs_host_kvm_kind(h);
	if (h->cpu.vmx || h->cpu.svm) {
		add(l, "Checking for hardware virtualization (VT-x/AMD-V)", VS_HOST_PASS, "%s",
		    h->cpu.vmx ? "Intel VT-x" : "AMD-V");
	} else {
		no_hw_virt(h, true, why, sizeof(why));
		add(l, "Checking for hardware virtualization (VT-x/AMD-V)", VS_HOST_WARN, "%s", why);
	}
	if (!h->kvm_dev) {
		vs_host_kvm_why(h, why, sizeof(why));
		add(l, "Checking for /dev/kvm", VS_HOST_FAIL, "absent: %s", why);
	} else {
		add(l, "Checking for /dev/kvm", VS_HOST_PASS, "%s", "");
	}
	if (h->kvm_dev && h->kvm_probed)
		add(l, "Checking if /dev/kvm is accessible", h->kvm_open ? VS_HOST_PASS : VS_HOST_FAIL, "%s%s",
		    h->kvm_open ? "" : strerror(h->kvm_errno),
		    h->kvm_open ? "" : ": need read/write access (group kvm)");
	if (h->kvm_open)
		add(l, "Checking KVM API version", h->kvm_api == 12 ? VS_HOST_PASS : VS_HOST_FAIL, "%d%s", h->kvm_api,
		    h->kvm_api == 12 ? "" : ", need 12");
	switch (kind) {
	case VS_KVM_NONE:
		add(l, "Checking KVM kind", VS_HOST_FAIL, "%s", "none: no /dev/kvm, microVMs cannot run here");
		break;
	case VS_KVM_SOFTWARE:
		add(l, "Checking KVM kind", VS_HOST_WARN,
		    "software-assisted: PVM (kvm_pvm); ring-3 guests run, guest ring 0 is emulated, "
		    "Linux kernels cannot boot");
		break;
	case VS_KVM_HARDWARE:
		add(l, "Checking KVM kind", VS_HOST_PASS, "hardware-assisted: %s",
		    h->mod_kvm_intel && h->cpu.vmx ? "Intel VT-x (kvm_intel)" : "AMD-V (kvm_amd)");
		break;
	case VS_KVM_UNKNOWN:
		add(l, "Checking KVM kind", VS_HOST_WARN, "unknown: /dev/kvm without kvm_intel, kvm_amd or kvm_pvm%s",
		    h->cpu.vmx || h->cpu.svm ? "" : ", no VT-x/AMD-V in CPUID");
		break;
	}
	if (h->cpu.hypervisor)
		add(l, "Checking for a hypervisor below this host", VS_HOST_WARN, "nested, hypervisor '%s'",
		    h->cpu.hv_vendor);
	if (h->kvm_open) {
		why[0] = 0;
		if (!h->irqchip)
			cat(why, sizeof(why), "no KVM_CAP_IRQCHIP ");
		if (!h->pit2)
			cat(why, sizeof(why), "no KVM_CAP_PIT2 ");
		if (!h->immediate_exit)
			cat(why, sizeof(why), "no KVM_CAP_IMMEDIATE_EXIT ");
		size_t n = strlen(why);
		if (n)
			why[n - 1] = 0;
		add(l, "Checking KVM in-kernel irqchip, PIT, immediate_exit", n ? VS_HOST_FAIL : VS_HOST_PASS, "%s",
		    why);
	}
}

size_t vs_host_verdicts(const vs_hostinfo *h, vs_host_verdict out[VS_HOST_MAX_VERDICTS])
{
	list l = {out, 0};
	kvm_verdicts(h, &l);
	if (!h->cgroup_found)
		add(&l, "Checking cgroup mode", VS_HOST_FAIL, "none: %s", h->cgroup_why);
	else if (h->cgroup == VS_CG_V2)
		add(&l, "Checking cgroup mode", VS_HOST_PASS, "%s", "v2 (unified)");
	else
		add(&l, "Checking cgroup mode", VS_HOST_WARN, "%s", h->cgroup == VS_CG_V1 ? "v1" : "hybrid (v1 + v2)");
	if (h->ns_missing[0])
		add(&l, "Checking namespaces (mnt pid net ipc uts user cgroup time)", VS_HOST_FAIL, "missing: %s",
		    h->ns_missing);
	else
		add(&l, "Checking namespaces (mnt pid net ipc uts user cgroup time)", VS_HOST_PASS, "%s", "");
	vs_host_level sc = h->seccomp_filter ? VS_HOST_PASS : h->seccomp ? VS_HOST_WARN : VS_HOST_FAIL;
	add(&l, "Checking seccomp filters", sc, "%s",
	    h->seccomp_filter ? "" : h->seccomp ? "no seccomp filter mode" : "no seccomp");
	add(&l, "Checking overlayfs", h->overlayfs || h->overlayfs_module ? VS_HOST_PASS : VS_HOST_WARN, "%s",
	    h->overlayfs ? "" : h->overlayfs_module ? "module, loads on first mount" : "not in /proc/filesystems");
	add(&l, "Checking /dev/net/tun", h->tun ? VS_HOST_PASS : VS_HOST_WARN, "%s",
	    h->tun ? "" : "VM networking unavailable");
	return l.n;
}
