/* linux.seccomp via libseccomp. */
#ifndef VS_CTR_SECCOMP_H
#define VS_CTR_SECCOMP_H

#include "base/error.h"
#include "oci/config.h"

/* Build and load the filter on the calling thread. Syscall names this
 * libseccomp/kernel does not know are skipped (with a debug log), not fatal.
 * With an SCMP_ACT_NOTIFY rule, *notify_fd receives the listener fd (else -1). */
int vs_seccomp_load(const vs_seccomp *sc, int *notify_fd, vs_err *err);
/* Validate without loading (names of actions/archs/flags), for `create` to
 * fail early before any namespace exists. */
int vs_seccomp_check(const vs_seccomp *sc, vs_err *err);

#endif
