/* start, state, kill, delete, pause/resume of a VM-isolated container:
 * the same state dir as a plain container, the keeper in place of the
 * init, the VMM's API in place of the freezer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"
#include "hybrid/keeper.h"

bool vs_hyb_is_vm(const vs_state *st)
{
	for (size_t i = 0; i < st->n_annotations; i++)
		if (!strcmp(st->annotations[i].key, VS_HYB_ANNOTATION) && !strcmp(st->annotations[i].value, "vm"))
			return true;
	return false;
}

int vs_hyb_status(const vs_state *st)
{
	vs_status s = vs_state_status(st);
	if (s != VS_STATUS_RUNNING)
		return s;
	vs_hyb_paths p;
	char body[512];
	int code;
	/* GET / of Firecracker's API: {"state": "Running" | "Paused", ...}. */
	if (vs_hyb_paths_of(st->dir, &p, NULL) == 0 && vs_hyb_api(p.api, "GET", "/", NULL, &code, body, sizeof(body), NULL) == 0 &&
	    code == 200 && strstr(body, "\"Paused\""))
		return VS_STATUS_PAUSED;
	return s;
}

/* The state of a VM container, with its status. */
static int load(const char *root, const char *id, vs_state *st, vs_status *s, vs_err *err)
{
	if (vs_state_load(root, id, st, err) < 0)
		return -1;
	if (!vs_hyb_is_vm(st)) {
		vs_state_clear(st);
		return vs_fail(err, EINVAL, "container %s is not VM-isolated", id);
	}
	*s = (vs_status)vs_hyb_status(st);
	return 0;
}

int vs_hyb_start(const char *root, const char *id, vs_err *err)
{
	vs_state st;
	vs_status s;
	if (load(root, id, &st, &s, err) < 0)
		return -1;
	int rc = -1;
	vs_hyb_paths p;
	if (s != VS_STATUS_CREATED) {
		vs_fail(err, EINVAL, "start container %s: it is %s, not created", id, vs_status_name(s));
	} else if (vs_hyb_paths_of(st.dir, &p, err) == 0) {
		/* As for a plain container: the keeper holds exec.fifo open for reading. */
		int fd = open(p.fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			vs_fail(err, errno == ENXIO ? ESRCH : errno, "start container %s: open exec.fifo", id);
		} else {
			if (write(fd, "0", 1) == 1)
				rc = 0;
			else
				vs_fail(err, errno, "start container %s: write exec.fifo", id);
			close(fd);
			unlink(p.fifo);
		}
	}
	vs_state_clear(&st);
	return rc;
}

/* SIGKILL of the keeper (the VMM goes with it) and of the VMM itself. */
static void kill_hard(const vs_state *st)
{
	vs_hyb_paths p;
	if (vs_pid_alive(st->pid, st->pid_start))
		kill(st->pid, SIGKILL);
	vs_hyb_wait_gone(st->pid, st->pid_start, 10000);
	if (vs_hyb_paths_of(st->dir, &p, NULL) == 0)
		vs_hyb_reap_vmm(p.vmm_pid);
}

int vs_hyb_kill(const char *root, const char *id, int sig, vs_err *err)
{
	vs_state st;
	vs_status s;
	if (load(root, id, &st, &s, err) < 0)
		return -1;
	int rc = 0;
	if (s == VS_STATUS_STOPPED) {
		rc = vs_fail(err, ESRCH, "kill container %s: it is not running", id);
	} else if (sig == SIGKILL && s == VS_STATUS_PAUSED) {
		kill_hard(&st); /* a paused guest cannot act on it */
	} else if (sig != 0) {
		/* The keeper passes it through the agent: any signal, SIGKILL too. */
		if (sigqueue(st.pid, VS_HYB_SIG_FWD, (union sigval){.sival_int = sig}) < 0)
			rc = vs_fail(err, errno, "kill container %s: signal its keeper %d", id, st.pid);
		/* The last resort: a guest that does not act on SIGKILL in time. */
		else if (sig == SIGKILL && vs_hyb_wait_gone(st.pid, st.pid_start, 10000) < 0)
			kill_hard(&st);
	}
	vs_state_clear(&st);
	return rc;
}

int vs_hyb_delete(const char *root, const char *id, bool force, vs_err *err)
{
	vs_state st;
	vs_status s;
	if (load(root, id, &st, &s, err) < 0)
		return -1;
	int rc = -1;
	if (!force && (s == VS_STATUS_RUNNING || s == VS_STATUS_PAUSED)) {
		vs_fail(err, EBUSY, "delete container %s: it is %s (stop it first, or --force)", id, vs_status_name(s));
	} else {
		kill_hard(&st);
		rc = vs_rmtree(st.dir, err);
	}
	vs_state_clear(&st);
	return rc;
}

int vs_hyb_freeze(const char *root, const char *id, bool frozen, vs_err *err)
{
	vs_state st;
	vs_status s;
	if (load(root, id, &st, &s, err) < 0)
		return -1;
	int rc = -1, code = 0;
	vs_hyb_paths p;
	char body[512];
	const char *what = frozen ? "pause" : "resume";
	if (s != (frozen ? VS_STATUS_RUNNING : VS_STATUS_PAUSED))
		vs_fail(err, EINVAL, "%s container %s: it is %s", what, id, vs_status_name(s));
	else if (vs_hyb_paths_of(st.dir, &p, err) == 0 &&
		 vs_hyb_api(p.api, "PATCH", "/vm", frozen ? "{\"state\": \"Paused\"}" : "{\"state\": \"Resumed\"}",
			    &code, body, sizeof(body), err) == 0) {
		if (code / 100 == 2)
			rc = 0;
		else
			vs_fail(err, EIO, "%s container %s: the VMM's API answered %d %.200s", what, id, code, body);
	}
	vs_state_clear(&st);
	return rc;
}
