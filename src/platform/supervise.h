/* The supervisor: one thread that learns at once when an instance's init
 * dies (a pidfd per init in one epoll set; vesseld is a child subreaper,
 * so the inits it starts are its children and their exit status is read
 * with waitid(P_PIDFD)), applies the restart policy with its backoff, and
 * runs the health checks (each a child process watched the same way).
 * Every transition is a lifecycle event. Restarts go through operations,
 * like a user's start, so busy instances and the audit log stay one story. */
#ifndef VSD_SUPERVISE_H
#define VSD_SUPERVISE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/vsd.h"

/* Become a subreaper, start the thread, adopt every instance (a stopped
 * one its policy says to bring back is started: Docker's daemon start). */
int vsd_sup_start(vsd *d, vs_err *err);
void vsd_sup_stop(vsd *d);

/* Hooks of instance.c's operations (lock NOT held). policy: the op was
 * started by the supervisor, not by a user. */
void vsd_sup_before(vsd *d, const char *name, const char *action, bool policy);
void vsd_sup_after(vsd *d, const char *name, const char *action, bool policy, int rc);

/* Watch a helper process vesseld runs for a network (dnsmasq): when it
 * dies, respawn(d, key) runs on the supervisor thread after the backoff
 * (lock NOT held); it calls vsd_sup_service again with the new pid, or
 * nothing when the network is gone. */
typedef void (*vsd_sup_respawn_fn)(vsd *d, const char *key);
void vsd_sup_service(vsd *d, const char *key, pid_t pid, vsd_sup_respawn_fn respawn);

/* restart_policy, restart_count, health into an instance's state object (lock held). */
void vsd_sup_state_json(vsd *d, const char *name, struct json_object *state);

#endif
