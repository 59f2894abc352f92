/* The API thread: accept, read into a bounded buffer, parse, answer. A
 * malformed request gets its 400 and the connection is closed (its framing
 * cannot be trusted any more). The thread jails itself first with its own
 * seccomp filter (vs_jail_apply_api): an InstanceStart is built by the
 * VMM thread (vs_vmm_start hands it over), never here. */
#include "vmm/api/server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api/obs.h"
#include "vmm/jail.h"

#define BUF_MAX (VS_HTTP_MAX_HEADER + VS_HTTP_MAX_BODY)

struct vs_api_server {
	int lfd, quit_efd;
	pthread_t thread;
	vs_vmm *m;
	vs_fc_info info;
	bool jail;
	sem_t ready;       /* the thread has jailed itself (or failed: jail_rc) */
	int jail_rc;
	vs_err jail_err;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char buf[BUF_MAX];
	char out[BUF_MAX];
};

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w, n -= (size_t)w;
	}
	return true;
}

static bool respond(vs_api_server *s, int fd, int status, const char *body, bool keep)
{
	long n = vs_http_response(s->out, sizeof(s->out), status, body, keep);
	if (n < 0)
		n = vs_http_response(s->out, sizeof(s->out), 500, "{\"fault_message\":\"response too large\"}", false);
	return n > 0 && send_all(fd, s->out, (size_t)n) && keep;
}

static void serve(vs_api_server *s, int fd)
{
	size_t have = 0;
	for (;;) {
		vs_http_req req;
		vs_err err = {0};
		int status;
		long n = vs_http_parse(s->buf, have, &req, &status, &err);
		if (n < 0) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "fault_message", json_object_new_string(err.msg));
			respond(s, fd, status, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), false);
			json_object_put(o);
			return;
		}
		if (n > 0) {
			vs_fc_reply r;
			vs_fc_handle(s->m, &s->info, &req, &r);
			bool keep = respond(s, fd, r.status, r.body, req.keep_alive);
			free(r.body);
			if (!keep)
				return;
			memmove(s->buf, s->buf + n, have - (size_t)n);
			have -= (size_t)n;
			continue;
		}
		if (have == sizeof(s->buf))
			return; /* cannot happen: the parser refuses before */
		struct pollfd p[2] = {{fd, POLLIN, 0}, {s->quit_efd, POLLIN, 0}};
		if (poll(p, 2, vs_fc_obs_timeout_ms(s->info.obs)) < 0 && errno != EINTR)
			return;
		vs_fc_obs_tick(s->info.obs, s->m);
		if (p[1].revents)
			return;
		if (!p[0].revents)
			continue;
		ssize_t got = read(fd, s->buf + have, sizeof(s->buf) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		have += (size_t)got;
	}
}

static void *api_thread(void *arg)
{
	vs_api_server *s = arg;
	s->jail_rc = s->jail ? vs_jail_apply_api(&s->jail_err) : 0;
	sem_post(&s->ready);
	if (s->jail_rc < 0)
		return NULL;
	for (;;) {
		struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->quit_efd, POLLIN, 0}};
		/* Wakes for the periodic metrics flush too. */
		if (poll(p, 2, vs_fc_obs_timeout_ms(s->info.obs)) < 0 && errno != EINTR)
			break;
		vs_fc_obs_tick(s->info.obs, s->m);
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(s, fd);
		close(fd);
	}
	return NULL;
}

vs_api_server *vs_api_listen(const char *path, vs_vmm *m, const vs_fc_info *info, bool jail, vs_err *err)
{
	vs_api_server *s = calloc(1, sizeof(*s));
	if (!s) {
		vs_fail(err, ENOMEM, "allocate the API server");
		return NULL;
	}
	s->m = m;
	s->info = *info;
	if (!(s->info.obs = vs_fc_obs_new(info->id))) {
		free(s);
		vs_fail(err, ENOMEM, "allocate the API server");
		return NULL;
	}
	s->jail = jail;
	sem_init(&s->ready, 0, 0);
	s->lfd = s->quit_efd = -1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		vs_fail(err, ENAMETOOLONG, "API socket %s: path longer than %zu bytes", path, sizeof(a.sun_path) - 1);
		goto fail;
	}
	strcpy(a.sun_path, path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		vs_fail(err, errno, "create API socket %s", path);
		goto fail;
	}
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		vs_fail(err, errno, "bind API socket %s%s", path, errno == EADDRINUSE ? " (remove the old one first)" : "");
		goto fail;
	}
	strcpy(s->path, path);
	if (listen(s->lfd, 16) < 0) {
		vs_fail(err, errno, "listen on API socket %s", path);
		goto fail;
	}
	s->quit_efd = eventfd(0, EFD_CLOEXEC);
	if (s->quit_efd < 0) {
		vs_fail(err, errno, "create the API thread's eventfd");
		goto fail;
	}
	int e = pthread_create(&s->thread, NULL, api_thread, s);
	if (e) {
		vs_fail(err, e, "start the API thread");
		goto fail;
	}
	sem_wait(&s->ready);
	if (s->jail_rc < 0) {
		pthread_join(s->thread, NULL);
		if (err)
			*err = s->jail_err;
		goto fail;
	}
	return s;
fail:
	if (s->quit_efd >= 0)
		close(s->quit_efd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->path[0])
		unlink(s->path);
	sem_destroy(&s->ready);
	vs_fc_obs_free(s->info.obs, NULL);
	free(s);
	return NULL;
}

void vs_api_close(vs_api_server *s, bool remove)
{
	if (!s)
		return;
	uint64_t one = 1;
	if (write(s->quit_efd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	close(s->quit_efd);
	close(s->lfd);
	if (remove)
		unlink(s->path);
	sem_destroy(&s->ready);
	vs_fc_obs_free(s->info.obs, s->m); /* a last metrics line, as Firecracker writes at exit */
	free(s);
}
