/* CVE-2019-5736: the runtime binary must not be reachable for writing from a
 * container. Before any process enters a container, vessel re-executes itself
 * from a sealed memfd copy, so /proc/<pid>/exe inside the container points to
 * an immutable anonymous file, not to the host binary. */
#ifndef VS_CTR_CLONED_BINARY_H
#define VS_CTR_CLONED_BINARY_H

#include "base/error.h"

/* If the running image is not already a sealed memfd copy, copy
 * /proc/self/exe into one and execve it with the same argv/envp. Returns only
 * on failure (or when already running from the copy, returning 0). */
int vs_ensure_cloned_binary(char **argv, char **envp, vs_err *err);
/* True if the running binary is the sealed copy. */
int vs_is_cloned_binary(void);

#endif
