/* The autoscaler's arithmetic (issue 10's instance groups; the groups and
 * their API come later): Kubernetes HPA's rule and its guards. Pure. */
#ifndef VSD_AUTOSCALE_H
#define VSD_AUTOSCALE_H

#include <stddef.h>

#define VSD_HPA_TOLERANCE 0.1        /* HPA's default */
#define VSD_HPA_DOWN_WINDOW_S 300.0  /* scale-down stabilization, HPA's default */

/* desired = ceil(current * value / target), unchanged while value/target
 * is within tolerance of 1; current 0 stays 0 (nothing to measure). */
unsigned vsd_hpa_raw(unsigned current, double value, double target, double tolerance);

typedef struct vsd_hpa_sample {
	double t;         /* seconds */
	unsigned desired; /* a raw recommendation made at t */
} vsd_hpa_sample;

/* The replica count to apply now: the raw recommendation, capped for a
 * scale-up at max(2 x current, current + 4) (HPA's default policy), and
 * for a scale-down the highest recommendation of the last window seconds
 * (history: earlier recommendations, any order), then clamped to
 * [min, max]. */
unsigned vsd_hpa_decide(unsigned current, unsigned raw, const vsd_hpa_sample *history, size_t n, double now,
			double window, unsigned min, unsigned max);

#endif
