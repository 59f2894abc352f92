#include "platform/instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/bundle.h"
#include "platform/db.h"
#include "platform/events.h"
#include "platform/images.h"
#include "platform/limits.h"
#include "platform/phases.h"
#include "platform/runtime.h"
#include "platform/supervise.h"
#include "platform/network.h"
#include "ctr/state.h"

#define STOP_TIMEOUT 10.0 /* seconds between SIGTERM and SIGKILL by default */

static int inst_dir(vsd *d, const char *name, const char *sub, char *buf, size_t len, vs_err *err)
{
	return vsd_path(d, buf, len, err, "instances/%s%s%s", name, sub ? "/" : "", sub ? sub : "");
}

static void source_url(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/1.0/instances/%s", name);
}

static void lifecycle(vsd *d, const char *action, const char *name)
{
	char src[128];
	source_url(name, src, sizeof(src));
	pthread_mutex_lock(&d->lock);
	vsd_event_lifecycle(d, action, src);
	pthread_mutex_unlock(&d->lock);
}

static bool mounted(const char *dir, const char *rootfs)
{
	struct stat a, b;
	return stat(dir, &a) == 0 && stat(rootfs, &b) == 0 && a.st_dev != b.st_dev;
}

int vsd_inst_create_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_inst_arg *a = arg;
	const char *subs[] = {NULL, "rootfs", "upper", "work"};
	char dir[PATH_MAX];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(subs) / sizeof(subs[0]); i++) {
		rc = inst_dir(d, a->name, subs[i], dir, sizeof(dir), err);
		if (rc == 0 && mkdir(dir, i ? 0755 : 0700) < 0)
			rc = vs_fail(err, errno, "mkdir %s", dir);
	}
	pthread_mutex_lock(&d->lock);
	const char *args[] = {a->name};
	if (rc == 0)
		rc = vsd_db_do(d->db, "mark instance created", err,
			       "UPDATE instances SET phase = 'ready' WHERE name = ?1", 1, args);
	if (rc < 0) {
		/* Undo: nothing of a failed create stays. */
		if (inst_dir(d, a->name, NULL, dir, sizeof(dir), NULL) == 0)
			vs_rmtree(dir, NULL);
		vsd_db_do(d->db, "drop instance", NULL, "DELETE FROM instances WHERE name = ?1", 1, args);
	} else {
		char src[128];
		source_url(a->name, src, sizeof(src));
		vsd_event_lifecycle(d, "instance-created", src);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Everything start needs from the database (lock taken here). */
typedef struct start_info {
	char *lower, *cgroup;
	struct json_object *command, *config, *image_cfg;
} start_info;

static void start_info_free(start_info *s)
{
	free(s->lower);
	free(s->cgroup);
	json_object_put(s->command);
	json_object_put(s->config);
	json_object_put(s->image_cfg);
}

static int load_start_info(vsd *d, const char *name, start_info *s, vs_err *err)
{
	memset(s, 0, sizeof(*s));
	const char *a[] = {name};
	pthread_mutex_lock(&d->lock);
	int rc = -1;
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT fingerprint, command, config, cgroup_id FROM instances WHERE name = ?1", 1, a, err);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		char fp[65];
		snprintf(fp, sizeof(fp), "%s", (const char *)sqlite3_column_text(st, 0));
		s->command = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
		s->config = json_tokener_parse((const char *)sqlite3_column_text(st, 2));
		s->cgroup = strdup((const char *)sqlite3_column_text(st, 3));
		rc = vsd_image_lower(d, fp, &s->lower, &s->image_cfg, err);
	} else if (st) {
		vs_fail(err, ENOENT, "instance %s not found", name);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		start_info_free(s);
	return rc;
}

int vsd_inst_mount(vsd *d, const char *name, const char *lower, vs_err *err)
{
	char dir[PATH_MAX], rootfs[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
	if (inst_dir(d, name, NULL, dir, sizeof(dir), err) < 0 || inst_dir(d, name, "rootfs", rootfs, sizeof(rootfs), err) < 0 ||
	    inst_dir(d, name, "upper", upper, sizeof(upper), err) < 0 || inst_dir(d, name, "work", work, sizeof(work), err) < 0)
		return -1;
	if (mounted(dir, rootfs))
		return 0;
	size_t n = strlen(lower) + strlen(upper) + strlen(work) + 64;
	char *opts = malloc(n);
	if (!opts)
		return vs_fail(err, ENOMEM, "mount %s", rootfs);
	snprintf(opts, n, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	int m = mount("overlay", rootfs, "overlay", 0, opts);
	free(opts);
	return m < 0 ? vs_fail(err, errno, "mount overlay on %s", rootfs) : 0;
}

/* The created init's network namespace gets its network (network.c). */
static int attach_net(vsd *d, const char *name, vs_err *err)
{
	vs_state st;
	if (vs_state_load(d->rt_root, name, &st, err) < 0)
		return -1;
	int rc = vsd_net_attach(d, name, st.pid, err);
	vs_state_clear(&st);
	return rc;
}

static int do_start(vsd *d, const char *name, vs_err *err)
{
	start_info s;
	if (load_start_info(d, name, &s, err) < 0)
		return -1;
	char dir[PATH_MAX], console[PATH_MAX], cg[128];
	int rc = -1;
	if (inst_dir(d, name, NULL, dir, sizeof(dir), err) < 0 ||
	    inst_dir(d, name, "console.log", console, sizeof(console), err) < 0)
		goto out;
	if (vsd_inst_mount(d, name, s.lower, err) < 0)
		goto out;
	vsd_limits lim;
	if (vsd_limits_parse(s.config, &lim, err) < 0)
		goto out;
	struct json_object *cmd = s.command && json_object_array_length(s.command) ? s.command
				: json_object_object_get(s.image_cfg, "command");
	struct json_object *fallback = NULL;
	if (!cmd) {
		/* A rootfs image has no command of its own: a system container's init. */
		fallback = json_object_new_array();
		json_object_array_add(fallback, json_object_new_string("/sbin/init"));
		cmd = fallback;
	}
	snprintf(cg, sizeof(cg), "/vesseld/%s", s.cgroup);
	vsd_bundle b = {.dir = dir, .hostname = name, .command = cmd,
			.env = json_object_object_get(s.image_cfg, "env"),
			.cwd = json_object_get_string(json_object_object_get(s.image_cfg, "cwd")),
			.cgroup = cg, .limits = lim};
	rc = vsd_bundle_write(&b, err);
	json_object_put(fallback);
	if (rc < 0)
		goto out;
	const char *del[] = {"delete", "--force", name, NULL};
	vsd_rt(d, NULL, NULL, NULL, del); /* a stopped leftover of the last run */
	const char *create[] = {"create", "--bundle", dir, name, NULL};
	const char *start[] = {"start", name, NULL};
	rc = vsd_rt(d, console, NULL, err, create);
	if (rc == 0)
		rc = attach_net(d, name, err); /* between create and start, as CNI */
	if (rc == 0)
		rc = vsd_rt(d, NULL, NULL, err, start);
	if (rc < 0)
		vsd_rt(d, NULL, NULL, NULL, del);
out:
	start_info_free(&s);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* Wait until the runtime says stopped (or absent), up to secs. */
static bool wait_stopped(vsd *d, const char *name, double secs)
{
	for (double waited = 0;; waited += 0.05) {
		int pid;
		const char *st = vsd_rt_status(d, name, &pid);
		if (!strcmp(st, "stopped") || !strcmp(st, "absent"))
			return true;
		if (waited >= secs)
			return false;
		sleep_ms(50);
	}
}

static int do_stop(vsd *d, const char *name, bool force, double timeout, vs_err *err)
{
	int pid;
	const char *st = vsd_rt_status(d, name, &pid);
	const char *del[] = {"delete", "--force", name, NULL};
	if (!strcmp(st, "absent"))
		return 0;
	if (!strcmp(st, "stopped") || !strcmp(st, "created"))
		return vsd_rt(d, NULL, NULL, err, del);
	if (!strcmp(st, "paused")) {
		const char *resume[] = {"resume", name, NULL};
		if (vsd_rt(d, NULL, NULL, err, resume) < 0)
			return -1;
	}
	if (!force) {
		const char *term[] = {"kill", name, "TERM", NULL};
		if (vsd_rt(d, NULL, NULL, err, term) < 0)
			return -1;
	}
	if (force || !wait_stopped(d, name, timeout < 0 ? STOP_TIMEOUT : timeout)) {
		const char *kill9[] = {"kill", "--all", name, "KILL", NULL};
		vsd_rt(d, NULL, NULL, NULL, kill9);
		if (!wait_stopped(d, name, 10))
			return vs_fail(err, ETIMEDOUT, "stop instance %s: still running after SIGKILL", name);
	}
	return vsd_rt(d, NULL, NULL, err, del);
}

int vsd_inst_state_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_inst_arg *a = arg;
	const char *event = NULL;
	double t0 = vsd_phase_clock();
	int rc;
	vsd_sup_before(d, a->name, a->action, a->policy);
	if (!strcmp(a->action, "start")) {
		rc = do_start(d, a->name, err);
		event = "instance-started";
	} else if (!strcmp(a->action, "stop")) {
		rc = do_stop(d, a->name, a->force, a->timeout, err);
		event = "instance-stopped";
	} else if (!strcmp(a->action, "restart")) {
		rc = do_stop(d, a->name, a->force, a->timeout, err);
		if (rc == 0)
			rc = do_start(d, a->name, err);
		event = "instance-restarted";
	} else {
		bool freeze = !strcmp(a->action, "freeze");
		const char *args[] = {freeze ? "pause" : "resume", a->name, NULL};
		rc = vsd_rt(d, NULL, NULL, err, args);
		event = freeze ? "instance-paused" : "instance-resumed";
	}
	if (rc == 0) {
		vsd_phase_observe(a->action, vsd_phase_clock() - t0); /* start, stop, restart */
		lifecycle(d, event, a->name);
	}
	vsd_sup_after(d, a->name, a->action, a->policy, rc); /* after the event: the supervisor's come later */
	return rc < 0 ? vs_wrap(err, "%s instance %s", a->action, a->name) : 0;
}

/* Remove the instance's runtime container, mount and directory. */
static int teardown(vsd *d, const char *name, vs_err *err)
{
	const char *del[] = {"delete", "--force", name, NULL};
	char dir[PATH_MAX], rootfs[PATH_MAX];
	if (inst_dir(d, name, NULL, dir, sizeof(dir), err) < 0 || inst_dir(d, name, "rootfs", rootfs, sizeof(rootfs), err) < 0)
		return -1;
	vs_err rerr = {0};
	if (vsd_rt(d, NULL, NULL, &rerr, del) < 0 && !strstr(rerr.msg, "does not exist"))
		return vs_fail(err, rerr.code, "%s", rerr.msg);
	if (mounted(dir, rootfs) && umount2(rootfs, MNT_DETACH) < 0)
		return vs_fail(err, errno, "unmount %s", rootfs);
	if (access(dir, F_OK) == 0 && vs_rmtree(dir, err) < 0)
		return -1;
	return 0;
}

int vsd_inst_delete_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_inst_arg *a = arg;
	if (teardown(d, a->name, err) < 0)
		return vs_wrap(err, "delete instance %s", a->name);
	pthread_mutex_lock(&d->lock);
	const char *args[] = {a->name};
	int rc = vsd_db_do(d->db, "delete instance", err, "DELETE FROM instances WHERE name = ?1", 1, args);
	if (rc == 0) {
		char src[128];
		source_url(a->name, src, sizeof(src));
		vsd_event_lifecycle(d, "instance-deleted", src);
	}
	pthread_mutex_unlock(&d->lock);
	vsd_sup_after(d, a->name, "delete", false, rc);
	vsd_net_instance_gone(d);
	return rc;
}

const char *vsd_inst_status(vsd *d, const char *name, int *code, int *pid)
{
	const char *st = vsd_rt_status(d, name, pid);
	if (!strcmp(st, "running")) {
		*code = 103;
		return "Running";
	}
	if (!strcmp(st, "paused")) {
		*code = 110;
		return "Frozen";
	}
	*code = 102;
	*pid = 0;
	return "Stopped";
}

struct json_object *vsd_inst_json(vsd *d, const char *name, bool state)
{
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT fingerprint, type, config, command, created_at, phase FROM instances WHERE name = ?1", 1, a, NULL);
	if (!st)
		return NULL;
	struct json_object *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = json_object_new_object();
		const char *phase = (const char *)sqlite3_column_text(st, 5);
		int code, pid;
		const char *status = strcmp(phase, "ready") ? (strcmp(phase, "creating") ? "Deleting" : "Creating")
							 : vsd_inst_status(d, name, &code, &pid);
		if (strcmp(phase, "ready"))
			code = 106, pid = 0;
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "type", json_object_new_string((const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(o, "status", json_object_new_string(status));
		json_object_object_add(o, "status_code", json_object_new_int(code));
		struct json_object *cfg = json_tokener_parse((const char *)sqlite3_column_text(st, 2));
		if (!cfg)
			cfg = json_object_new_object();
		json_object_object_add(cfg, "volatile.base_image", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(o, "config", cfg);
		struct json_object *cmd = json_tokener_parse((const char *)sqlite3_column_text(st, 3));
		json_object_object_add(o, "command", cmd ? cmd : json_object_new_array());
		json_object_object_add(o, "created_at", json_object_new_string((const char *)sqlite3_column_text(st, 4)));
		json_object_object_add(o, "description", json_object_new_string(""));
		json_object_object_add(o, "architecture", json_object_new_string("x86_64"));
		json_object_object_add(o, "profiles", json_object_new_array());
		json_object_object_add(o, "ephemeral", json_object_new_boolean(false));
		json_object_object_add(o, "stateful", json_object_new_boolean(false));
		json_object_object_add(o, "location", json_object_new_string("none"));
		json_object_object_add(o, "project", json_object_new_string("default"));
		if (state) {
			struct json_object *s = json_object_new_object();
			json_object_object_add(s, "status", json_object_new_string(status));
			json_object_object_add(s, "status_code", json_object_new_int(code));
			json_object_object_add(s, "pid", json_object_new_int(pid));
			vsd_sup_state_json(d, name, s);
			json_object_object_add(o, "state", s);
		}
	}
	sqlite3_finalize(st);
	return o;
}

struct json_object *vsd_inst_state_json(vsd *d, const char *name)
{
	struct json_object *o = vsd_inst_json(d, name, true);
	if (!o)
		return NULL;
	struct json_object *s = json_object_get(json_object_object_get(o, "state"));
	json_object_put(o);
	return s;
}

int vsd_inst_recover(vsd *d, int *running)
{
	*running = 0;
	char **undo = NULL, **keep = NULL;
	int nundo = 0, nkeep = 0;
	pthread_mutex_lock(&d->lock);
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name, phase FROM instances ORDER BY name", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		bool ready = !strcmp((const char *)sqlite3_column_text(st, 1), "ready");
		char ***v = ready ? &keep : &undo;
		int *n = ready ? &nkeep : &nundo;
		char **g = realloc(*v, sizeof(char *) * (size_t)(*n + 1));
		if (!g)
			break;
		*v = g;
		(*v)[(*n)++] = strdup(name);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < nundo; i++) {
		vs_err err = {0};
		if (teardown(d, undo[i], &err) < 0) {
			char buf[700];
			vs_warn("recover instance %s: %s", undo[i], vs_err_str(&err, buf, sizeof(buf)));
		} else {
			pthread_mutex_lock(&d->lock);
			const char *a[] = {undo[i]};
			vsd_db_do(d->db, "drop instance", NULL, "DELETE FROM instances WHERE name = ?1", 1, a);
			pthread_mutex_unlock(&d->lock);
			vs_info("removed instance %s: its operation was cut short", undo[i]);
		}
		free(undo[i]);
	}
	for (int i = 0; i < nkeep; i++) {
		int code, pid;
		vsd_inst_status(d, keep[i], &code, &pid);
		*running += code != 102;
		free(keep[i]);
	}
	free(undo);
	free(keep);
	return nkeep;
}
