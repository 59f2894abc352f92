/* A virtio device's own thread (net RX, vsock, balloon statistics, the
 * blk throttle timer), one loop for all of them: started at device
 * creation with every signal blocked (signals are for vCPU threads), it
 * loads its own seccomp list (threads have their own filters, no TSYNC),
 * then sleeps in poll on an eventfd kick plus the device's own descriptors
 * and hands what poll said to the device, until stopped.
 *
 * Both callbacks run under the transport lock, the lock
 * vs_virtio_freeze_all flips t->frozen under: once a freeze returns, no
 * device thread is inside guest memory, and each sees vs_vmmio_running()
 * false until the thaw, which calls the device's driver_ok to take held
 * queues up and kick the thread. A device's run must check
 * vs_vmmio_running() before it touches a queue. */
#ifndef VS_VMM_DEV_DEVTHREAD_H
#define VS_VMM_DEV_DEVTHREAD_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>

#include "base/error.h"
#include "vmm/dev/virtio_mmio.h"

/* The most descriptors a device waits on besides the kick (the vsock host
 * side's listener and connections, VS_VSOCK_POLL_MAX, need the most). */
#define VS_DEVTHREAD_MAX_FDS 80

/* Which seccomp list the thread loads (vmm/jail.h). */
typedef enum vs_devthread_list {
	VS_DEVTHREAD_VMM_LIST,   /* vs_jail_apply_self + vs_virtio_syscalls() */
	VS_DEVTHREAD_VSOCK_LIST, /* vs_jail_apply_vsock */
} vs_devthread_list;

typedef struct vs_devthread_ops {
	const char *name; /* e.g. "RX thread", for errors */
	vs_devthread_list list;
	/* Optional, lock held: the device's descriptors to wait on (at most
	 * VS_DEVTHREAD_MAX_FDS) into p, returns how many; *timeout_ms (poll's,
	 * -1 on entry) may be set. */
	unsigned (*prepare)(vs_vmmio *t, struct pollfd *p, int *timeout_ms);
	/* Lock held, not stopping: after poll returned `polled` (0: timed
	 * out), with p and n as prepared and their revents. */
	void (*run)(vs_vmmio *t, const struct pollfd *p, unsigned n, int polled);
} vs_devthread_ops;

/* Zero-initialised (calloc) it is "no thread": kick and stop do nothing. */
typedef struct vs_devthread {
	vs_vmmio *t;
	const vs_devthread_ops *ops;
	int kick; /* eventfd, non-blocking; valid while started */
	pthread_t thread;
	bool jail, started;
	bool stop; /* under t->lock */
} vs_devthread;

/* Create the kick and start the thread on t (its priv is the device's);
 * with jail the thread loads ops->list first (should that fail it ends,
 * and the device does without it). Call before the device is attached. */
int vs_devthread_start(vs_devthread *d, vs_vmmio *t, const vs_devthread_ops *ops, bool jail, vs_err *err);
/* Wake the thread (any thread, lock held or not). */
void vs_devthread_kick(vs_devthread *d);
/* Stop and join the thread, close the kick. Lock not held. */
void vs_devthread_stop(vs_devthread *d);

#endif
