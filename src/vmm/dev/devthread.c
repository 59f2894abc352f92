/* The virtio devices' thread loop (devthread.h). */
#include "vmm/dev/devthread.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/jail.h"

static int jail_self(vs_devthread_list list)
{
	vs_err err = {0};
	if (list == VS_DEVTHREAD_VSOCK_LIST)
		return vs_jail_apply_vsock(&err);
	size_t n = 0;
	const int *calls = vs_virtio_syscalls(&n);
	return vs_jail_apply_self(calls, n, &err);
}

static void *loop(void *arg)
{
	vs_devthread *d = arg;
	vs_vmmio *t = d->t;
	if (d->jail && jail_self(d->ops->list) < 0)
		return NULL;
	struct pollfd p[1 + VS_DEVTHREAD_MAX_FDS];
	for (;;) {
		int timeout = -1;
		unsigned n = 0;
		p[0] = (struct pollfd){.fd = d->kick, .events = POLLIN};
		pthread_mutex_lock(&t->lock);
		if (d->ops->prepare)
			n = d->ops->prepare(t, p + 1, &timeout);
		pthread_mutex_unlock(&t->lock);
		int r = poll(p, 1 + n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			ssize_t got = read(d->kick, &v, sizeof(v));
			(void)got; /* only the wake-up counts */
		}
		pthread_mutex_lock(&t->lock);
		bool stop = d->stop;
		if (!stop)
			d->ops->run(t, p + 1, n, r);
		pthread_mutex_unlock(&t->lock);
		if (stop)
			break;
	}
	return NULL;
}

int vs_devthread_start(vs_devthread *d, vs_vmmio *t, const vs_devthread_ops *ops, bool jail, vs_err *err)
{
	*d = (vs_devthread){.t = t, .ops = ops, .jail = jail};
	d->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick < 0)
		return vs_fail(err, errno, "%s: create eventfd", t->ops->name);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&d->thread, NULL, loop, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(d->kick);
		d->kick = -1;
		return vs_fail(err, rc, "%s: start the %s", t->ops->name, ops->name);
	}
	d->started = true;
	return 0;
}

void vs_devthread_kick(vs_devthread *d)
{
	if (!d->started)
		return;
	uint64_t one = 1;
	ssize_t r = write(d->kick, &one, sizeof(one));
	(void)r; /* a full counter already means "wake up" */
}

void vs_devthread_stop(vs_devthread *d)
{
	if (!d->started)
		return;
	pthread_mutex_lock(&d->t->lock);
	d->stop = true;
	pthread_mutex_unlock(&d->t->lock);
	vs_devthread_kick(d);
	pthread_join(d->thread, NULL);
	close(d->kick);
	d->kick = -1;
	d->started = false;
}
