#include "platform/autoscale.h"

#include <math.h>

unsigned vsd_hpa_raw(unsigned current, double value, double target, double tolerance)
{
	if (current == 0 || !(target > 0) || !(value >= 0))
		return current;
	double ratio = value / target;
	if (fabs(ratio - 1.0) <= tolerance)
		return current;
	double want = ceil((double)current * ratio);
	return want > 1e6 ? 1000000u : (unsigned)want;
}

unsigned vsd_hpa_decide(unsigned current, unsigned raw, const vsd_hpa_sample *history, size_t n, double now,
			double window, unsigned min, unsigned max)
{
	unsigned want = raw;
	if (want > current) {
		unsigned cap = current * 2 > current + 4 ? current * 2 : current + 4;
		if (want > cap)
			want = cap;
	} else if (want < current) {
		/* Scale down only to the highest count recommended lately. */
		for (size_t i = 0; i < n; i++)
			if (now - history[i].t <= window && history[i].desired > want)
				want = history[i].desired;
		if (want > current)
			want = current;
	}
	if (want < min)
		want = min;
	if (max && want > max)
		want = max;
	return want;
}
