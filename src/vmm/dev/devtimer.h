/* A one-shot wake-up for a device whose queue a rate limiter holds back:
 * a timerfd (made at device creation, before any jail) that the device's
 * own thread polls; arming only ever brings the deadline closer, so two
 * throttled queues of one device share it. Lock-free itself: the device
 * lock guards it. */
#ifndef VS_VMM_DEV_DEVTIMER_H
#define VS_VMM_DEV_DEVTIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef struct vs_devtimer {
	int fd;            /* CLOCK_MONOTONIC timerfd, non-blocking; -1 if none */
	uint64_t deadline; /* absolute ns, 0 = not armed */
} vs_devtimer;

int vs_devtimer_init(vs_devtimer *t, vs_err *err);
void vs_devtimer_close(vs_devtimer *t);
uint64_t vs_devtimer_now(void);
/* Fire `ns` from now (at least 1 ns), unless already due sooner. */
void vs_devtimer_arm(vs_devtimer *t, uint64_t ns);
/* After poll said the fd is readable: consume the expiry, disarm.
 * Returns whether it had fired. */
bool vs_devtimer_fired(vs_devtimer *t);

#endif
