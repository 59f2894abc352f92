/* Unpacking an untrusted tar (optionally compressed) into a fresh
 * directory, safely: absolute names and ".." are refused, every lookup
 * stays inside the tree (openat2 RESOLVE_IN_ROOT, so a symlink in the
 * archive cannot send a later entry outside), device nodes, FIFOs and
 * sockets are refused, hard links must name a regular file inside the
 * tree. On error the caller removes the directory: nothing is kept. */
#ifndef VSD_UNPACK_H
#define VSD_UNPACK_H

#include <stdint.h>

#include "base/error.h"

enum {
	/* An OCI layer: ".wh.NAME" becomes an overlayfs whiteout of NAME,
	 * ".wh..wh..opq" makes its directory opaque. */
	VSD_UNPACK_WHITEOUTS = 1 << 0,
};

/* Unpack archive into dest (an existing empty directory). *bytes (may
 * be NULL) gets the total size of regular files. */
int vsd_unpack(const char *archive, const char *dest, unsigned flags, uint64_t *bytes, vs_err *err);

/* A tar member name -> a clean relative path in out ("./a//b" -> "a/b",
 * "." -> ""); -1 for absolute names and ".." components. Pure. */
int vsd_tar_name(const char *name, char *out, size_t len, vs_err *err);

#endif
