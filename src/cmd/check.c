/* `vessel check`: what this host offers, one verdict per line in the
 * style of libvirt's virt-host-validate: "NAME : PASS|WARN|FAIL (why)". */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "vmm/hostinfo.h"

typedef enum { PASS, WARN, FAIL } verdict;

static int fails;

static void line(const char *what, verdict v, const char *fmt, const char *detail)
{
	static const char *names[] = {"PASS", "WARN", "FAIL"};
	printf("vessel: %-58s: %s", what, names[v]);
	if (fmt && *fmt) {
		printf(" (");
		printf(fmt, detail ? detail : "");
		printf(")");
	}
	printf("\n");
	if (v == FAIL)
		fails++;
}

int cmd_check(vs_global *g, int argc, char **argv)
{
	(void)g;
	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("usage: vessel check\n\nReports what this host offers for containers and microVMs.\n"
		       "Exit status 0 when nothing FAILs, 1 otherwise.\n");
		return 0;
	}
	vs_hostinfo h;
	vs_hostinfo_probe(&h);
	fails = 0;

	line("Checking for /dev/kvm", h.kvm_dev ? PASS : FAIL, h.kvm_dev ? "" : "load kvm-intel or kvm-amd", NULL);
	if (h.kvm_dev)
		line("Checking if /dev/kvm is accessible", h.kvm_open ? PASS : FAIL,
		     h.kvm_open ? "" : "need read/write access (group kvm)", NULL);
	if (h.kvm_open)
		line("Checking KVM API version", h.kvm_api == 12 ? PASS : FAIL, h.kvm_api == 12 ? "12" : "not 12",
		     NULL);
	if (h.kvm_dev) {
		if (h.kvm_pvm)
			line("Checking KVM kind", WARN,
			     "software-assisted: PVM (kvm_pvm); guest ring 0 is emulated, kernels cannot boot%s",
			     h.cpu_vmx || h.cpu_svm ? "" : ", no VMX/SVM in CPUID");
		else if (h.cpu_vmx || h.cpu_svm)
			line("Checking KVM kind", PASS, "hardware-assisted: %s", h.cpu_vmx ? "Intel VT-x" : "AMD-V");
		else
			line("Checking KVM kind", WARN, "unknown: no VMX/SVM in CPUID%s", "");
	}
	if (h.hypervisor)
		line("Checking for a hypervisor below this host", WARN, "nested, hypervisor '%s'", h.hv_vendor);
	if (h.kvm_open)
		line("Checking KVM in-kernel irqchip, PIT, immediate_exit",
		     h.irqchip && h.pit2 && h.immediate_exit ? PASS : FAIL, "", NULL);

	static const char *cg[] = {"none", "v1", "v2 (unified)", "hybrid (v1 + v2)"};
	line("Checking cgroup mode", h.cgroup == VS_CGROUP_V2 ? PASS : h.cgroup == VS_CGROUP_NONE ? FAIL : WARN,
	     "%s", cg[h.cgroup]);
	line("Checking namespaces (mnt pid net ipc uts user cgroup time)", h.ns_missing[0] ? FAIL : PASS,
	     h.ns_missing[0] ? "missing: %s" : "", h.ns_missing);
	line("Checking seccomp filters", h.seccomp_filter ? PASS : h.seccomp ? WARN : FAIL,
	     h.seccomp_filter ? "" : "no seccomp filter mode", NULL);
	line("Checking overlayfs", h.overlayfs ? PASS : WARN, h.overlayfs ? "" : "not in /proc/filesystems", NULL);
	line("Checking /dev/net/tun", h.tun ? PASS : WARN, h.tun ? "" : "VM networking unavailable", NULL);
	return fails ? 1 : 0;
}
