#include "platform/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Migration N brings the schema from N-1 to N; never edit a released one,
 * append a new one. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE images (fingerprint TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL, config TEXT NOT NULL);"
	"CREATE TABLE layers (digest TEXT PRIMARY KEY, size INTEGER NOT NULL);"
	"CREATE TABLE image_layers (fingerprint TEXT NOT NULL REFERENCES images(fingerprint) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL, digest TEXT NOT NULL REFERENCES layers(digest),"
	"  PRIMARY KEY (fingerprint, idx));"
	"CREATE TABLE aliases (name TEXT PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL REFERENCES images(fingerprint) ON DELETE CASCADE);"
	/* phase: creating and deleting are intents; a row left in either after a
	 * crash is cleaned up when vesseld starts. */
	"CREATE TABLE instances (name TEXT PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL REFERENCES images(fingerprint),"
	"  type TEXT NOT NULL, config TEXT NOT NULL, command TEXT NOT NULL, created_at TEXT NOT NULL,"
	"  cgroup_id TEXT NOT NULL,"
	"  phase TEXT NOT NULL CHECK (phase IN ('creating', 'ready', 'deleting')));",
	/* 2: stateless snapshots (snapshot.c); config is the instance's when taken. */
	"CREATE TABLE snapshots (instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE,"
	"  name TEXT NOT NULL, created_at TEXT NOT NULL, config TEXT NOT NULL,"
	"  PRIMARY KEY (instance, name));",
	/* 3: the supervisor's memory (supervise.c): a row once an instance was
	 * started; user_stopped is the user's last word (unless-stopped reads it
	 * after a vesseld restart), restarts what the policy did since the user's
	 * last start, health the last verdict of its check. */
	"CREATE TABLE supervision (name TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,"
	"  user_stopped INTEGER NOT NULL DEFAULT 0, restarts INTEGER NOT NULL DEFAULT 0,"
	"  last_exit INTEGER, health TEXT NOT NULL DEFAULT '');",
	/* 4: managed networks (network.c; bridge: vsbr + 8 hex digits) and their
	 * IPAM leases: an instance keeps its address until it is deleted. */
	"CREATE TABLE networks (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
	"  bridge TEXT NOT NULL UNIQUE, gateway TEXT NOT NULL, prefix INTEGER NOT NULL, nat INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE leases (network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,"
	"  instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE, address TEXT NOT NULL,"
	"  PRIMARY KEY (network, instance), UNIQUE (network, address));",
};

int vsd_db_exec(sqlite3 *db, const char *sql, const char *what, vs_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vs_fail(err, EIO, "database: %s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *vsd_db_prep(sqlite3 *db, const char *sql, int n, const char *const *args, vs_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		vs_fail(err, EIO, "database: prepare: %s", sqlite3_errmsg(db));
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (args[i])
			sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, i + 1);
	}
	return st;
}

int vsd_db_run(sqlite3 *db, sqlite3_stmt *st, const char *what, vs_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		int code = rc == SQLITE_CONSTRAINT ? EEXIST : EIO;
		return vs_fail(err, code, "database: %s: %s", what, sqlite3_errmsg(db));
	}
	return 0;
}

int vsd_db_do(sqlite3 *db, const char *what, vs_err *err, const char *sql, int n, const char *const *args)
{
	sqlite3_stmt *st = vsd_db_prep(db, sql, n, args, err);
	return st ? vsd_db_run(db, st, what, err) : -1;
}

int vsd_db_text(sqlite3 *db, const char *sql, int n, const char *const *args, char **out, vs_err *err)
{
	*out = NULL;
	sqlite3_stmt *st = vsd_db_prep(db, sql, n, args, err);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		*out = strdup(t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return vs_fail(err, EIO, "database: query: %s", sqlite3_errmsg(db));
	return 0;
}

int vsd_db_version(sqlite3 *db)
{
	char *v = NULL;
	if (vsd_db_text(db, "SELECT MAX(version) FROM schema_version", 0, NULL, &v, NULL) < 0 || !v)
		return 0;
	int n = atoi(v);
	free(v);
	return n;
}

static int migrate(sqlite3 *db, vs_err *err)
{
	if (vsd_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
			    " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)", "schema_version", err) < 0)
		return -1;
	int have = vsd_db_version(db);
	int known = (int)(sizeof(migrations) / sizeof(migrations[0]));
	if (have > known)
		return vs_fail(err, VS_EINVAL_CONFIG, "database schema version %d is newer than this vesseld (%d)",
			       have, known);
	for (int v = have + 1; v <= known; v++) {
		char what[32], ins[80];
		snprintf(what, sizeof(what), "migration %d", v);
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version (version) VALUES (%d);", v);
		/* One transaction per step: a crash leaves the schema at v-1 or v. */
		if (vsd_db_exec(db, "BEGIN IMMEDIATE", what, err) < 0)
			return -1;
		if (vsd_db_exec(db, migrations[v - 1], what, err) < 0 || vsd_db_exec(db, ins, what, err) < 0) {
			vsd_db_exec(db, "ROLLBACK", what, NULL);
			return -1;
		}
		if (vsd_db_exec(db, "COMMIT", what, err) < 0)
			return -1;
	}
	return 0;
}

int vsd_db_open(const char *path, sqlite3 **out, vs_err *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		vs_fail(err, EIO, "open database %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (vsd_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
			"pragmas", err) < 0 ||
	    migrate(db, err) < 0) {
		vs_wrap(err, "database %s", path);
		sqlite3_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void vsd_db_close(sqlite3 *db)
{
	sqlite3_close(db);
}

char **vsd_db_names(sqlite3 *db, const char *sql, int *n)
{
	char **names = NULL;
	*n = 0;
	sqlite3_stmt *st = vsd_db_prep(db, sql, 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char **g = realloc(names, sizeof(char *) * (size_t)(*n + 1));
		if (!g)
			break;
		names = g;
		names[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return names;
}
