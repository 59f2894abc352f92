/* Pause/resume through the freezer (v1 freezer.state, v2 cgroup.freeze),
 * and signalling every process of a container: while it is frozen, so a
 * process that forks in a loop cannot stay ahead of the signals, except
 * for SIGKILL, which repeats passes instead and so never leaves it frozen. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ctr/cgroup_internal.h"

#define WAIT_MS 5000 /* how long tasks may take to reach the refrigerator */

static void nap(int i)
{
	nanosleep(&(struct timespec){0, (i < 20 ? 1 : 10) * 1000000L}, NULL);
}

/* v1: freezer.state reads FREEZING until every task is frozen; rewriting
 * FROZEN retries tasks that were busy in the kernel. */
static int v1_set(const char *dir, bool frozen, vs_err *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	for (int i = 0, ms = 0; ms < WAIT_MS; i++, ms += i < 20 ? 1 : 10) {
		if (vs_cg_set(dir, "freezer.state", want, err, "(%s)", frozen ? "pause" : "resume") < 0)
			return vs_fail(err, err->code, "%s cgroup %s: write %s to freezer.state", frozen ? "freeze" : "thaw",
				       dir, want);
		char *s;
		if (vs_cg_read(dir, "freezer.state", &s, err) < 0)
			return -1;
		bool done = strncmp(s, want, strlen(want)) == 0;
		free(s);
		if (done)
			return 0;
		nap(i);
	}
	if (frozen) /* do not leave it half frozen */
		vs_cg_set(dir, "freezer.state", "THAWED", NULL, "(undo)");
	return vs_fail(err, EBUSY, "%s cgroup %s: not %s after %d ms", frozen ? "freeze" : "thaw", dir, want, WAIT_MS);
}

static int v2_set(const char *dir, bool frozen, vs_err *err)
{
	if (vs_cg_set(dir, "cgroup.freeze", frozen ? "1" : "0", err, "(%s)", frozen ? "pause" : "resume") < 0)
		return vs_fail(err, err->code, "%s cgroup %s: write cgroup.freeze", frozen ? "freeze" : "thaw", dir);
	for (int i = 0, ms = 0; ms < WAIT_MS; i++, ms += i < 20 ? 1 : 10) {
		uint64_t v;
		if (vs_cg_read_key(dir, "cgroup.events", "frozen", &v, err) < 0)
			return -1;
		if ((v != 0) == frozen)
			return 0;
		nap(i);
	}
	if (frozen)
		vs_cg_set(dir, "cgroup.freeze", "0", NULL, "(undo)");
	return vs_fail(err, EBUSY, "%s cgroup %s: cgroup.events not \"frozen %d\" after %d ms",
		       frozen ? "freeze" : "thaw", dir, frozen, WAIT_MS);
}

static vs_cg_hier *freezer(vs_cgroup *cg, vs_err *err)
{
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_FREEZER);
	if (!h)
		h = vs_cg_unified(cg); /* v2 freezing is core, not a controller */
	if (!h)
		vs_fail(err, VS_ENOTSUP_HOST, "freeze cgroup %s: no freezer hierarchy is mounted", cg->path);
	return h;
}

int vs_cgroup_freeze(vs_cgroup *cg, bool frozen, vs_err *err)
{
	vs_cg_hier *h = freezer(cg, err);
	if (!h)
		return -1;
	return h->v2 ? v2_set(h->dir, frozen, err) : v1_set(h->dir, frozen, err);
}

int vs_cgroup_is_frozen(vs_cgroup *cg, bool *frozen, vs_err *err)
{
	vs_cg_hier *h = freezer(cg, err);
	if (!h)
		return -1;
	if (h->v2) {
		uint64_t v;
		if (vs_cg_read_key(h->dir, "cgroup.events", "frozen", &v, err) < 0)
			return -1;
		*frozen = v != 0;
		return 0;
	}
	char *s;
	if (vs_cg_read(h->dir, "freezer.state", &s, err) < 0)
		return -1;
	*frozen = strncmp(s, "FROZEN", 6) == 0;
	free(s);
	return 0;
}

/* A freeze asked for and not undone: v1 FROZEN or FREEZING (half done by
 * a runtime that was killed), v2 cgroup.freeze=1. */
static bool freeze_requested(vs_cg_hier *h)
{
	if (h->v2) {
		uint64_t v;
		return vs_cg_read_u64(h->dir, "cgroup.freeze", &v, NULL) == 0 && v != 0;
	}
	char *s;
	if (vs_cg_read(h->dir, "freezer.state", &s, NULL) < 0)
		return false;
	bool requested = strncmp(s, "THAWED", 6) != 0;
	free(s);
	return requested;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

#define KILL_PASSES 200

/* SIGKILL needs no freeze: a task with SIGKILL pending can no longer fork,
 * so passes over cgroup.procs until one finds no pid the last did not
 * already signal reach every child forked in between. Never freezing means
 * a runtime killed half-way through `delete -f` or `kill --all KILL` cannot
 * leave the container frozen. One that is frozen (paused, or left so by a
 * killed runtime) is thawed after the first pass: frozen v1 tasks cannot
 * die, and thawed they die before running another instruction. */
static int kill_unfrozen(vs_cgroup *cg, vs_err *err)
{
	vs_cg_hier *fh = vs_cg_find(cg, VS_CGC_FREEZER);
	if (!fh)
		fh = vs_cg_unified(cg);
	bool thaw = fh && freeze_requested(fh);
	pid_t *seen = NULL;
	size_t n_seen = 0;
	int rc = 0;
	vs_err e;
	for (int pass = 0; pass < KILL_PASSES && rc == 0; pass++) {
		pid_t *pids = NULL;
		size_t n = 0, fresh = 0;
		if (vs_cgroup_pids(cg, &pids, &n, err) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (!n_seen || !bsearch(&pids[i], seen, n_seen, sizeof(pid_t), cmp_pid))
				fresh++;
			if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
				rc = vs_fail(err, errno, "send signal %d to pid %d of cgroup %s", SIGKILL, (int)pids[i],
					     cg->path);
		}
		free(seen);
		if (n)
			qsort(pids, n, sizeof(pid_t), cmp_pid);
		seen = pids;
		n_seen = n;
		if (thaw) {
			thaw = false;
			if (vs_cgroup_freeze(cg, false, rc == 0 ? err : &e) < 0 && rc == 0)
				rc = -1;
		}
		if (fresh == 0)
			break;
	}
	free(seen);
	return rc;
}

int vs_cgroup_kill(vs_cgroup *cg, int sig, vs_err *err)
{
	if (sig == SIGKILL)
		return kill_unfrozen(cg, err);
	bool was_frozen = false, froze = false;
	vs_err e;
	pid_t *pids = NULL;
	size_t n = 0;
	/* An empty cgroup has nobody to fork: no freeze/thaw round trip (the
	 * common case when `run` deletes a container whose process has exited). */
	if (vs_cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	if (n == 0) {
		free(pids);
		return 0;
	}
	free(pids);
	/* Signal 0 only asks whether the processes exist: nothing to hold still. */
	if (sig != 0 && vs_cgroup_is_frozen(cg, &was_frozen, &e) == 0 && !was_frozen) {
		froze = vs_cgroup_freeze(cg, true, &e) == 0;
		if (!froze) /* still signal; a fork race is better than no signal */
			vs_warn("kill: %s", e.msg);
	}
	pids = NULL;
	n = 0;
	int rc = vs_cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			rc = vs_fail(err, errno, "send signal %d to pid %d of cgroup %s", sig, (int)pids[i], cg->path);
	}
	free(pids);
	/* Resume what we froze; a paused container stays paused. */
	if (froze) {
		if (vs_cgroup_freeze(cg, false, rc == 0 ? err : &e) < 0 && rc == 0)
			rc = -1;
	}
	return rc;
}
