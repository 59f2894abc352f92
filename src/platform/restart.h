/* Restart policies (Docker's: no, on-failure[:max], always,
 * unless-stopped) and their backoff. Pure functions: the supervisor
 * (supervise.c) asks them what to do when an instance's init dies. */
#ifndef VSD_RESTART_H
#define VSD_RESTART_H

#include <stdbool.h>

#include "base/error.h"

typedef enum {
	VSD_RESTART_NO,
	VSD_RESTART_ON_FAILURE,
	VSD_RESTART_ALWAYS,
	VSD_RESTART_UNLESS_STOPPED,
} vsd_restart_kind;

typedef struct vsd_restart_policy {
	vsd_restart_kind kind;
	unsigned max; /* on-failure: restarts allowed, 0 = no limit */
} vsd_restart_policy;

#define VSD_RESTART_MAX_LIMIT 1000000u
#define VSD_BACKOFF_FIRST_MS 100L   /* Docker's first delay */
#define VSD_BACKOFF_MAX_MS 60000L   /* and its cap */
#define VSD_BACKOFF_RESET_MS 10000L /* a run this long resets the backoff */

/* "no" | "on-failure" | "on-failure:N" | "always" | "unless-stopped". */
int vsd_restart_parse(const char *s, vsd_restart_policy *p, vs_err *err);
const char *vsd_restart_name(vsd_restart_kind k);

/* Why the decision is asked: the init was seen to exit (exit_code, or -1
 * when vesseld is not its parent and cannot know it: counted as a
 * failure), or vesseld found it stopped when it started (Docker's daemon
 * start: `always` comes back even after a user's stop). */
typedef enum { VSD_WHY_EXITED, VSD_WHY_DAEMON_START } vsd_restart_why;

/* Restart? restarts: how many the policy already did since the user's
 * last start; user_stopped: the user's stop was the last word. */
bool vsd_restart_should(const vsd_restart_policy *p, vsd_restart_why why, int exit_code, bool user_stopped,
			unsigned restarts);

/* Delay before restart number n+1 after n consecutive ones (each run
 * shorter than VSD_BACKOFF_RESET_MS): 100 ms doubled each time, at most 60 s. */
long vsd_restart_backoff_ms(unsigned consecutive);

#endif
