/* start, kill, delete, pause/resume on an existing container. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "ctr/cgroup.h"
#include "ctr/container.h"
#include "ctr/rootfs.h"

int vs_container_config(const vs_state *st, vs_config **cfg, vs_err *err)
{
	char path[PATH_MAX], *buf;
	size_t len;
	snprintf(path, sizeof(path), "%s/" VS_CONFIG_COPY, st->dir);
	if (vs_read_regular(path, VS_CONFIG_MAX, &buf, &len, err) < 0)
		return -1;
	int rc = vs_config_parse(buf, len, st->bundle, cfg, err);
	free(buf);
	return rc;
}

/* Release the init blocked on exec.fifo, then the poststart hooks (from
 * cfg, else from the config copy). */
static int start_created(const vs_state *st, const vs_config *cfg, vs_err *err)
{
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/" VS_EXEC_FIFO, st->dir);
	/* Non-blocking: with the container process gone there is no reader (ENXIO). */
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno == ENXIO ? ESRCH : errno, "start container %s: open exec.fifo", st->id);
	ssize_t w = write(fd, "0", 1);
	int e = errno;
	close(fd);
	unlink(fifo);
	if (w != 1)
		return vs_fail(err, e, "start container %s: write exec.fifo", st->id);
	vs_config *loaded = NULL;
	if (!cfg && vs_container_config(st, &loaded, NULL) == 0)
		cfg = loaded;
	if (cfg)
		vs_container_hooks(cfg, st, VS_HOOK_POSTSTART, VS_STATUS_RUNNING, NULL);
	vs_config_free(loaded);
	return 0;
}

int vs_container_start(const char *root, const char *id, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	int rc = -1;
	vs_status s = vs_state_status(&st);
	if (s != VS_STATUS_CREATED)
		vs_fail(err, EINVAL, "cannot start container %s: it is %s, not created", id, vs_status_name(s));
	else
		rc = start_created(&st, NULL, err);
	vs_state_clear(&st);
	return rc;
}

int vs_container_start_kept(vs_container *c, vs_err *err)
{
	return start_created(&c->st, c->cfg, err);
}

static int open_cgroup(const vs_state *st, vs_cgroup **cg, vs_err *err)
{
	*cg = NULL;
	if (!st->cgroup_path)
		return 0;
	return vs_cgroup_open(st->cgroup_path, st->id, false, cg, err);
}

int vs_container_kill(const char *root, const char *id, int sig, bool all, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	int rc = 0;
	vs_status s = vs_state_status(&st);
	vs_cgroup *cg = NULL;
	if (all && open_cgroup(&st, &cg, err) == 0 && cg) {
		rc = vs_cgroup_kill(cg, sig, err);
	} else if (s == VS_STATUS_STOPPED) {
		rc = vs_fail(err, ESRCH, "container %s is not running", id);
	} else if (kill(st.pid, sig) < 0) {
		rc = vs_fail(err, errno, "send signal %d to container %s (pid %d)", sig, id, st.pid);
	}
	vs_cgroup_free(cg);
	vs_state_clear(&st);
	return rc;
}

/* Kill everything left in the container and wait for the init to go. */
static void kill_all(const vs_state *st, vs_cgroup *cg)
{
	if (cg)
		vs_cgroup_kill(cg, SIGKILL, NULL); /* thaws a paused container so SIGKILL completes */
	if (vs_pid_alive(st->pid, st->pid_start))
		kill(st->pid, SIGKILL);
	for (int i = 0; i < 1000 && vs_pid_alive(st->pid, st->pid_start); i++)
		usleep(2000);
	/* The last processes of a cgroup can outlive the init by a moment. */
	for (int i = 0; cg && i < 500; i++) {
		pid_t *pids = NULL;
		size_t n = 0;
		if (vs_cgroup_pids(cg, &pids, &n, NULL) < 0 || n == 0) {
			free(pids);
			break;
		}
		free(pids);
		vs_cgroup_kill(cg, SIGKILL, NULL);
		usleep(2000);
	}
}

/* Everything after the status check; cfg NULL if there is none to read. */
static int delete_stopped(const vs_state *st, const vs_config *cfg, vs_cgroup *cg, vs_err *err)
{
	kill_all(st, cg);
	if (cfg && !st->creating)
		vs_container_hooks(cfg, st, VS_HOOK_POSTSTOP, VS_STATUS_STOPPED, NULL);
	int rc = 0;
	if (cfg && vs_rootfs_release(cfg, err) < 0)
		rc = vs_wrap(err, "delete container %s", st->id);
	if (rc == 0 && cg && vs_cgroup_destroy(cg, err) < 0)
		rc = vs_wrap(err, "delete container %s", st->id);
	if (rc == 0 && vs_state_remove(st, err) < 0)
		rc = -1;
	return rc;
}

int vs_container_delete(const char *root, const char *id, bool force, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	vs_status s = vs_state_status(&st);
	if ((s == VS_STATUS_RUNNING || s == VS_STATUS_PAUSED) && !force) {
		vs_fail(err, EBUSY, "cannot delete container %s that is not stopped: %s", id, vs_status_name(s));
		vs_state_clear(&st);
		return -1;
	}
	vs_cgroup *cg = NULL;
	open_cgroup(&st, &cg, NULL);
	vs_config *cfg = NULL;
	if (vs_container_config(&st, &cfg, NULL) < 0)
		cfg = NULL;
	int rc = delete_stopped(&st, cfg, cg, err);
	vs_config_free(cfg);
	vs_cgroup_free(cg);
	vs_state_clear(&st);
	return rc;
}

int vs_container_delete_kept(vs_container *c, vs_err *err)
{
	int rc = delete_stopped(&c->st, c->cfg, c->cg, err);
	vs_container_release(c);
	return rc;
}

void vs_container_release(vs_container *c)
{
	vs_cgroup_free(c->cg);
	vs_config_free(c->cfg);
	vs_state_clear(&c->st);
	*c = (vs_container){0};
}

int vs_container_freeze(const char *root, const char *id, bool frozen, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	int rc = -1;
	vs_status s = vs_state_status(&st);
	vs_cgroup *cg = NULL;
	if (frozen && s != VS_STATUS_RUNNING)
		vs_fail(err, EINVAL, "cannot pause container %s: it is %s, not running", id, vs_status_name(s));
	else if (!frozen && s != VS_STATUS_PAUSED)
		vs_fail(err, EINVAL, "cannot resume container %s: it is %s, not paused", id, vs_status_name(s));
	else if (open_cgroup(&st, &cg, err) == 0 && cg)
		rc = vs_cgroup_freeze(cg, frozen, err);
	vs_cgroup_free(cg);
	vs_state_clear(&st);
	return rc;
}
