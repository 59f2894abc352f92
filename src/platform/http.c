#include "platform/http.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/api.h"
#include "platform/envelope.h"
#include "platform/events.h"

#define UPLOAD_MAX ((uint64_t)16 << 30)

struct vsd_http {
	vsd *d;
	int fd;
	struct MHD_Daemon *mhd;
};

/* One request as it arrives. */
typedef struct conn_ctx {
	char *body;
	size_t len, cap;
	bool too_big, upload_failed;
	bool file_push; /* the upload is a /files push, not an image */
	int upload_fd;
	char upload[PATH_MAX];
	uint64_t uploaded;
	long long uid;
} conn_ctx;

typedef struct stream_ctx {
	vsd *d;
	uint64_t next;
	char types[64];
	char *pending;
	size_t plen, poff;
} stream_ctx;

static long long peer_uid(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	return cred.uid;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	stream_ctx *s = cls;
	while (s->poff >= s->plen) {
		free(s->pending);
		s->pending = NULL;
		s->plen = s->poff = 0;
		char *line = NULL;
		int rc = vsd_events_next(s->d, &s->next, s->types, &line);
		if (rc < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc > 0) {
			s->pending = line;
			s->plen = strlen(line);
		}
	}
	size_t n = s->plen - s->poff < max ? s->plen - s->poff : max;
	memcpy(buf, s->pending + s->poff, n);
	s->poff += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream_ctx *s = cls;
	free(s->pending);
	free(s);
}

/* The handler's ETag and extra headers ("Name: value\n" each). */
static void add_headers(struct MHD_Response *resp, const vsd_req *r)
{
	if (r->etag[0])
		MHD_add_response_header(resp, "ETag", r->etag);
	char buf[sizeof(r->headers)];
	snprintf(buf, sizeof(buf), "%s", r->headers);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strstr(line, ": ");
		if (!colon)
			continue;
		*colon = '\0';
		MHD_add_response_header(resp, line, colon + 2);
	}
}

static enum MHD_Result send_json(struct MHD_Connection *c, struct json_object *env, const vsd_req *r)
{
	size_t len;
	const char *text = json_object_to_json_string_length(env, JSON_C_TO_STRING_PLAIN, &len);
	char *body = malloc(len + 1);
	if (!body)
		return MHD_NO;
	memcpy(body, text, len);
	body[len] = '\n';
	struct MHD_Response *resp = MHD_create_response_from_buffer(len + 1, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (vsd_env_http_status(env) < 300)
		add_headers(resp, r);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)vsd_env_http_status(env), resp);
	MHD_destroy_response(resp);
	return rc;
}

/* POST /1.0/instances/NAME/files: a file push, its body streamed to disk. */
static bool is_file_push(const char *url, const char *method)
{
	const char *p = "/1.0/instances/";
	if (strcmp(method, "POST") || strncmp(url, p, strlen(p)))
		return false;
	const char *slash = strchr(url + strlen(p), '/');
	return slash && !strcmp(slash, "/files");
}

static bool is_upload(struct MHD_Connection *c, const char *url, const char *method)
{
	if (is_file_push(url, method))
		return true;
	if (strcmp(method, "POST") || strcmp(url, "/1.0/images"))
		return false;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	return !ct || strncmp(ct, "application/json", 16);
}

static void audit(vsd *d, const vsd_req *r, struct json_object *env)
{
	char result[700];
	int status = vsd_env_http_status(env);
	const char *msg = json_object_get_string(json_object_object_get(env, "error"));
	const char *op = json_object_get_string(json_object_object_get(env, "operation"));
	snprintf(result, sizeof(result), "%d%s%s", status, msg && *msg ? " " : op && *op ? " " : "",
		 msg && *msg ? msg : op && *op ? op : "");
	vsd_audit_entry e = {.uid = r->uid, .method = r->method, .path = r->path,
			     .summary = r->summary[0] ? r->summary : "", .result = result};
	vs_err err = {0};
	if (vsd_audit_record(d, &e, &err) < 0) {
		char buf[700];
		vs_error("%s", vs_err_str(&err, buf, sizeof(buf)));
	}
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *data_size, void **con_cls)
{
	(void)version;
	vsd *d = cls;
	conn_ctx *x = *con_cls;
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x)
			return MHD_NO;
		x->upload_fd = -1;
		x->uid = peer_uid(c);
		if (is_upload(c, url, method)) {
			vs_err err;
			x->file_push = is_file_push(url, method);
			if (vsd_path(d, x->upload, sizeof(x->upload), &err, "tmp/upload-XXXXXX") < 0 ||
			    (x->upload_fd = mkostemp(x->upload, O_CLOEXEC)) < 0) {
				x->upload_failed = true;
				x->upload[0] = '\0';
			}
		}
		*con_cls = x;
		return MHD_YES;
	}
	if (*data_size) {
		if (x->upload_fd >= 0 || x->upload_failed) {
			x->uploaded += *data_size;
			if (x->uploaded > UPLOAD_MAX)
				x->too_big = true;
			else if (!x->upload_failed && write(x->upload_fd, data, *data_size) != (ssize_t)*data_size)
				x->upload_failed = true;
		} else if (!x->too_big) {
			if (x->len + *data_size > VSD_BODY_MAX) {
				x->too_big = true;
			} else {
				if (x->len + *data_size + 1 > x->cap) {
					size_t cap = (x->len + *data_size + 1) * 2;
					char *b = realloc(x->body, cap > VSD_BODY_MAX + 1 ? VSD_BODY_MAX + 1 : cap);
					if (!b)
						return MHD_NO;
					x->body = b;
					x->cap = cap > VSD_BODY_MAX + 1 ? VSD_BODY_MAX + 1 : cap;
				}
				memcpy(x->body + x->len, data, *data_size);
				x->len += *data_size;
			}
		}
		*data_size = 0;
		return MHD_YES;
	}
	/* The whole request is in. */
	if (x->upload_fd >= 0) {
		close(x->upload_fd);
		x->upload_fd = -1;
	}
	vsd_req r = {.method = method, .path = url, .body = x->body ? x->body : "", .body_len = x->len,
		     .body_too_big = x->too_big && !x->upload[0],
		     .recursion = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "recursion"),
		     .timeout = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout"),
		     .types = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type"),
		     .alias = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Vessel-Alias"),
		     .if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match"),
		     .q_path = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path"),
		     .file = {MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Incus-uid"),
			      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Incus-gid"),
			      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Incus-mode"),
			      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Incus-type"),
			      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Incus-write")},
		     .uid = x->uid};
	if (x->body)
		x->body[x->len] = '\0';
	bool mutating = strcmp(method, "GET") && strcmp(method, "HEAD");
	struct json_object *env;
	pthread_mutex_lock(&d->lock);
	if (x->upload[0] || x->upload_failed) {
		const char *what = x->file_push ? "file push" : "image upload";
		if (x->upload_failed || x->too_big || (x->uploaded == 0 && !x->file_push)) {
			snprintf(r.summary, sizeof(r.summary), "%s", x->file_push ? "push a file" : "import image from upload");
			char msg[96];
			snprintf(msg, sizeof(msg), "%s: %s", what, x->uploaded == 0 ? "empty body"
				 : x->too_big ? "larger than 16 GiB" : "cannot store the body");
			env = vsd_env_error(x->uploaded == 0 || x->too_big ? 400 : 500, msg);
		} else {
			r.upload = x->upload;
			env = vsd_api_route(d, &r);
			if (vsd_env_http_status(env) == 202 && !x->file_push)
				x->upload[0] = '\0'; /* the import owns it now */
		}
	} else {
		env = vsd_api_route(d, &r);
	}
	if (mutating)
		audit(d, &r, env);
	uint64_t tail = vsd_events_tail(d);
	pthread_mutex_unlock(&d->lock);
	enum MHD_Result rc;
	if (r.stream && vsd_env_http_status(env) == 200) {
		stream_ctx *s = calloc(1, sizeof(*s));
		if (!s) {
			json_object_put(env);
			return MHD_NO;
		}
		s->d = d;
		s->next = tail; /* events from now on, in order */
		snprintf(s->types, sizeof(s->types), "%s", r.types ? r.types : "");
		struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
		MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
		rc = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
	} else if (r.text && vsd_env_http_status(env) == 200) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(r.text), r.text, MHD_RESPMEM_MUST_FREE);
		r.text = NULL;
		MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
		rc = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
	} else if (r.has_fd && vsd_env_http_status(env) == 200) {
		struct MHD_Response *resp = MHD_create_response_from_fd64(r.fd_len, r.fd); /* owns the fd */
		r.has_fd = false;
		if (!resp) {
			close(r.fd);
			json_object_put(env);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
		add_headers(resp, &r);
		rc = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
	} else {
		rc = send_json(c, env, &r);
	}
	if (r.has_fd)
		close(r.fd);
	free(r.text);
	json_object_put(env);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	conn_ctx *x = *con_cls;
	if (!x)
		return;
	if (x->upload_fd >= 0)
		close(x->upload_fd);
	if (x->upload[0])
		unlink(x->upload);
	free(x->body);
	free(x);
	*con_cls = NULL;
}

static int bind_socket(vsd *d, vs_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(d->socket) >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG, "socket %s", d->socket);
	strcpy(sa.sun_path, d->socket);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", d->socket);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (vs_mkdir_p(dir, 0755, err) < 0)
			return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail(err, errno, "socket");
	struct stat st;
	if (lstat(d->socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return vs_fail(err, EEXIST, "socket %s: exists and is not a socket", d->socket);
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return vs_fail(err, EADDRINUSE, "socket %s: another vesseld is listening there", d->socket);
		}
		unlink(d->socket); /* stale: its daemon is gone */
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vs_fail(err, errno, "socket");
	}
	/* Bind with a umask so the socket never exists with wider rights. */
	mode_t old = umask(0117);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "bind %s", d->socket);
	}
	if (chmod(d->socket, 0660) < 0 || (geteuid() == 0 && chown(d->socket, 0, 0) < 0) || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		unlink(d->socket);
		return vs_fail(err, e, "set up socket %s", d->socket);
	}
	return fd;
}

vsd_http *vsd_http_start(vsd *d, vs_err *err)
{
	vsd_http *h = calloc(1, sizeof(*h));
	if (!h) {
		vs_fail(err, ENOMEM, "http server");
		return NULL;
	}
	h->d = d;
	if ((h->fd = bind_socket(d, err)) < 0) {
		free(h);
		return NULL;
	}
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
				  MHD_USE_ERROR_LOG,
				  0, NULL, NULL, handle, d, MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_NOTIFY_COMPLETED,
				  completed, d, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
				  /* a thread each: bounded (only root and its group can connect at all) */
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (!h->mhd) {
		vs_fail(err, EIO, "start HTTP server on %s", d->socket);
		close(h->fd);
		unlink(d->socket);
		free(h);
		return NULL;
	}
	return h;
}

void vsd_http_stop(vsd_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	close(h->fd);
	unlink(h->d->socket);
	free(h);
}
