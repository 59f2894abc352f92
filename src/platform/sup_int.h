/* The supervisor's insides, shared by supervise.c (instances, the
 * thread), sup_health.c (health checks) and sup_service.c (helper
 * processes such as dnsmasq). Only the supervisor thread touches the
 * entries and services; the pending list is guarded by mu. */
#ifndef VSD_SUP_INT_H
#define VSD_SUP_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/ha_config.h"
#include "platform/supervise.h"

typedef struct entry {
	char name[72];
	vsd_ha ha;
	int pidfd; /* the init's, -1 while not running */
	pid_t pid;
	long long started_ms;  /* when it was last seen start (or adopted) */
	unsigned consecutive;  /* policy restarts in a row, each run shorter than VSD_BACKOFF_RESET_MS */
	long long restart_at;  /* a scheduled policy restart, 0 if none */
	bool unhealthy;        /* that restart is for a failed health check: stop first */
	long long died_ms;     /* the death the policy is recovering from, 0 if none */
	bool inflight;         /* a policy operation was submitted, its hook not yet seen */
	bool pending_death;    /* died while another operation held it busy */
	int pending_exit;
	vsd_health_state hs;
	long long next_check;  /* 0: no check due */
	int check_pidfd;       /* a running check, -1 if none */
	pid_t check_pid;
	long long check_deadline;
} entry;

typedef struct pending {
	char name[72];
	bool policy_done; /* the hook of a supervisor's own operation */
	pid_t svc_pid;    /* > 0: a service to watch (name is its key) */
	vsd_sup_respawn_fn respawn;
} pending;

typedef struct service {
	char key[72];
	int pidfd;
	vsd_sup_respawn_fn respawn;
	unsigned consecutive;
	long long started_ms, respawn_at;
} service;

struct vsd_sup {
	vsd *d;
	pthread_t thread;
	bool running;
	int epfd, evfd, sigfd;
	pthread_mutex_t mu; /* guards the pending list only */
	pending *pend;
	char **expect; /* instances an operation is about to stop (guarded by mu) */
	int nexpect;
	int npend;
	entry **v; /* the supervisor thread's own */
	int n;
	service *svc;
	int nsvc;
};

long long sup_now_ms(void);
int sup_pidfd_open(pid_t pid);
/* A lifecycle event with a context (lock held; takes ctx). */
void sup_event(vsd *d, const char *action, const char *name, struct json_object *ctx);
bool sup_is_busy(vsd *d, const char *name);
bool sup_row(vsd *d, const char *name, bool *user_stopped, unsigned *restarts);
void sup_set(vsd *d, const char *name, const char *sql, const char *val);
void sup_push_item(vsd_sup *s, const pending *it);
/* An operation will stop name's init: its death is no crash. take:
 * consume the mark (true if there was one); else set it. */
bool sup_expect(vsd_sup *s, const char *name, bool take);
/* Ask the supervisor thread to look at an instance again. */
void sup_push(vsd_sup *s, const char *name, bool policy_done);
void sup_watch(vsd_sup *s, int fd);
void sup_close_watched(vsd_sup *s, int *fd);
int sup_reap(int fd);
/* Submit an operation on e (lock NOT held): "start" or "restart". */
void sup_submit(vsd_sup *s, entry *e, const char *action, const char *why);
/* sup_health.c */
void sup_check_start(vsd_sup *s, entry *e, long long now);
void sup_check_done(vsd_sup *s, entry *e);
void sup_stop_check(vsd_sup *s, entry *e);
/* sup_service.c */
void sup_svc_watch(vsd_sup *s, const pending *p);
void sup_svc_died(vsd_sup *s, service *v);
long long sup_svc_timers(vsd_sup *s, long long now, long long next);

#endif
