#include "platform/supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "ctr/state.h"
#include "platform/db.h"
#include "platform/events.h"
#include "platform/instance.h"
#include "platform/ops.h"
#include "platform/reaper.h"
#include "platform/sup_int.h"

long long sup_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int sup_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

void sup_push_item(vsd_sup *s, const pending *it)
{
	pthread_mutex_lock(&s->mu);
	pending *p = realloc(s->pend, sizeof(*p) * (size_t)(s->npend + 1));
	if (p) {
		s->pend = p;
		p[s->npend++] = *it;
	}
	pthread_mutex_unlock(&s->mu);
	uint64_t one = 1;
	if (write(s->evfd, &one, sizeof(one)) < 0)
		vs_warn("supervisor: wake: %s", strerror(errno));
}

bool sup_expect(vsd_sup *s, const char *name, bool take)
{
	bool had = false;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nexpect && !had; i++) {
		if (strcmp(s->expect[i], name))
			continue;
		had = true;
		if (take) {
			free(s->expect[i]);
			s->expect[i] = s->expect[--s->nexpect];
		}
	}
	if (!had && !take) {
		char **g = realloc(s->expect, sizeof(char *) * (size_t)(s->nexpect + 1));
		if (g) {
			s->expect = g;
			if ((s->expect[s->nexpect] = strdup(name)))
				s->nexpect++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return had;
}

void sup_push(vsd_sup *s, const char *name, bool policy_done)
{
	pending it = {.policy_done = policy_done};
	snprintf(it.name, sizeof(it.name), "%s", name);
	sup_push_item(s, &it);
}

static entry *find(vsd_sup *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i]->name, name))
			return s->v[i];
	return NULL;
}

void sup_watch(vsd_sup *s, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		vs_warn("supervisor: epoll add: %s", strerror(errno));
}

void sup_close_watched(vsd_sup *s, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* The exit code of a dead process behind fd, reaping it: -1 when vesseld
 * is not its parent (adopted after a restart of vesseld). */
int sup_reap(int fd)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return -1;
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static void drop(vsd_sup *s, entry *e)
{
	sup_stop_check(s, e);
	sup_close_watched(s, &e->pidfd);
	for (int i = 0; i < s->n; i++) {
		if (s->v[i] == e) {
			s->v[i] = s->v[--s->n];
			break;
		}
	}
	free(e);
}

/* Ask the policy (lock held); schedules the restart with its backoff. */
static void decide(vsd_sup *s, entry *e, vsd_restart_why why, int code, bool user_stopped, unsigned restarts)
{
	vsd *d = s->d;
	const vsd_restart_policy *p = &e->ha.restart;
	if (!vsd_restart_should(p, why, code, user_stopped, restarts)) {
		if (p->kind == VSD_RESTART_ON_FAILURE && !user_stopped && code != 0) {
			struct json_object *c = json_object_new_object();
			json_object_object_add(c, "restart_count", json_object_new_int((int)restarts));
			json_object_object_add(c, "max", json_object_new_int((int)p->max));
			sup_event(d, "instance-restart-limit", e->name, c);
		}
		e->died_ms = 0;
		return;
	}
	char n[16];
	snprintf(n, sizeof(n), "%u", restarts + 1);
	sup_set(d, e->name, "UPDATE supervision SET restarts = ?2 WHERE name = ?1", n);
	long delay = vsd_restart_backoff_ms(e->consecutive++);
	long long now = sup_now_ms();
	e->restart_at = now + delay;
	if (!e->died_ms)
		e->died_ms = now;
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "policy", json_object_new_string(vsd_restart_name(p->kind)));
	json_object_object_add(c, "restart_count", json_object_new_int((int)restarts + 1));
	json_object_object_add(c, "delay_ms", json_object_new_int64(delay));
	sup_event(d, "instance-restarting", e->name, c);
}

static void on_death(vsd_sup *s, entry *e)
{
	vsd *d = s->d;
	int code = sup_reap(e->pidfd);
	sup_close_watched(s, &e->pidfd);
	e->pid = 0;
	sup_stop_check(s, e);
	e->next_check = 0;
	long long now = sup_now_ms();
	if (now - e->started_ms >= VSD_BACKOFF_RESET_MS)
		e->consecutive = 0;
	pthread_mutex_lock(&d->lock);
	bool user_stopped = false;
	unsigned restarts = 0;
	sup_row(d, e->name, &user_stopped, &restarts);
	char c[16];
	snprintf(c, sizeof(c), "%d", code);
	sup_set(d, e->name, "UPDATE supervision SET last_exit = ?2 WHERE name = ?1", code >= 0 ? c : NULL);
	if (sup_expect(s, e->name, true) || sup_is_busy(d, e->name)) {
		/* An operation's doing (a stop, a restart), reported by its own
		 * event; else its hook brings us back to settle it. */
		e->pending_death = true;
		e->pending_exit = code;
	} else {
		struct json_object *ctx = json_object_new_object();
		json_object_object_add(ctx, "exit_code", code >= 0 ? json_object_new_int(code) : NULL);
		sup_event(d, "instance-exited", e->name, ctx);
		e->died_ms = now;
		decide(s, e, VSD_WHY_EXITED, code, user_stopped, restarts);
	}
	pthread_mutex_unlock(&d->lock);
}

void sup_submit(vsd_sup *s, entry *e, const char *action, const char *why)
{
	vsd *d = s->d;
	pthread_mutex_lock(&d->lock);
	if (d->stopping || vsd_busy_take(d, e->name) < 0) {
		/* Someone else's operation: its hook reloads the entry. */
		e->pending_death = !d->stopping;
		e->pending_exit = -1;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	vsd_inst_arg *a = calloc(1, sizeof(*a));
	char desc[128], res[128], url[64];
	snprintf(desc, sizeof(desc), "%s instance %s (%s)", !strcmp(action, "start") ? "Starting" : "Restarting",
		 e->name, why);
	snprintf(res, sizeof(res), "/1.0/instances/%s", e->name);
	vs_err err = {0};
	struct json_object *op = NULL;
	if (a) {
		snprintf(a->name, sizeof(a->name), "%s", e->name);
		snprintf(a->action, sizeof(a->action), "%s", action);
		a->force = true;
		a->timeout = -1;
		a->policy = true;
		op = vsd_op_submit(d, desc, "instances", res, e->name, vsd_inst_state_op, a, free, 0, url, &err);
	}
	if (op) {
		e->inflight = true;
		json_object_put(op);
	} else {
		vsd_busy_drop(d, e->name);
		char buf[700];
		vs_warn("supervisor: %s: %s", desc, a ? vs_err_str(&err, buf, sizeof(buf)) : "out of memory");
	}
	pthread_mutex_unlock(&d->lock);
}

/* Bring the entry of name in line with the database and the runtime:
 * watch a running init, forget a deleted instance, and settle a death
 * that happened while an operation held the instance. */
static void reload(vsd_sup *s, const char *name, bool policy_done, bool daemon_start)
{
	vsd *d = s->d;
	const char *a[] = {name};
	char *cfg = NULL;
	pthread_mutex_lock(&d->lock);
	vsd_db_text(d->db, "SELECT config FROM instances WHERE name = ?1 AND phase = 'ready'", 1, a, &cfg, NULL);
	bool user_stopped = false;
	unsigned restarts = 0;
	bool started_once = sup_row(d, name, &user_stopped, &restarts);
	pthread_mutex_unlock(&d->lock);
	entry *e = find(s, name);
	if (!cfg) {
		if (e)
			drop(s, e);
		return;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		entry **v = e ? realloc(s->v, sizeof(*v) * (size_t)(s->n + 1)) : NULL;
		if (!v) {
			free(e);
			free(cfg);
			return;
		}
		s->v = v;
		s->v[s->n++] = e;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->pidfd = e->check_pidfd = -1;
	}
	struct json_object *c = json_tokener_parse(cfg);
	free(cfg);
	vs_err err = {0};
	if (vsd_ha_parse(c, &e->ha, &err) < 0)
		vs_warn("instance %s: %s (supervised as restart policy no)", name, err.msg);
	json_object_put(c);
	if (policy_done)
		e->inflight = false;

	/* The init, straight from the runtime's state (no process spawned). */
	vs_state st;
	bool exists = false, fresh = false;
	if (vs_state_load(d->rt_root, name, &st, NULL) == 0) {
		exists = st.pid > 0 && vs_pid_start_time(st.pid) == st.pid_start;
		if (exists && e->pid != st.pid) {
			if (e->pidfd >= 0) /* the last init, dead, its event not yet read */
				sup_reap(e->pidfd);
			sup_close_watched(s, &e->pidfd);
			sup_stop_check(s, e);
			int fd = sup_pidfd_open(st.pid);
			/* Checked again once open: the pidfd is of this very init. */
			if (fd >= 0 && vs_pid_start_time(st.pid) == st.pid_start) {
				e->pidfd = fd;
				e->pid = st.pid;
				sup_watch(s, fd);
				e->started_ms = sup_now_ms();
				e->hs = (vsd_health_state){0};
				e->next_check = e->ha.health.kind ? e->started_ms + e->ha.health.interval_ms : 0;
				fresh = true;
			} else {
				if (fd >= 0)
					close(fd);
				exists = false;
			}
		}
		vs_state_clear(&st);
	}
	pthread_mutex_lock(&d->lock);
	if (exists) {
		if (fresh) {
			sup_expect(s, name, true); /* an op's stop that never came */
			sup_set(d, name, "UPDATE supervision SET health = ?2 WHERE name = ?1",
				e->ha.health.kind ? "starting" : "");
		}
		e->pending_death = false;
		if (fresh) {
			e->restart_at = 0;
			e->unhealthy = false;
		}
		if (e->died_ms && policy_done) {
			struct json_object *ctx = json_object_new_object();
			json_object_object_add(ctx, "restart_count", json_object_new_int((int)restarts));
			json_object_object_add(ctx, "recovery_ms", json_object_new_int64(sup_now_ms() - e->died_ms));
			sup_event(d, "instance-recovered", name, ctx);
		}
		e->died_ms = 0;
	} else if (user_stopped && !daemon_start) {
		e->restart_at = 0;
		e->died_ms = 0;
		e->pending_death = false;
	} else if (!e->inflight && !e->restart_at) {
		if (e->pending_death || (policy_done && e->died_ms)) {
			/* Died under another operation, or our own start failed. */
			int code = e->pending_death ? e->pending_exit : -1;
			e->pending_death = false;
			decide(s, e, VSD_WHY_EXITED, code, user_stopped, restarts);
		} else if (daemon_start && started_once) {
			decide(s, e, VSD_WHY_DAEMON_START, -1, user_stopped, restarts);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* Due timers; returns the epoll timeout to the next one (-1: none). */
static int timers(vsd_sup *s)
{
	long long now = sup_now_ms(), next = -1;
	for (int i = 0; i < s->n; i++) {
		entry *e = s->v[i];
		if (e->restart_at && e->restart_at <= now) {
			e->restart_at = 0;
			if (e->unhealthy && e->pidfd >= 0)
				sup_submit(s, e, "restart", "unhealthy");
			else
				sup_submit(s, e, "start", "restart policy");
			e->unhealthy = false;
		}
		if (e->next_check && e->next_check <= now && e->pidfd >= 0)
			sup_check_start(s, e, now);
		if (e->check_pidfd >= 0 && e->check_deadline <= now) /* its exit reports the failure */
			syscall(SYS_pidfd_send_signal, e->check_pidfd, SIGKILL, NULL, 0);
		long long t[] = {e->restart_at, e->pidfd >= 0 ? e->next_check : 0,
				 e->check_pidfd >= 0 ? e->check_deadline + 1 : 0};
		for (int k = 0; k < 3; k++)
			if (t[k] && (next < 0 || t[k] < next))
				next = t[k];
	}
	next = sup_svc_timers(s, now, next);
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 1000000 ? 1000000 : next - now);
}

static void drain_pending(vsd_sup *s)
{
	uint64_t v;
	if (read(s->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vs_warn("supervisor: read eventfd: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&s->mu);
		pending p = {0};
		bool have = s->npend > 0;
		if (have) {
			p = s->pend[0];
			memmove(s->pend, s->pend + 1, sizeof(*s->pend) * (size_t)--s->npend);
		}
		pthread_mutex_unlock(&s->mu);
		if (!have)
			return;
		if (p.svc_pid > 0)
			sup_svc_watch(s, &p);
		else
			reload(s, p.name, p.policy_done, false);
	}
}

static void *loop(void *arg)
{
	vsd_sup *s = arg;
	vsd *d = s->d;
	/* Adopt everything there is. */
	pthread_mutex_lock(&d->lock);
	int n;
	char **names = vsd_db_names(d->db, "SELECT name FROM instances WHERE phase = 'ready'", &n);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < n; i++) {
		if (names[i])
			reload(s, names[i], false, true);
		free(names[i]);
	}
	free(names);
	while (!d->stopping) {
		struct epoll_event ev[16];
		int k = epoll_wait(s->epfd, ev, 16, timers(s));
		for (int i = 0; i < k; i++) {
			int fd = ev[i].data.fd;
			if (fd == s->evfd) {
				drain_pending(s);
				continue;
			}
			if (fd == s->sigfd) {
				struct signalfd_siginfo si[8];
				if (read(s->sigfd, si, sizeof(si)) > 0)
					vsd_reap_orphans();
				continue;
			}
			for (int j = 0; j < s->n; j++) {
				entry *e = s->v[j];
				if (e->pidfd == fd) {
					on_death(s, e);
					break;
				}
				if (e->check_pidfd == fd) {
					sup_check_done(s, e);
					break;
				}
			}
			for (int j = 0; j < s->nsvc; j++)
				if (s->svc[j].pidfd == fd)
					sup_svc_died(s, &s->svc[j]);
		}
	}
	return NULL;
}

int vsd_sup_start(vsd *d, vs_err *err)
{
	/* The inits vesseld starts become its children once `vessel create`
	 * exits: their exit status is then ours to read. They still outlive
	 * vesseld (reparented to init when it dies). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return vs_fail(err, errno, "supervisor: PR_SET_CHILD_SUBREAPER");
	vsd_sup *s = calloc(1, sizeof(*s));
	if (!s)
		return vs_fail(err, ENOMEM, "supervisor");
	s->d = d;
	pthread_mutex_init(&s->mu, NULL);
	/* SIGCHLD only through the signalfd: blocked here, before any thread
	 * is made, so every thread inherits the mask. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->epfd < 0 || s->evfd < 0 || s->sigfd < 0) {
		int e = errno;
		if (s->epfd >= 0)
			close(s->epfd);
		if (s->evfd >= 0)
			close(s->evfd);
		if (s->sigfd >= 0)
			close(s->sigfd);
		free(s);
		return vs_fail(err, e, "supervisor: epoll/eventfd/signalfd");
	}
	sup_watch(s, s->evfd);
	sup_watch(s, s->sigfd);
	d->sup = s;
	int rc = pthread_create(&s->thread, NULL, loop, s);
	if (rc != 0) {
		d->sup = NULL;
		close(s->epfd);
		close(s->evfd);
		close(s->sigfd);
		free(s);
		return vs_fail(err, rc, "supervisor: thread");
	}
	s->running = true;
	return 0;
}

void vsd_sup_stop(vsd *d)
{
	vsd_sup *s = d->sup;
	if (!s)
		return;
	/* d->stopping is set: a wake makes the loop see it. */
	uint64_t one = 1;
	if (write(s->evfd, &one, sizeof(one)) < 0)
		vs_warn("supervisor: wake: %s", strerror(errno));
	if (s->running)
		pthread_join(s->thread, NULL);
	while (s->n > 0) {
		entry *e = s->v[0];
		sup_stop_check(s, e);
		sup_close_watched(s, &e->pidfd);
		s->v[0] = s->v[--s->n];
		free(e);
	}
	for (int i = 0; i < s->nsvc; i++)
		sup_close_watched(s, &s->svc[i].pidfd);
	free(s->svc);
	free(s->v);
	free(s->pend);
	for (int i = 0; i < s->nexpect; i++)
		free(s->expect[i]);
	free(s->expect);
	close(s->epfd);
	close(s->evfd);
	close(s->sigfd);
	pthread_mutex_destroy(&s->mu);
	free(s);
	d->sup = NULL;
}

