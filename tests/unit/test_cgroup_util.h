/* Helpers shared by the cgroup unit tests: real cgroups under a parent
 * unique to this test process ("/vessel-test-<pid>"), removed afterwards,
 * and children parked in them. Needs root and a mounted cgroup fs. */
#ifndef TEST_CGROUP_UTIL_H
#define TEST_CGROUP_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/cgroup.h"
#include "ctr/cgroup_internal.h"

#define TCG_UNUSED __attribute__((unused))

static char tcg_parent[64];
static pid_t tcg_kids[64];
static int tcg_nkids;

TCG_UNUSED static void tcg_msleep(int ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* Open and create "<parent>/<leaf>"; fails the test on error. */
TCG_UNUSED static vs_cgroup *tcg_make(const char *leaf, const vs_resources *res)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tcg_parent, leaf);
	vs_cgroup *cg = NULL;
	vs_err err = {0};
	if (vs_cgroup_open(path, NULL, false, &cg, &err) < 0 || vs_cgroup_create(cg, &err) < 0 ||
	    (res && vs_cgroup_apply(cg, res, &err) < 0)) {
		print_error("make cgroup %s: %s (%d)\n", path, err.msg, err.code);
		vs_cgroup_free(cg);
		return NULL;
	}
	return cg;
}

/* Contents of <dir of ctrl>/<file>, trailing newline cut; NULL if absent. */
TCG_UNUSED static char *tcg_read(vs_cgroup *cg, const char *ctrl, const char *file)
{
	const char *dir = vs_cgroup_dir(cg, ctrl);
	char path[512], *s;
	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (vs_read_file(path, &s, NULL, NULL) < 0)
		return NULL;
	s[strcspn(s, "\n")] = 0;
	return s;
}

TCG_UNUSED static bool tcg_is_v2(vs_cgroup *cg, const char *ctrl)
{
	const char *dir = vs_cgroup_dir(cg, ctrl), *u = vs_cgroup_dir(cg, NULL);
	return dir && u && strcmp(dir, u) == 0;
}

/* Fork a child that runs fn() once the parent has entered it into cg
 * (so everything fn does is accounted there). Returns its pid. */
TCG_UNUSED static pid_t tcg_spawn(vs_cgroup *cg, void (*fn)(void *), void *arg)
{
	int go[2];
	if (pipe(go) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(99);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	if (pid < 0)
		return -1;
	tcg_kids[tcg_nkids++ % 64] = pid;
	vs_err err = {0};
	if (vs_cgroup_enter(cg, pid, &err) < 0) {
		print_error("enter: %s (%d)\n", err.msg, err.code);
		kill(pid, SIGKILL);
		close(go[1]);
		return -1;
	}
	if (write(go[1], "g", 1) != 1)
		pid = -1;
	close(go[1]);
	return pid;
}

TCG_UNUSED static void tcg_sleep_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}

/* Thaw every cgroup under dir (a frozen leftover would make SIGKILL
 * wait forever on v1). */
TCG_UNUSED static void tcg_thaw_tree(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	vs_write_str(path, "THAWED", NULL);
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	vs_write_str(path, "0", NULL);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			tcg_thaw_tree(path);
		}
	if (d)
		closedir(d);
}

/* Reap every child (ours and orphans we adopted as subreaper). */
TCG_UNUSED static void tcg_reap_all(void)
{
	for (int i = 0; i < tcg_nkids && i < 64; i++)
		kill(tcg_kids[i], SIGKILL);
	tcg_nkids = 0;
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

TCG_UNUSED static int tcg_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("cgroup tests need root\n");
		return -1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(tcg_parent, sizeof(tcg_parent), "/vessel-test-%d", (int)getpid());
	return 0;
}

/* Remove the whole test parent in every hierarchy (children first). */
TCG_UNUSED static int tcg_teardown(void **state)
{
	(void)state;
	vs_cgroup *cg;
	vs_err err;
	if (vs_cgroup_open(tcg_parent, NULL, false, &cg, &err) < 0) {
		tcg_reap_all();
		return 0;
	}
	for (size_t i = 0; i < cg->n; i++)
		tcg_thaw_tree(cg->h[i].dir);
	tcg_reap_all();
	{
		if (vs_cgroup_destroy(cg, &err) < 0)
			print_error("teardown: %s\n", err.msg);
		vs_cgroup_free(cg);
	}
	return 0;
}

#endif
