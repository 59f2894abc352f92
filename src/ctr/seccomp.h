/* linux.seccomp via libseccomp. */
#ifndef VS_CTR_SECCOMP_H
#define VS_CTR_SECCOMP_H

#include "base/error.h"
#include "oci/config.h"

/* Build and load the filter on the calling thread. Syscall names this
 * libseccomp/kernel does not know are skipped (with a debug log), not fatal.
 * With an SCMP_ACT_NOTIFY rule, *notify_fd receives the listener fd (else -1). */
int vs_seccomp_load(const vs_seccomp *sc, int *notify_fd, vs_err *err);
/* The same in two halves, so that as little as possible runs under the
 * filter: compile (allocates, may fail with a message) long before, install
 * (the load itself) just before execve. An installed filter is not freed:
 * freeing could call a syscall the filter denies, and execve drops it. */
typedef struct vs_seccomp_filter vs_seccomp_filter;
int vs_seccomp_compile(const vs_seccomp *sc, vs_seccomp_filter **out, vs_err *err);
int vs_seccomp_install(vs_seccomp_filter *f, vs_err *err);
void vs_seccomp_filter_free(vs_seccomp_filter *f);
/* Validate without loading (names of actions/archs/flags), for `create` to
 * fail early before any namespace exists. */
int vs_seccomp_check(const vs_seccomp *sc, vs_err *err);

#endif
