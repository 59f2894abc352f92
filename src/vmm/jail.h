/* Seccomp jails for the VMM once set-up is done, one per kind of thread,
 * as Firecracker has: the VMM thread and each vCPU thread get the VMM list
 * (the vCPU loop, the console, the devices: ioctl only with KVM_RUN /
 * KVM_IRQ_LINE / terminal requests), the API thread a smaller one (socket
 * I/O, kicking vCPUs for a pause, KVM_IRQ_LINE for a key press). Anything
 * else kills the process (SIGSYS); open/openat fail with EACCES. */
#ifndef VS_VMM_JAIL_H
#define VS_VMM_JAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* The VMM list plus `extra` syscall numbers (device code; may be NULL), on
 * the calling thread only (and threads it creates later). */
int vs_jail_apply_self(const int *extra, size_t n_extra, vs_err *err);
/* The VMM (owner) thread's: the same plus what a snapshot takes (the
 * KVM_GET_* state ioctls, the dirty log, pwrite/ftruncate/fdatasync). */
int vs_jail_apply_vmm(const int *extra, size_t n_extra, vs_err *err);
/* The API thread's list, on the calling thread only. */
int vs_jail_apply_api(vs_err *err);
/* The virtio-vsock thread's list (AF_UNIX sockets, KVM_IRQ_LINE), on the
 * calling thread only. */
int vs_jail_apply_vsock(vs_err *err);

/* The migration thread's list (its stream socket: AF_UNIX/AF_INET/AF_INET6;
 * KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION), on the calling thread. */
int vs_jail_apply_migrate(vs_err *err);

#endif
