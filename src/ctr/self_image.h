/* Repoint this process's image and /proc/self/exe at another file holding
 * the same bytes as the running binary, without execve (cloned_binary.c
 * uses it to run from a sealed view of vessel). */
#ifndef VS_CTR_SELF_IMAGE_H
#define VS_CTR_SELF_IMAGE_H

#include "base/error.h"

/* fd: open for reading, content identical to the running main program (the
 * caller checks that: a different file would be mapped over our code).
 * Single-threaded callers only. Needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
 * (PR_SET_MM_MAP); on failure the process still runs (every mapping it
 * changed has the same bytes) but /proc/self/exe may still be the old file. */
int vs_self_image_replace(int fd, vs_err *err);

#endif
