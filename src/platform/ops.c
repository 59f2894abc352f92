#include "platform/ops.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "platform/events.h"

#define KEEP_DONE 256 /* finished ops kept for /operations and late waiters */

typedef struct vsd_op {
	char id[37], desc[128], kind[16], resource[192], busy[72];
	char created[40], updated[40];
	int status_code; /* 103 running, 200 success, 400 failure, 401 cancelled */
	bool may_cancel;
	volatile bool cancel; /* asked to stop: its work polls vsd_op_cancelled() */
	char err[600];
	long long uid;
	vsd_op_fn fn;
	void *arg;
	void (*free_arg)(void *);
	struct json_object *metadata;
	vsd *d;
} vsd_op;

/* The operation this thread works for (op threads only). */
static __thread vsd_op *current;

struct vsd_ops {
	vsd_op **v;
	int n, running;
};

int vsd_ops_init(vsd *d, vs_err *err)
{
	d->ops = calloc(1, sizeof(*d->ops));
	return d->ops ? 0 : vs_fail(err, ENOMEM, "operation table");
}

void vsd_ops_free(vsd *d)
{
	if (!d->ops)
		return;
	for (int i = 0; i < d->ops->n; i++) {
		json_object_put(d->ops->v[i]->metadata);
		free(d->ops->v[i]);
	}
	free(d->ops->v);
	free(d->ops);
	d->ops = NULL;
}

static const char *status_name(int code)
{
	return code == 103 ? "Running" : code == 200 ? "Success" : code == 401 ? "Cancelled" : "Failure";
}

static struct json_object *op_to_json(const vsd_op *op)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(op->id));
	json_object_object_add(o, "class", json_object_new_string("task"));
	json_object_object_add(o, "description", json_object_new_string(op->desc));
	json_object_object_add(o, "created_at", json_object_new_string(op->created));
	json_object_object_add(o, "updated_at", json_object_new_string(op->updated));
	json_object_object_add(o, "status", json_object_new_string(status_name(op->status_code)));
	json_object_object_add(o, "status_code", json_object_new_int(op->status_code));
	struct json_object *res = json_object_new_object(), *arr = json_object_new_array();
	json_object_array_add(arr, json_object_new_string(op->resource));
	json_object_object_add(res, op->kind, arr);
	json_object_object_add(o, "resources", res);
	json_object_object_add(o, "metadata", json_object_get(op->metadata));
	json_object_object_add(o, "may_cancel", json_object_new_boolean(op->may_cancel && op->status_code == 103));
	json_object_object_add(o, "err", json_object_new_string(op->err));
	json_object_object_add(o, "location", json_object_new_string("none"));
	return o;
}

static vsd_op *find(vsd *d, const char *id)
{
	for (int i = 0; i < d->ops->n; i++)
		if (!strcmp(d->ops->v[i]->id, id))
			return d->ops->v[i];
	return NULL;
}

/* Drop the oldest finished ops beyond KEEP_DONE (lock held). */
static void trim(vsd *d)
{
	vsd_ops *t = d->ops;
	int done = t->n - t->running;
	for (int i = 0; i < t->n && done > KEEP_DONE;) {
		if (t->v[i]->status_code == 103) {
			i++;
			continue;
		}
		json_object_put(t->v[i]->metadata);
		free(t->v[i]);
		memmove(&t->v[i], &t->v[i + 1], sizeof(vsd_op *) * (size_t)(t->n - i - 1));
		t->n--;
		done--;
	}
}

static void *op_thread(void *p)
{
	vsd_op *op = p;
	vsd *d = op->d;
	vs_err err = {0};
	struct json_object *meta = NULL;
	current = op;
	int rc = op->fn(d, op->arg, &meta, &err);
	current = NULL;
	if (op->free_arg)
		op->free_arg(op->arg);
	pthread_mutex_lock(&d->lock);
	op->status_code = rc < 0 ? (op->cancel ? 401 : 400) : 200;
	op->metadata = meta;
	if (rc < 0 && op->cancel)
		snprintf(op->err, sizeof(op->err), "cancelled: %s", err.msg);
	else if (rc < 0 && (err.code == VS_EINVAL_CONFIG || err.code == EEXIST || err.code == ENOENT))
		snprintf(op->err, sizeof(op->err), "%s", err.msg); /* the message says it all */
	else if (rc < 0)
		vs_err_str(&err, op->err, sizeof(op->err));
	vsd_now(op->updated);
	if (op->busy[0])
		vsd_busy_drop(d, op->busy);
	d->ops->running--;
	char path[64], result[700];
	snprintf(path, sizeof(path), "/1.0/operations/%s", op->id);
	snprintf(result, sizeof(result), "%s%s%s", status_name(op->status_code), rc < 0 ? ": " : "", op->err);
	vsd_audit_entry a = {.uid = op->uid, .method = "OPERATION", .path = path, .summary = op->desc, .result = result};
	vs_err aerr = {0};
	if (vsd_audit_record(d, &a, &aerr) < 0) {
		char buf[700];
		vs_error("%s", vs_err_str(&aerr, buf, sizeof(buf)));
	}
	vsd_event_emit(d, "operation", op_to_json(op));
	trim(d);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct json_object *vsd_op_submit(vsd *d, const char *desc, const char *kind, const char *resource,
				  const char *busy, vsd_op_fn fn, void *arg, void (*free_arg)(void *),
				  long long uid, char url[64], vs_err *err)
{
	return vsd_op_submit_ex(d, desc, kind, resource, busy, fn, arg, free_arg, uid, false, url, err);
}

struct json_object *vsd_op_submit_ex(vsd *d, const char *desc, const char *kind, const char *resource,
				     const char *busy, vsd_op_fn fn, void *arg, void (*free_arg)(void *),
				     long long uid, bool may_cancel, char url[64], vs_err *err)
{
	vsd_op *op = calloc(1, sizeof(*op));
	vsd_op **v = realloc(d->ops->v, sizeof(vsd_op *) * (size_t)(d->ops->n + 1));
	if (!op || !v) {
		free(op);
		if (free_arg)
			free_arg(arg);
		vs_fail(err, ENOMEM, "operation %s", desc);
		return NULL;
	}
	d->ops->v = v;
	vsd_uuid(op->id);
	snprintf(op->desc, sizeof(op->desc), "%s", desc);
	snprintf(op->kind, sizeof(op->kind), "%s", kind);
	snprintf(op->resource, sizeof(op->resource), "%s", resource);
	snprintf(op->busy, sizeof(op->busy), "%s", busy ? busy : "");
	vsd_now(op->created);
	memcpy(op->updated, op->created, sizeof(op->updated));
	op->status_code = 103;
	op->uid = uid;
	op->may_cancel = may_cancel;
	op->fn = fn;
	op->arg = arg;
	op->free_arg = free_arg;
	op->d = d;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, op_thread, op);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		if (free_arg)
			free_arg(arg);
		free(op);
		vs_fail(err, rc, "start operation %s", desc);
		return NULL;
	}
	d->ops->v[d->ops->n++] = op;
	d->ops->running++;
	snprintf(url, 64, "/1.0/operations/%s", op->id);
	struct json_object *j = op_to_json(op);
	vsd_event_emit(d, "operation", json_object_get(j));
	return j;
}

struct json_object *vsd_op_json(vsd *d, const char *id)
{
	vsd_op *op = find(d, id);
	return op ? op_to_json(op) : NULL;
}

struct json_object *vsd_ops_list(vsd *d, bool recursion)
{
	struct json_object *o = json_object_new_object();
	const char *groups[] = {"running", "success", "failure", "cancelled"};
	const int codes[] = {103, 200, 400, 401};
	for (int g = 0; g < 4; g++) {
		struct json_object *arr = json_object_new_array();
		for (int i = 0; i < d->ops->n; i++) {
			vsd_op *op = d->ops->v[i];
			if (op->status_code != codes[g])
				continue;
			if (recursion) {
				json_object_array_add(arr, op_to_json(op));
			} else {
				char url[64];
				snprintf(url, sizeof(url), "/1.0/operations/%s", op->id);
				json_object_array_add(arr, json_object_new_string(url));
			}
		}
		json_object_object_add(o, groups[g], arr);
	}
	return o;
}

int vsd_op_wait(vsd *d, const char *id, double timeout)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	if (timeout >= 0) {
		until.tv_sec += (time_t)timeout;
		until.tv_nsec += (long)((timeout - floor(timeout)) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		vsd_op *op = find(d, id);
		if (!op)
			return -1;
		if (op->status_code != 103 || d->stopping)
			return 0;
		if (timeout < 0)
			pthread_cond_wait(&d->changed, &d->lock);
		else if (pthread_cond_timedwait(&d->changed, &d->lock, &until) == ETIMEDOUT)
			return 0;
	}
}

void vsd_ops_drain(vsd *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->ops->running > 0)
		pthread_cond_wait(&d->changed, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

bool vsd_op_cancelled(void)
{
	return current && __atomic_load_n(&current->cancel, __ATOMIC_RELAXED);
}

int vsd_op_cancel(vsd *d, const char *id, vs_err *err)
{
	vsd_op *op = find(d, id);
	if (!op)
		return vs_fail(err, ENOENT, "operation %s not found", id);
	if (op->status_code != 103)
		return vs_fail(err, VS_EINVAL_CONFIG, "operation %s is not running (%s)", id, status_name(op->status_code));
	if (!op->may_cancel)
		return vs_fail(err, VS_EINVAL_CONFIG, "operation %s (%s) cannot be cancelled", id, op->desc);
	__atomic_store_n(&op->cancel, true, __ATOMIC_RELAXED);
	return 0;
}
