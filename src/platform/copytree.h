/* Copying a directory tree an instance wrote (an overlay upper dir) for
 * snapshots and their restore. The tree is untrusted: every step is
 * relative to an open directory fd and never follows a symlink, so a link
 * planted in the tree cannot send the copy (or its source) anywhere else.
 * Kept: file types including overlayfs whiteouts (0/0 character devices),
 * modes, owners, times, extended attributes (trusted.overlay.* too), hard
 * links within the tree; regular files are reflinked (FICLONE) where the
 * filesystem can, else copied with copy_file_range. */
#ifndef VSD_COPYTREE_H
#define VSD_COPYTREE_H

#include "base/error.h"

#define VSD_COPY_DEPTH 256 /* deeper trees are refused, not copied in part */

/* Copy the tree at src into dst, which must not exist (it is made with
 * src's mode). On error the caller removes dst. */
int vsd_copytree(const char *src, const char *dst, vs_err *err);

#endif
