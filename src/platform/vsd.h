/* vesseld's one shared object: paths, the database, the lock that guards
 * it and every in-memory table (operations, events, busy instances). */
#ifndef VSD_VSD_H
#define VSD_VSD_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "base/error.h"
#include "platform/audit.h"

typedef struct vsd_ops vsd_ops;
typedef struct vsd_events vsd_events;
typedef struct vsd_sup vsd_sup;

typedef struct vsd_opts {
	const char *root;    /* --root, default /var/lib/vessel */
	const char *socket;  /* --socket, default /run/vessel/vesseld.sock */
	const char *runtime; /* --runtime, default: vessel next to vesseld */
} vsd_opts;

typedef struct vsd {
	char root[PATH_MAX], socket[PATH_MAX], runtime[PATH_MAX];
	char rt_root[PATH_MAX]; /* the runtime's --root: <root>/runtime */
	char audit_path[PATH_MAX];
	sqlite3 *db;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* broadcast on every event and operation change */
	vsd_audit_head audit;
	vsd_ops *ops;
	vsd_events *events;
	vsd_sup *sup; /* supervise.c: restart policies and health checks */
	char **busy; /* names of instances an operation is working on (NULL-terminated) */
	int nbusy;
	volatile bool stopping;
} vsd;

/* Paths under the root; -1 with ENAMETOOLONG if they do not fit. */
int vsd_path(const vsd *d, char *buf, size_t len, vs_err *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The current time as RFC 3339 UTC with microseconds. */
void vsd_now(char out[40]);
/* A random RFC 4122 v4 UUID. */
void vsd_uuid(char out[37]);

/* Mark/unmark an instance busy (lock held): -1 if it already is. */
int vsd_busy_take(vsd *d, const char *name);
void vsd_busy_drop(vsd *d, const char *name);

/* Append to the audit log and save its head (lock held). */
int vsd_audit_record(vsd *d, const vsd_audit_entry *e, vs_err *err);

#endif
