/* The supervisor's side of the database and the event stream, and the
 * hooks instance.c's operations call. */
#include "platform/sup_int.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "platform/db.h"
#include "platform/events.h"

/* A lifecycle event with a context (lock held; takes ctx). */
void sup_event(vsd *d, const char *action, const char *name, struct json_object *ctx)
{
	char src[128];
	snprintf(src, sizeof(src), "/1.0/instances/%s", name);
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "action", json_object_new_string(action));
	json_object_object_add(m, "source", json_object_new_string(src));
	json_object_object_add(m, "context", ctx ? ctx : json_object_new_object());
	vsd_event_emit(d, "lifecycle", m);
}

bool sup_is_busy(vsd *d, const char *name)
{
	for (int i = 0; i < d->nbusy; i++)
		if (!strcmp(d->busy[i], name))
			return true;
	return false;
}

/* The supervision row (lock held): false if the instance was never started. */
bool sup_row(vsd *d, const char *name, bool *user_stopped, unsigned *restarts)
{
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT user_stopped, restarts FROM supervision WHERE name = ?1", 1, a, NULL);
	bool have = st && sqlite3_step(st) == SQLITE_ROW;
	if (have) {
		*user_stopped = sqlite3_column_int(st, 0) != 0;
		*restarts = (unsigned)sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	return have;
}

void sup_set(vsd *d, const char *name, const char *sql, const char *val)
{
	const char *a[] = {name, val};
	vs_err err = {0};
	if (vsd_db_do(d->db, "supervision", &err, sql, val ? 2 : 1, a) < 0) {
		char buf[700];
		vs_warn("instance %s: %s", name, vs_err_str(&err, buf, sizeof(buf)));
	}
}

void vsd_sup_before(vsd *d, const char *name, const char *action, bool policy)
{
	if (d->sup && (!strcmp(action, "stop") || !strcmp(action, "restart")))
		sup_expect(d->sup, name, false);
	if (policy || strcmp(action, "stop"))
		return;
	pthread_mutex_lock(&d->lock);
	sup_set(d, name, "INSERT INTO supervision (name, user_stopped) VALUES (?1, 1)"
		" ON CONFLICT(name) DO UPDATE SET user_stopped = 1", NULL);
	pthread_mutex_unlock(&d->lock);
}

void vsd_sup_after(vsd *d, const char *name, const char *action, bool policy, int rc)
{
	bool start = !strcmp(action, "start") || !strcmp(action, "restart");
	if (start && rc == 0 && !policy) {
		/* A user's start: a fresh count, as Docker's RestartCount. */
		pthread_mutex_lock(&d->lock);
		sup_set(d, name, "INSERT INTO supervision (name) VALUES (?1)"
			" ON CONFLICT(name) DO UPDATE SET user_stopped = 0, restarts = 0, health = ''", NULL);
		pthread_mutex_unlock(&d->lock);
	}
	if (d->sup)
		sup_push(d->sup, name, policy);
}

void vsd_sup_state_json(vsd *d, const char *name, struct json_object *state)
{
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db,
				       "SELECT s.restarts, s.health, s.last_exit, s.user_stopped FROM supervision s WHERE s.name = ?1",
				       1, a, NULL);
	bool have = st && sqlite3_step(st) == SQLITE_ROW;
	json_object_object_add(state, "restart_count", json_object_new_int(have ? sqlite3_column_int(st, 0) : 0));
	const char *h = have ? (const char *)sqlite3_column_text(st, 1) : "";
	json_object_object_add(state, "health", json_object_new_string(h && *h ? h : ""));
	json_object_object_add(state, "last_exit_code", have && sqlite3_column_type(st, 2) != SQLITE_NULL
							? json_object_new_int(sqlite3_column_int(st, 2)) : NULL);
	json_object_object_add(state, "stopped_by_user", json_object_new_boolean(have && sqlite3_column_int(st, 3)));
	sqlite3_finalize(st);
}
