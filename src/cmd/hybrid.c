/* `vessel --isolation vm run`: the container in a microVM of its own. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/error.h"
#include "cmd/commands.h"
#include "cmd/opts.h"
#include "hybrid/hybrid.h"
#include "oci/config.h"
#include "vmm/vmm.h"

bool vs_cmd_wants_vm(const vs_global *g, const vs_config *cfg)
{
	if (!strcmp(g->isolation, "vm"))
		return true;
	for (size_t i = 0; cfg && i < cfg->n_annotations; i++)
		if (!strcmp(cfg->annotations[i].key, VS_HYB_ANNOTATION) && !strcmp(cfg->annotations[i].value, "vm"))
			return true;
	return false;
}

/* The directory of the vessel binary as invoked (argv[0], through PATH
 * when it has no slash): the agent's initramfs is built next to it. The
 * running image may be a sealed copy (CVE-2019-5736), so not /proc/self/exe. */
static int self_dir(const char *argv0, char *out, size_t len)
{
	char found[PATH_MAX], real[PATH_MAX];
	if (strchr(argv0, '/')) {
		snprintf(found, sizeof(found), "%s", argv0);
	} else {
		const char *path = getenv("PATH");
		found[0] = 0;
		for (const char *p = path ? path : ""; *p && !found[0];) {
			size_t n = strcspn(p, ":");
			snprintf(found, sizeof(found), "%.*s/%s", (int)n, p, argv0);
			if (access(found, X_OK) < 0)
				found[0] = 0;
			p += n + (p[n] == ':');
		}
	}
	if (!found[0] || !realpath(found, real))
		return -1;
	char *slash = strrchr(real, '/');
	*slash = 0;
	snprintf(out, len, "%s", real[0] ? real : "/");
	return 0;
}

int vs_cmd_hybrid_run(vs_global *g, const char *id, const char *bundle, const vs_vm_flags *vf)
{
	char kernel[PATH_MAX], rel[256], initrd[PATH_MAX + 300], dir[PATH_MAX];
	vs_err err = {0};
	uint64_t mem;
	const char *bad = vs_parse_size(vf->memory, &mem);
	if (bad) {
		fprintf(stderr, "vessel run: --vm-memory %s: %s\n", vf->memory, bad);
		return 2;
	}
	if (vs_vmm_check_memory(mem, "--vm-memory", &err) < 0)
		return vs_cmd_fail(&err);
	if (vf->cpus < 1 || vf->cpus > VS_VMM_MAX_CPUS) {
		fprintf(stderr, "vessel run: --vm-cpus %ld: must be 1..%d\n", vf->cpus, VS_VMM_MAX_CPUS);
		return 2;
	}
	if (vf->kernel) {
		snprintf(kernel, sizeof(kernel), "%s", vf->kernel);
		const char *v = strstr(vf->kernel, "vmlinuz-");
		snprintf(rel, sizeof(rel), "%s", v ? v + 8 : "");
	} else if (vs_hyb_default_kernel(kernel, sizeof(kernel), rel, sizeof(rel), &err) < 0) {
		return vs_cmd_fail(&err);
	}
	if (vf->initrd) {
		snprintf(initrd, sizeof(initrd), "%s", vf->initrd);
	} else {
		if (!rel[0] || self_dir(g->argv0, dir, sizeof(dir)) < 0) {
			fprintf(stderr, "vessel run: no agent initramfs known for kernel %s: name one with --vm-initrd\n", kernel);
			return 2;
		}
		snprintf(initrd, sizeof(initrd), "%s/vessel-agent-%s.cpio", dir, rel);
		if (access(initrd, R_OK) < 0) {
			fprintf(stderr, "vessel run: agent initramfs %s: %s (`make` builds it for the newest /boot kernel; "
					"or --vm-initrd)\n", initrd, strerror(errno));
			return 1;
		}
	}
	/* Signals for the container go to it through the agent. */
	sigset_t set, old;
	sigemptyset(&set);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&set, fwd[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	const char *dbg = getenv("VESSEL_VM_CONSOLE");
	const char *pvm = getenv("VESSEL_ALLOW_PVM");
	vs_hyb_opts o = {.root = g->root, .id = id, .bundle = bundle, .kernel = kernel, .initrd = initrd,
			 .cpus = (unsigned)vf->cpus, .mem = mem, .console = g->debug || (dbg && !strcmp(dbg, "1")),
			 .allow_pvm = pvm && !strcmp(pvm, "1"), .in_fd = 0, .out_fd = 1, .err_fd = 2, .sig_fd = sfd};
	int status = 1;
	int rc = vs_hyb_run(&o, &status, &err);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		vs_cmd_fail(&err);
		if (err.code == ECHILD && !o.console)
			fprintf(stderr, "vessel: VESSEL_VM_CONSOLE=1 (or --debug) shows the guest's console\n");
		return 1;
	}
	return status;
}
