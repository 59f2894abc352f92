/* Seccomp jail for the VMM once set-up is done: only the system calls the
 * vCPU loop, the console and the devices use at run time are allowed,
 * ioctl only with KVM_RUN / KVM_IRQ_LINE / terminal requests. Anything else
 * kills the process (SIGSYS). Applied to every thread (TSYNC). */
#ifndef VS_VMM_JAIL_H
#define VS_VMM_JAIL_H

#include <stddef.h>

#include "base/error.h"

/* extra: more syscall numbers to allow (device code), may be NULL. */
int vs_jail_apply(const int *extra, size_t n_extra, vs_err *err);

#endif
