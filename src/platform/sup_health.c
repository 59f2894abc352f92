/* Health checks on the supervisor thread: one child per check, watched
 * by pidfd, killed at its timeout; an unhealthy verdict schedules a
 * restart with the backoff. */
#include "platform/sup_int.h"

#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "platform/db.h"

void sup_stop_check(vsd_sup *s, entry *e)
{
	if (e->check_pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, e->check_pidfd, SIGKILL, NULL, 0);
	siginfo_t si;
	waitid(P_PIDFD, (id_t)e->check_pidfd, &si, WEXITED);
	sup_close_watched(s, &e->check_pidfd);
}

void sup_check_done(vsd_sup *s, entry *e)
{
	vsd *d = s->d;
	int code = sup_reap(e->check_pidfd);
	sup_close_watched(s, &e->check_pidfd);
	long long now = sup_now_ms();
	bool ok = code == 0 && now <= e->check_deadline;
	vsd_health_status before = e->hs.status;
	bool unhealthy = vsd_health_step(&e->hs, &e->ha.health, ok, now - e->started_ms);
	e->next_check = now + e->ha.health.interval_ms;
	if (e->hs.status == before && !unhealthy)
		return;
	pthread_mutex_lock(&d->lock);
	const char *status = vsd_health_status_name(e->hs.status);
	sup_set(d, e->name, "UPDATE supervision SET health = ?2 WHERE name = ?1", status);
	struct json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "status", json_object_new_string(status));
	json_object_object_add(ctx, "failures", json_object_new_int((int)e->hs.fails));
	char action[48];
	snprintf(action, sizeof(action), "instance-health-%s", status);
	sup_event(d, action, e->name, ctx);
	pthread_mutex_unlock(&d->lock);
	if (unhealthy && e->pid > 0) {
		/* Restarted with the policy's backoff, so a check that never
		 * passes cannot make a restart storm. */
		if (now - e->started_ms >= VSD_BACKOFF_RESET_MS)
			e->consecutive = 0;
		long delay = vsd_restart_backoff_ms(e->consecutive++);
		e->died_ms = now;
		e->next_check = 0;
		e->unhealthy = true;
		e->restart_at = now + delay;
		pthread_mutex_lock(&d->lock);
		struct json_object *c = json_object_new_object();
		json_object_object_add(c, "reason", json_object_new_string("unhealthy"));
		json_object_object_add(c, "delay_ms", json_object_new_int64(delay));
		sup_event(d, "instance-restarting", e->name, c);
		pthread_mutex_unlock(&d->lock);
	}
}

void sup_check_start(vsd_sup *s, entry *e, long long now)
{
	vs_err err = {0};
	e->next_check = 0;
	pid_t pid = vsd_health_spawn(&e->ha.health, s->d->runtime, s->d->rt_root, e->name, e->pid, &err);
	int fd = pid > 0 ? sup_pidfd_open(pid) : -1;
	if (fd < 0) {
		vs_warn("instance %s: %s", e->name, err.msg[0] ? err.msg : "health check: pidfd_open failed");
		e->next_check = now + e->ha.health.interval_ms;
		return;
	}
	e->check_pid = pid;
	e->check_pidfd = fd;
	e->check_deadline = now + e->ha.health.timeout_ms;
	sup_watch(s, fd);
}
