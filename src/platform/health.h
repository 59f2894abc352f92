/* Health checks (Docker's HEALTHCHECK, Kubernetes's probes): exec, TCP
 * and HTTP, each with interval, timeout, retries and start period. The
 * config and the state machine here are pure; health_probe.c runs one
 * check as a child process the supervisor watches. */
#ifndef VSD_HEALTH_H
#define VSD_HEALTH_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

typedef enum { VSD_HEALTH_NONE, VSD_HEALTH_EXEC, VSD_HEALTH_TCP, VSD_HEALTH_HTTP } vsd_health_kind;

#define VSD_HEALTH_ARGS 32

typedef struct vsd_health {
	vsd_health_kind kind;
	char line[512];       /* exec: the command, words split on spaces */
	unsigned port;        /* tcp, http: on the instance's 127.0.0.1 */
	char path[256];       /* http: the request path, "/" by default */
	long interval_ms;     /* default 30 s, as Docker */
	long timeout_ms;      /* default 30 s */
	unsigned retries;     /* consecutive failures that make it unhealthy, default 3 */
	long start_period_ms; /* failures before this do not count, default 0 */
} vsd_health;

/* "exec:CMD ARGS..." | "tcp:PORT" | "http:PORT[/PATH]"; fills kind and its fields. */
int vsd_health_parse_check(const char *s, vsd_health *h, vs_err *err);
/* "500ms", "2s", "1m", "3" (seconds) -> ms, 1 ms to 24 h. */
int vsd_parse_duration_ms(const char *s, long *ms, vs_err *err);
void vsd_health_defaults(vsd_health *h);

typedef enum { VSD_HEALTH_STARTING, VSD_HEALTH_HEALTHY, VSD_HEALTH_UNHEALTHY } vsd_health_status;
const char *vsd_health_status_name(vsd_health_status s);

typedef struct vsd_health_state {
	vsd_health_status status;
	unsigned fails; /* consecutive failures that counted */
} vsd_health_state;

/* One check's outcome, since_start_ms after the instance started. A
 * failure inside the start period does not count (Docker's rule); a
 * success makes it healthy at once. Returns true when this outcome made
 * it unhealthy (the supervisor then restarts it). */
bool vsd_health_step(vsd_health_state *s, const vsd_health *h, bool ok, long since_start_ms);

/* The exec words of h->line into argv (at most VSD_HEALTH_ARGS, NULL
 * after), in buf (a copy of the line); returns how many. */
int vsd_health_argv(const vsd_health *h, char *buf, size_t len, char **argv);

/* Start one check against the instance whose init is init_pid (tcp and
 * http connect inside its network namespace): a child process that exits
 * 0 when healthy. exec runs `runtime --root rt_root exec name ARGS`.
 * Returns its pid, -1 with err. */
pid_t vsd_health_spawn(const vsd_health *h, const char *runtime, const char *rt_root, const char *name,
		       pid_t init_pid, vs_err *err);

#endif
