/* Per-phase latency histograms for /1.0/metrics: how long the lifecycle
 * work of an instance took (start, stop, restart, snapshot, restore), each
 * a Prometheus histogram vessel_phase_seconds{phase=...}. One table per
 * process (one vesseld), guarded by its own lock. */
#ifndef VSD_PHASES_H
#define VSD_PHASES_H

/* A monotonic timestamp in seconds. */
double vsd_phase_clock(void);
/* Record that phase (one of the names above; others are ignored) took secs. */
void vsd_phase_observe(const char *phase, double secs);
/* The histograms as Prometheus text (malloc'd; NULL if out of memory). */
char *vsd_phase_prom(void);

#endif
