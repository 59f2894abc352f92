#include "platform/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/copytree.h"
#include "platform/db.h"
#include "platform/events.h"
#include "platform/instance.h"
#include "platform/phases.h"
#include "platform/runtime.h"

static void lifecycle(vsd *d, const char *action, const char *name, const char *snap)
{
	char src[192];
	snprintf(src, sizeof(src), "/1.0/instances/%s/snapshots/%s", name, snap);
	pthread_mutex_lock(&d->lock);
	vsd_event_lifecycle(d, action, src);
	pthread_mutex_unlock(&d->lock);
}

bool vsd_snap_exists(vsd *d, const char *name, const char *snap)
{
	char *have = NULL;
	const char *a[] = {name, snap};
	vsd_db_text(d->db, "SELECT name FROM snapshots WHERE instance = ?1 AND name = ?2", 2, a, &have, NULL);
	free(have);
	return have != NULL;
}

struct json_object *vsd_snap_json(vsd *d, const char *name, const char *snap)
{
	const char *a[] = {name, snap};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT created_at, config FROM snapshots WHERE instance = ?1 AND name = ?2", 2, a, NULL);
	struct json_object *o = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(snap));
		json_object_object_add(o, "created_at", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		struct json_object *cfg = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
		json_object_object_add(o, "config", cfg ? cfg : json_object_new_object());
		json_object_object_add(o, "stateful", json_object_new_boolean(false));
		json_object_object_add(o, "expires_at", json_object_new_string("0001-01-01T00:00:00Z"));
		json_object_object_add(o, "architecture", json_object_new_string("x86_64"));
		json_object_object_add(o, "ephemeral", json_object_new_boolean(false));
		json_object_object_add(o, "profiles", json_object_new_array());
		json_object_object_add(o, "devices", json_object_new_object());
	}
	sqlite3_finalize(st);
	return o;
}

static int snap_dir(vsd *d, const char *name, const char *snap, const char *prefix, char *buf, size_t len, vs_err *err)
{
	return vsd_path(d, buf, len, err, "instances/%s/snapshots/%s%s", name, prefix, snap);
}

/* Remove path if it exists (a leftover of a cut operation). */
static int clear(const char *path, vs_err *err)
{
	return access(path, F_OK) == 0 ? vs_rmtree(path, err) : 0;
}

int vsd_snap_create_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_snap_arg *a = arg;
	double t0 = vsd_phase_clock();
	char top[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], upper[PATH_MAX];
	if (vsd_path(d, top, sizeof(top), err, "instances/%s/snapshots", a->name) < 0 ||
	    snap_dir(d, a->name, a->snap, "", dir, sizeof(dir), err) < 0 ||
	    snap_dir(d, a->name, a->snap, ".tmp-", tmp, sizeof(tmp), err) < 0 ||
	    vsd_path(d, upper, sizeof(upper), err, "instances/%s/upper", a->name) < 0)
		return -1;
	if ((mkdir(top, 0700) < 0 && errno != EEXIST))
		return vs_fail(err, errno, "mkdir %s", top);
	if (clear(tmp, err) < 0 || clear(dir, err) < 0)
		return -1;
	/* Frozen while copied, so the copy is one moment of the instance. */
	int pid;
	bool thaw = !strcmp(vsd_rt_status(d, a->name, &pid), "running");
	const char *pause[] = {"pause", a->name, NULL}, *resume[] = {"resume", a->name, NULL};
	if (thaw && vsd_rt(d, NULL, NULL, err, pause) < 0)
		return vs_wrap(err, "snapshot %s/%s: freeze", a->name, a->snap);
	int rc = vsd_copytree(upper, tmp, err);
	vs_err rerr = {0};
	if (thaw && vsd_rt(d, NULL, NULL, &rerr, resume) < 0 && rc == 0) {
		*err = rerr;
		rc = -1;
	}
	if (rc == 0 && rename(tmp, dir) < 0)
		rc = vs_fail(err, errno, "rename %s", tmp);
	if (rc < 0) {
		vs_rmtree(tmp, NULL);
		return vs_wrap(err, "snapshot %s/%s", a->name, a->snap);
	}
	pthread_mutex_lock(&d->lock);
	char *cfg = NULL, now[40];
	const char *n[] = {a->name};
	rc = vsd_db_text(d->db, "SELECT config FROM instances WHERE name = ?1", 1, n, &cfg, err);
	vsd_now(now);
	const char *row[] = {a->name, a->snap, now, cfg ? cfg : "{}"};
	if (rc == 0)
		rc = vsd_db_do(d->db, "insert snapshot", err, "INSERT INTO snapshots VALUES (?1, ?2, ?3, ?4)", 4, row);
	free(cfg);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		vs_rmtree(dir, NULL);
		return -1;
	}
	vsd_phase_observe("snapshot", vsd_phase_clock() - t0);
	lifecycle(d, "instance-snapshot-created", a->name, a->snap);
	return 0;
}

int vsd_snap_delete_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_snap_arg *a = arg;
	char dir[PATH_MAX];
	if (snap_dir(d, a->name, a->snap, "", dir, sizeof(dir), err) < 0)
		return -1;
	/* The row first: a crash then leaves a directory no row names, which
	 * the next snapshot of that name clears. */
	pthread_mutex_lock(&d->lock);
	const char *k[] = {a->name, a->snap};
	int rc = vsd_db_do(d->db, "delete snapshot", err, "DELETE FROM snapshots WHERE instance = ?1 AND name = ?2", 2, k);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0 || clear(dir, err) < 0)
		return vs_wrap(err, "delete snapshot %s/%s", a->name, a->snap);
	lifecycle(d, "instance-snapshot-deleted", a->name, a->snap);
	return 0;
}

/* Stop or start through the instance's own operation body. */
static int state(vsd *d, const char *name, const char *action, vs_err *err)
{
	vsd_inst_arg ia = {.force = true, .timeout = -1};
	snprintf(ia.name, sizeof(ia.name), "%s", name);
	snprintf(ia.action, sizeof(ia.action), "%s", action);
	return vsd_inst_state_op(d, &ia, NULL, err);
}

/* Swap a copy of the snapshot in as the upper dir (the rootfs unmounted). */
static int swap_upper(vsd *d, const vsd_snap_arg *a, vs_err *err)
{
	char dir[PATH_MAX], upper[PATH_MAX], fresh[PATH_MAX], work[PATH_MAX], rootfs[PATH_MAX], idir[PATH_MAX];
	if (snap_dir(d, a->name, a->snap, "", dir, sizeof(dir), err) < 0 ||
	    vsd_path(d, idir, sizeof(idir), err, "instances/%s", a->name) < 0 ||
	    vs_path_fmt(upper, sizeof(upper), err, "%s/upper", idir) < 0 ||
	    vs_path_fmt(fresh, sizeof(fresh), err, "%s/upper.restore", idir) < 0 ||
	    vs_path_fmt(work, sizeof(work), err, "%s/work", idir) < 0 ||
	    vs_path_fmt(rootfs, sizeof(rootfs), err, "%s/rootfs", idir) < 0)
		return -1;
	struct stat s1, s2;
	if (stat(idir, &s1) == 0 && stat(rootfs, &s2) == 0 && s1.st_dev != s2.st_dev && umount2(rootfs, 0) < 0 &&
	    umount2(rootfs, MNT_DETACH) < 0)
		return vs_fail(err, errno, "unmount %s", rootfs);
	if (clear(fresh, err) < 0 || vsd_copytree(dir, fresh, err) < 0) {
		vs_rmtree(fresh, NULL);
		return -1;
	}
	if (renameat2(AT_FDCWD, fresh, AT_FDCWD, upper, RENAME_EXCHANGE) < 0) {
		int e = errno;
		vs_rmtree(fresh, NULL);
		return vs_fail(err, e, "exchange %s and %s", fresh, upper);
	}
	/* fresh is the old upper now: the restore has happened, so a failure to
	 * remove it is only a leftover (vsd_snap_recover removes it at start).
	 * overlayfs wants an empty work dir with a new upper. */
	vs_err rerr = {0};
	if (vs_rmtree(fresh, &rerr) < 0 || clear(work, &rerr) < 0) {
		char buf[700];
		vs_warn("restore %s/%s: %s", a->name, a->snap, vs_err_str(&rerr, buf, sizeof(buf)));
	}
	if (mkdir(work, 0755) < 0 && errno != EEXIST)
		return vs_fail(err, errno, "mkdir %s", work);
	return 0;
}

int vsd_snap_restore_op(vsd *d, void *arg, struct json_object **meta, vs_err *err)
{
	(void)meta;
	vsd_snap_arg *a = arg;
	double t0 = vsd_phase_clock();
	int pid;
	const char *st = vsd_rt_status(d, a->name, &pid);
	bool was_running = !strcmp(st, "running") || !strcmp(st, "paused");
	if (was_running && state(d, a->name, "stop", err) < 0)
		return vs_wrap(err, "restore %s/%s", a->name, a->snap);
	int rc = swap_upper(d, a, err);
	if (rc == 0) {
		pthread_mutex_lock(&d->lock);
		const char *k[] = {a->name, a->snap};
		rc = vsd_db_do(d->db, "restore config", err,
			       "UPDATE instances SET config = (SELECT config FROM snapshots WHERE instance = ?1 AND name = ?2)"
			       " WHERE name = ?1", 2, k);
		pthread_mutex_unlock(&d->lock);
	}
	if (rc == 0)
		lifecycle(d, "instance-snapshot-restored", a->name, a->snap);
	/* Running again whether or not the swap worked: a failed restore changes nothing. */
	vs_err serr = {0};
	if (was_running && state(d, a->name, "start", &serr) < 0 && rc == 0) {
		*err = serr;
		rc = -1;
	}
	if (rc < 0)
		return vs_wrap(err, "restore %s/%s", a->name, a->snap);
	vsd_phase_observe("restore", vsd_phase_clock() - t0);
	return 0;
}

/* Leftovers of one instance (lock held). */
static void recover_one(vsd *d, const char *name)
{
	char dir[PATH_MAX], p[PATH_MAX];
	if (vsd_path(d, p, sizeof(p), NULL, "instances/%s/upper.restore", name) == 0 && access(p, F_OK) == 0) {
		vs_info("instance %s: removing the copy of a restore that was cut short", name);
		vs_rmtree(p, NULL);
	}
	if (vsd_path(d, dir, sizeof(dir), NULL, "instances/%s/snapshots", name) < 0)
		return;
	DIR *ds = opendir(dir);
	struct dirent *de;
	while (ds && (de = readdir(ds))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bool tmp = !strncmp(de->d_name, ".tmp-", 5);
		if ((tmp || !vsd_snap_exists(d, name, de->d_name)) &&
		    vs_path_fmt(p, sizeof(p), NULL, "%s/%s", dir, de->d_name) == 0) {
			vs_info("instance %s: removing %s, left by a snapshot operation that was cut short", name, de->d_name);
			vs_rmtree(p, NULL);
		}
	}
	if (ds)
		closedir(ds);
}

void vsd_snap_recover(vsd *d)
{
	pthread_mutex_lock(&d->lock);
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM instances WHERE phase = 'ready'", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		recover_one(d, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->lock);
}
