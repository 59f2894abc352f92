/* Operations: async work (create, start, stop, delete, image import) runs
 * on its own thread; the API answers at once with the operation, which
 * /1.0/operations/{id}[/wait] and the event stream report. In memory only,
 * as Incus's are: a restarted vesseld starts with none. */
#ifndef VSD_OPS_H
#define VSD_OPS_H

#include <json-c/json.h>

#include "platform/vsd.h"

/* The work: runs without the lock; returns 0 or -1 with err. It may set
 * *metadata: the op's metadata once done (an import's fingerprint). */
typedef int (*vsd_op_fn)(vsd *d, void *arg, struct json_object **metadata, vs_err *err);

int vsd_ops_init(vsd *d, vs_err *err);
void vsd_ops_free(vsd *d);

/* Start an operation (lock held). kind ("instances" | "images") and
 * resource (its URL) fill the op's resources; busy, if not NULL, is an
 * instance name the op holds busy (taken by the caller) and drops when
 * done. arg is freed with free_arg when done. Fills url (64 bytes) and
 * returns the op JSON. The audit entry of the request comes first; the
 * op's own outcome is audited when it ends. */
struct json_object *vsd_op_submit(vsd *d, const char *desc, const char *kind, const char *resource,
				  const char *busy, vsd_op_fn fn, void *arg, void (*free_arg)(void *),
				  long long uid, char url[64], vs_err *err);
/* The same; may_cancel: DELETE /1.0/operations/{id} may cancel it. */
struct json_object *vsd_op_submit_ex(vsd *d, const char *desc, const char *kind, const char *resource,
				     const char *busy, vsd_op_fn fn, void *arg, void (*free_arg)(void *),
				     long long uid, bool may_cancel, char url[64], vs_err *err);
/* Ask a running cancellable op to stop (lock held): its work sees
 * vsd_op_cancelled(), fails with ECANCELED after undoing what it did, and
 * the op ends Cancelled (401). ENOENT if unknown; refused if not running
 * or not cancellable. */
int vsd_op_cancel(vsd *d, const char *id, vs_err *err);
/* In an op's work (any thread of it that polls: only the op's own
 * thread): whether the op was asked to stop. */
bool vsd_op_cancelled(void);
/* JSON of one op (lock held); NULL if unknown. */
struct json_object *vsd_op_json(vsd *d, const char *id);
/* All ops' URLs or objects, grouped by status like Incus: {running:[], success:[], failure:[], cancelled:[]}. */
struct json_object *vsd_ops_list(vsd *d, bool recursion);
/* Wait (lock held) until done or timeout seconds pass (< 0: forever). 0 if known. */
int vsd_op_wait(vsd *d, const char *id, double timeout);
/* Wait for every running op to end (lock NOT held), for shutdown. */
void vsd_ops_drain(vsd *d);

#endif
