/* The devices' throttle timer (devtimer.h). */
#include "vmm/dev/devtimer.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int vs_devtimer_init(vs_devtimer *t, vs_err *err)
{
	t->deadline = 0;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		return vs_fail(err, errno, "create a device timer (timerfd)");
	return 0;
}

void vs_devtimer_close(vs_devtimer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

uint64_t vs_devtimer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vs_devtimer_arm(vs_devtimer *t, uint64_t ns)
{
	uint64_t at = vs_devtimer_now() + (ns ? ns : 1);
	if (t->fd < 0 || (t->deadline && t->deadline <= at))
		return;
	t->deadline = at;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000000ull),
					      .tv_nsec = (long)(at % 1000000000ull)}};
	/* Cannot fail for a valid fd and time; if it did, the next guest
	 * notification would retry the queue. */
	(void)timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

bool vs_devtimer_fired(vs_devtimer *t)
{
	uint64_t n;
	bool fired = read(t->fd, &n, sizeof(n)) == sizeof(n);
	if (fired || (t->deadline && vs_devtimer_now() >= t->deadline))
		t->deadline = 0, fired = true;
	return fired;
}
