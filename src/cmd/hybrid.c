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
#include "ctr/state.h"
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

/* The keeper's failures after create returned go to its stderr (the container's). */
static bool console_on;
static void report(const vs_err *err)
{
	vs_cmd_fail(err);
	if (err->code == ECHILD && !console_on)
		fprintf(stderr, "vessel: VESSEL_VM_CONSOLE=1 (or --debug) shows the guest's console\n");
}

/* The VM's options from the flags (and defaults), or an exit status. */
static int vm_opts(vs_global *g, const char *cmd, const vs_vm_flags *vf, vs_hyb_opts *o, char *kernel, size_t klen,
		   char *initrd, size_t ilen)
{
	char rel[256], dir[PATH_MAX];
	vs_err err = {0};
	uint64_t mem;
	const char *bad = vs_parse_size(vf->memory, &mem);
	if (bad) {
		fprintf(stderr, "vessel %s: --vm-memory %s: %s\n", cmd, vf->memory, bad);
		return 2;
	}
	if (vs_vmm_check_memory(mem, "--vm-memory", &err) < 0)
		return vs_cmd_fail(&err);
	if (vf->cpus < 1 || vf->cpus > VS_VMM_MAX_CPUS) {
		fprintf(stderr, "vessel %s: --vm-cpus %ld: must be 1..%d\n", cmd, vf->cpus, VS_VMM_MAX_CPUS);
		return 2;
	}
	if (vf->kernel) {
		snprintf(kernel, klen, "%s", vf->kernel);
		const char *v = strstr(vf->kernel, "vmlinuz-");
		snprintf(rel, sizeof(rel), "%s", v ? v + 8 : "");
	} else if (vs_hyb_default_kernel(kernel, klen, rel, sizeof(rel), &err) < 0) {
		return vs_cmd_fail(&err);
	}
	if (vf->initrd) {
		snprintf(initrd, ilen, "%s", vf->initrd);
	} else {
		if (!rel[0] || self_dir(g->argv0, dir, sizeof(dir)) < 0) {
			fprintf(stderr, "vessel %s: no agent initramfs known for kernel %s: name one with --vm-initrd\n", cmd,
				kernel);
			return 2;
		}
		snprintf(initrd, ilen, "%s/vessel-agent-%s.cpio", dir, rel);
		if (access(initrd, R_OK) < 0) {
			fprintf(stderr, "vessel %s: agent initramfs %s: %s (`make` builds it for the newest /boot kernel; "
					"or --vm-initrd)\n", cmd, initrd, strerror(errno));
			return 1;
		}
	}
	const char *dbg = getenv("VESSEL_VM_CONSOLE");
	const char *pvm = getenv("VESSEL_ALLOW_PVM");
	o->kernel = kernel, o->initrd = initrd, o->cpus = (unsigned)vf->cpus, o->mem = mem;
	o->console = console_on = g->debug || (dbg && !strcmp(dbg, "1"));
	o->allow_pvm = pvm && !strcmp(pvm, "1");
	o->root = g->root;
	o->report = report;
	return 0;
}

int vs_cmd_hybrid_create(vs_global *g, const char *id, const char *bundle, const char *pid_file,
			 const vs_vm_flags *vf)
{
	char kernel[PATH_MAX], initrd[PATH_MAX + 300];
	vs_hyb_opts o = {.id = id, .bundle = bundle, .pid_file = pid_file};
	int rc = vm_opts(g, "create", vf, &o, kernel, sizeof(kernel), initrd, sizeof(initrd));
	if (rc)
		return rc;
	vs_err err = {0};
	pid_t k;
	signal(SIGPIPE, SIG_IGN);
	if (vs_hyb_create(&o, &k, &err) < 0) {
		report(&err);
		return 1;
	}
	return 0;
}

int vs_cmd_hybrid_run(vs_global *g, const char *id, const char *bundle, const vs_vm_flags *vf)
{
	char kernel[PATH_MAX], initrd[PATH_MAX + 300];
	vs_hyb_opts o = {.id = id, .bundle = bundle};
	int rc = vm_opts(g, "run", vf, &o, kernel, sizeof(kernel), initrd, sizeof(initrd));
	if (rc)
		return rc;
	/* Signals for the container go to it through the keeper and the agent. */
	sigset_t set, old;
	sigemptyset(&set);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&set, fwd[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	int status = 1;
	vs_err err = {0};
	rc = vs_hyb_run(&o, sfd, &status, &err);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		report(&err);
		return 1;
	}
	return status;
}

bool vs_cmd_is_vm(const vs_global *g, const char *id)
{
	vs_state st;
	if (vs_state_load(g->root, id, &st, NULL) < 0)
		return false;
	bool vm = vs_hyb_is_vm(&st);
	vs_state_clear(&st);
	return vm;
}
