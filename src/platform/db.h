/* vesseld's state: one SQLite database (WAL, foreign keys on), its schema
 * built by numbered migrations recorded in schema_version. Every caller
 * holds the daemon lock; statements are prepared per use. */
#ifndef VSD_DB_H
#define VSD_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "base/error.h"

int vsd_db_open(const char *path, sqlite3 **db, vs_err *err);
void vsd_db_close(sqlite3 *db);
/* Run sql (no results); what names it in the message. */
int vsd_db_exec(sqlite3 *db, const char *sql, const char *what, vs_err *err);
/* Prepare sql and bind text arguments ?1..?n (NULL binds NULL). */
sqlite3_stmt *vsd_db_prep(sqlite3 *db, const char *sql, int n, const char *const *args, vs_err *err);
/* The first column of every row of sql (no arguments), strdup'ed (an entry
 * is NULL where that failed); *n of them; the caller frees each and the
 * array. Stops early, keeping what it has, if the array cannot grow. */
char **vsd_db_names(sqlite3 *db, const char *sql, int *n);
/* Run a bound statement to completion (INSERT/UPDATE/DELETE) and finalize it. */
int vsd_db_run(sqlite3 *db, sqlite3_stmt *st, const char *what, vs_err *err);
/* Shorthand: prepare, bind text args, run. */
int vsd_db_do(sqlite3 *db, const char *what, vs_err *err, const char *sql, int n, const char *const *args);
/* The single text value of a query, malloc'd; *out = NULL if no row. */
int vsd_db_text(sqlite3 *db, const char *sql, int n, const char *const *args, char **out, vs_err *err);
/* The schema version now in force. */
int vsd_db_version(sqlite3 *db);

#endif
