#include "ctr/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fds.h"
#include "base/fs.h"
#include "base/log.h"
#include "ctr/caps.h"
#include "ctr/seccomp.h"

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int vs_proc_resolve(const vs_process *p, char *path, size_t len, vs_err *err)
{
	const char *prog = p->args[0];
	if (strchr(prog, '/')) {
		snprintf(path, len, "%s", prog);
		if (!is_executable(path))
			return vs_fail(err, errno ? errno : EACCES, "exec: \"%s\": not an executable file", prog);
		return 0;
	}
	const char *search = env_get(p->env, "PATH");
	if (!search)
		search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s", search);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", *d ? d : ".", prog);
		if (is_executable(path))
			return 0;
	}
	return vs_fail(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", prog);
}

static int set_rlimits(const vs_process *p, vs_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return vs_fail(err, errno, "process.rlimits[%zu]: setrlimit(%d, %llu, %llu)", i,
				       p->rlimits[i].resource, (unsigned long long)rl.rlim_cur,
				       (unsigned long long)rl.rlim_max);
	}
	return 0;
}

/* An LSM label applies at the next execve. A profile the host cannot enforce
 * is skipped with a warning, as runc does on hosts without AppArmor/SELinux. */
static int set_lsm_labels(const vs_process *p, vs_err *err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		if (access("/sys/kernel/security/apparmor", F_OK) == 0) {
			char buf[512];
			snprintf(buf, sizeof(buf), "exec %s", p->apparmor_profile);
			if (vs_write_str("/proc/self/attr/apparmor/exec", buf, NULL) < 0 &&
			    vs_write_str("/proc/self/attr/exec", buf, err) < 0)
				return vs_wrap(err, "process.apparmorProfile %s", p->apparmor_profile);
		} else {
			vs_debug("AppArmor is not enabled on this host: profile %s not applied", p->apparmor_profile);
		}
	}
	if (p->selinux_label && *p->selinux_label) {
		if (access("/sys/fs/selinux/enforce", F_OK) == 0) {
			if (vs_write_str("/proc/self/attr/exec", p->selinux_label, err) < 0)
				return vs_wrap(err, "process.selinuxLabel %s", p->selinux_label);
		} else {
			vs_debug("SELinux is not enabled on this host: label %s not applied", p->selinux_label);
		}
	}
	return 0;
}

/* runc refuses a cwd outside the container's root (CVE-2024-21626: a cwd of
 * /proc/self/fd/N naming a host directory fd). Outside the root, getcwd fails
 * with ENOENT or does not start with "/" ("(unreachable)/..."). */
static int check_cwd_inside(const char *cwd, vs_err *err)
{
	char buf[4096];
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		return vs_fail(err, errno ? errno : ENOENT, "process.cwd %s: outside the container's root", cwd);
	return 0;
}

int vs_proc_setup(const vs_proc_opts *o, vs_err *err)
{
	const vs_process *p = o->proc;
	o->filter[0] = NULL;
	if (set_rlimits(p, err) < 0)
		return -1;
	if (p->has_oom_score_adj) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (vs_write_str("/proc/self/oom_score_adj", buf, err) < 0)
			return vs_wrap(err, "process.oomScoreAdj");
	}
	if (set_lsm_labels(p, err) < 0)
		return -1;
	/* Nothing from the host may be open when the cwd is resolved. */
	if (vs_fds_cloexec_from(3 + o->preserve_fds, err) < 0)
		return vs_wrap(err, "mark inherited fds close-on-exec");
	if (p->cwd && chdir(p->cwd) < 0 && errno != EACCES)
		return vs_fail(err, errno, "process.cwd: chdir %s", p->cwd);
	/* The filter goes in last (vs_proc_exec), so a profile that allows only
	 * the program's own syscalls cannot break our setup. Without
	 * no_new_privs, loading it needs CAP_SYS_ADMIN: hold that until exec. */
	uint64_t held = o->seccomp && !p->no_new_privileges ? 1ull << CAP_SYS_ADMIN : 0;
	if (vs_caps_prepare(p, err) < 0 || vs_caps_switch_user(p, err) < 0 || vs_caps_apply(p, held, err) < 0)
		return -1;
	/* The user may lack search permission on the path root had: retry as the user. */
	if (p->cwd && (chdir(p->cwd) < 0 ? vs_fail(err, errno, "process.cwd: chdir %s", p->cwd)
					 : check_cwd_inside(p->cwd, err)) < 0)
		return -1;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_fail(err, errno, "set no_new_privs");
	umask(p->has_umask ? p->umask : 022);
	if (o->seccomp && vs_seccomp_compile(o->seccomp, &o->filter[0], err) < 0)
		return vs_wrap(err, "linux.seccomp");
	return 0;
}

int vs_proc_exec(const vs_proc_opts *o, const char *path, vs_err *err)
{
	const vs_process *p = o->proc;
	static char *empty_env[] = {NULL};
	/* From here on only the program's own syscalls may be allowed. */
	if (o->filter[0] && vs_seccomp_install(o->filter[0], err) < 0)
		return vs_wrap(err, "linux.seccomp");
	execve(path, p->args, p->env ? p->env : empty_env);
	return vs_fail(err, errno, "exec %s", path);
}
