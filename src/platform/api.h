/* The REST API: one request in, one envelope out (or an event stream).
 * http.c turns HTTP into a vsd_req and calls vsd_api_route with the
 * daemon lock held; handlers validate everything before they store or
 * start anything. */
#ifndef VSD_API_H
#define VSD_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/vsd.h"

#define VSD_BODY_MAX ((size_t)1 << 20) /* JSON request bodies */

typedef struct vsd_req {
	const char *method, *path;
	const char *body;   /* NUL-terminated JSON (may be empty) */
	size_t body_len;
	bool body_too_big;  /* more than VSD_BODY_MAX: refused */
	const char *upload; /* a binary body saved to this file (image import), or NULL */
	const char *alias;  /* X-Vessel-Alias header of an upload */
	const char *recursion, *timeout, *types; /* query parameters, NULL if absent */
	long long uid;      /* peer uid */
	char summary[256];  /* filled by handlers for the audit log */
	bool stream;        /* set by /1.0/events: http.c streams events with types */
	char *text;         /* set by /1.0/metrics: sent as text/plain instead (malloc'd) */
	/* Instance config, snapshots, files, logs (api_config.c, api_snapshots.c, api_files.c). */
	const char *if_match; /* If-Match header: 412 unless it is the ETag */
	char etag[72];        /* set by handlers: sent as the ETag header */
	const char *q_path;   /* ?path= of /files */
	struct { const char *uid, *gid, *mode, *type, *write; } file; /* X-Incus-* headers of a push */
	bool has_fd;          /* answer with the file fd instead (http.c closes it) */
	int fd;
	uint64_t fd_len;
	char headers[384];    /* extra response headers, "Name: value\n" each */
} vsd_req;

/* Route and handle (lock held). Returns an envelope (never NULL). */
struct json_object *vsd_api_route(vsd *d, vsd_req *r);

/* Parse a JSON body strictly: one object, nothing after it, keys only
 * from allowed (NULL-terminated). Pure. */
int vsd_api_body(const char *body, size_t len, const char *const *allowed, struct json_object **out, vs_err *err);
/* Keys of obj only from allowed; where names obj in the message. Pure. */
int vsd_api_keys(struct json_object *obj, const char *where, const char *const *allowed, vs_err *err);

/* Handlers (api_instances.c, api_images.c, api_misc.c). seg: path
 * segments after /1.0/<collection>, n of them. */
struct json_object *vsd_api_instances(vsd *d, vsd_req *r, char **seg, int n);
struct json_object *vsd_api_images(vsd *d, vsd_req *r, char **seg, int n);
struct json_object *vsd_api_operations(vsd *d, vsd_req *r, char **seg, int n);
struct json_object *vsd_api_audit(vsd *d, vsd_req *r, char **seg, int n);
struct json_object *vsd_api_server(vsd *d, vsd_req *r);
/* /1.0/networks (api_networks.c). */
struct json_object *vsd_api_networks(vsd *d, vsd_req *r, char **seg, int n);
/* POST /1.0/instances/{name}/exec (api_exec.c). */
struct json_object *vsd_api_exec(vsd *d, vsd_req *r, const char *name);
/* PUT|PATCH /1.0/instances/{name} (api_config.c): limits, restore. */
struct json_object *vsd_api_inst_put(vsd *d, vsd_req *r, const char *name, bool patch);
/* The instance's ETag (lock held): sha256 of what PUT can change. -1 if unknown. */
int vsd_inst_etag(vsd *d, const char *name, char out[72]);
/* /1.0/instances/{name}/snapshots[/{snap}] (api_snapshots.c). */
struct json_object *vsd_api_snapshots(vsd *d, vsd_req *r, const char *name, char **seg, int n);
/* /1.0/instances/{name}/files and /logs[/{file}] (api_files.c). */
struct json_object *vsd_api_files(vsd *d, vsd_req *r, const char *name);
struct json_object *vsd_api_logs(vsd *d, vsd_req *r, const char *name, char **seg, int n);
/* GET /1.0/resources (api_resources.c). */
struct json_object *vsd_api_resources(vsd *d, vsd_req *r);
/* GET /1.0/metrics (api_metrics.c). */
struct json_object *vsd_api_metrics(vsd *d, vsd_req *r);

/* An error envelope from a vs_err: VS_EINVAL_CONFIG -> 400, ENOENT -> 404,
 * EEXIST/EBUSY -> 409, else 500. */
struct json_object *vsd_api_error(const vs_err *err);

#endif
