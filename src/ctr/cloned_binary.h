/* CVE-2019-5736: the runtime binary must not be reachable for writing from a
 * container. Before any process enters a container, vessel switches itself to
 * a sealed view of its binary, so /proc/<pid>/exe of every vessel process a
 * container can see (and /proc/self/exe of the init, which a hostile image
 * can execve, name as its #! or ELF interpreter) is a file nobody can open
 * for writing, and no mapping of such a process is of the host binary:
 *  - a private read-only overlayfs over the binary's directory, created with
 *    fsopen() and never attached to any mount namespace: no copy, and it has
 *    no upper layer, so unlike a read-only bind mount it cannot be made
 *    writable again (runc >= 1.2 does the same);
 *  - else (no overlayfs, not privileged, old kernel) a sealed memfd copy.
 * The switch remaps the image from that file and repoints /proc/self/exe at
 * it (self_image.c), with no second execve; where the kernel refuses that
 * (no CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) the file is executed. */
#ifndef VS_CTR_CLONED_BINARY_H
#define VS_CTR_CLONED_BINARY_H

#include "base/error.h"

typedef enum {
	VS_SEAL_NONE,    /* the plain binary */
	VS_SEAL_OVERLAY, /* a detached read-only overlayfs view of it */
	VS_SEAL_MEMFD,   /* a sealed memfd copy of it */
} vs_seal_kind;

/* Unless the running image is already sealed, switch to this binary sealed
 * (the overlayfs view if this host allows it, else the memfd copy): in place,
 * else by execve with the same argv/envp. Returns 0 when running sealed. */
int vs_ensure_cloned_binary(char **argv, char **envp, vs_err *err);

/* The overlayfs view's mount fd (O_CLOEXEC, closed by every process that
 * enters a container with its other host fds) stays open after the switch:
 * the close that drops it waits for an RCU grace period. This closes it; a
 * command calls it where it waits anyway (run: once the container started),
 * else it goes at exit. */
void vs_sealed_settle(void);

/* How the running image is sealed. */
vs_seal_kind vs_sealed_kind(void);
/* True if the running image is sealed (either kind). */
int vs_is_cloned_binary(void);

/* An O_CLOEXEC fd of the running binary, sealed the given way, for
 * execveat(fd, "", ..., AT_EMPTY_PATH). VS_SEAL_OVERLAY fails with a message
 * when this host cannot give it. */
int vs_sealed_self_open(vs_seal_kind kind, vs_err *err);

#endif
