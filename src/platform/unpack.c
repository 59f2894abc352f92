#include "platform/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "platform/ops.h"

#define MAX_ENTRIES 1000000

int vsd_tar_name(const char *name, char *out, size_t len, vs_err *err)
{
	if (!name)
		return vs_fail(err, VS_EINVAL_CONFIG, "archive entry without a name");
	if (name[0] == '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "archive entry %.200s: absolute path", name);
	size_t o = 0;
	for (const char *p = name; *p;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return vs_fail(err, VS_EINVAL_CONFIG, "archive entry %.200s: \"..\" leaves the tree", name);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > len)
				return vs_fail(err, ENAMETOOLONG, "archive entry %.200s", name);
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

static int resolve(int root, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
}

/* Deeper trees are refused: each level costs a resolve, and no real image
 * nests this far. */
#define MAX_DEPTH 256

/* Open the directory rel (created as needed, each step resolved in root),
 * one component at a time: a loop, so a hostile archive's depth costs no
 * stack. */
static int open_dir(int root, const char *rel, vs_err *err)
{
	int fd = resolve(root, rel, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : vs_fail(err, errno, "archive entry directory %.200s", rel);
	char path[4096];
	size_t len = strlen(rel);
	if (len >= sizeof(path))
		return vs_fail(err, ENAMETOOLONG, "archive entry directory %.200s", rel);
	memcpy(path, rel, len + 1);
	unsigned depth = 1;
	for (size_t i = 0; i < len; i++)
		depth += path[i] == '/';
	if (depth > MAX_DEPTH)
		return vs_fail(err, VS_EINVAL_CONFIG, "archive entry directory %.200s: more than %d levels deep", rel,
			       MAX_DEPTH);
	int pfd = resolve(root, "", O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return vs_fail(err, errno, "archive root");
	for (size_t i = 0; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];
		path[i] = '\0';
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		fd = resolve(root, path, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(pfd);
				return vs_fail(err, e, "mkdir %.200s", path);
			}
			fd = resolve(root, path, O_PATH | O_DIRECTORY);
			if (fd < 0 && errno == ENOENT) {
				close(pfd);
				return vs_fail(err, VS_EINVAL_CONFIG,
					       "archive entry directory %.200s: a symlink leading out of the tree", rel);
			}
		}
		int e = errno;
		close(pfd);
		if (fd < 0)
			return vs_fail(err, e, "archive entry directory %.200s", path);
		pfd = fd;
		path[i] = saved;
	}
	return pfd;
}

/* Make room for a new entry named base in pfd (tar: a later member replaces). */
static int clear_slot(int pfd, const char *base, bool keep_dir, const char *rel, vs_err *err)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : vs_fail(err, errno, "stat %.200s", rel);
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		if (unlinkat(pfd, base, AT_REMOVEDIR) < 0)
			return vs_fail(err, errno, "replace directory %.200s", rel);
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0)
		return vs_fail(err, errno, "replace %.200s", rel);
	return 0;
}

static int write_data(struct archive *a, int fd, const char *rel, uint64_t *bytes, vs_err *err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		for (size_t done = 0; done < size;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, size - done, off + (off_t)done);
			if (n < 0)
				return vs_fail(err, errno, "write %.200s", rel);
			done += (size_t)n;
		}
		*bytes += size;
	}
	if (r != ARCHIVE_EOF)
		return vs_fail(err, VS_EINVAL_CONFIG, "archive entry %.200s: %s", rel, archive_error_string(a));
	return 0;
}

static int set_owner_mode(int fd, struct archive_entry *e, const char *rel, vs_err *err)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return vs_fail(err, errno, "chown %.200s", rel);
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return vs_fail(err, errno, "chmod %.200s", rel);
	return 0;
}

/* An OCI whiteout member: an overlayfs whiteout (char 0:0) or an opaque dir. */
static int whiteout(int pfd, const char *base, const char *rel, vs_err *err)
{
	if (!strcmp(base, ".wh..wh..opq")) {
		if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0) {
			/* pfd is O_PATH: go through /proc for the xattr. */
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
			if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0)
				return vs_fail(err, errno, "mark %.200s opaque", rel);
		}
		return 0;
	}
	const char *victim = base + 4;
	if (!*victim || clear_slot(pfd, victim, false, rel, err) < 0)
		return *victim ? -1 : vs_fail(err, VS_EINVAL_CONFIG, "archive entry %.200s: empty whiteout", rel);
	if (mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return vs_fail(err, errno, "whiteout %.200s", rel);
	return 0;
}

static int entry(struct archive *a, struct archive_entry *e, int root, unsigned flags, uint64_t *bytes,
		 vs_err *err)
{
	char rel[4096];
	if (vsd_tar_name(archive_entry_pathname(e), rel, sizeof(rel), err) < 0)
		return -1;
	const char *hard = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return vs_fail(err, VS_EINVAL_CONFIG, "archive entry %.200s: %s refused (only files, directories and links)",
			       rel, type == AE_IFCHR || type == AE_IFBLK ? "device node" : "special file");
	if (!*rel)
		return 0; /* "./" itself: the destination exists */
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", rel);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? rel + (slash - parent) + 1 : rel;
	if (slash)
		*slash = '\0';
	int pfd = open_dir(root, slash ? parent : "", err);
	if (pfd < 0)
		return -1;
	int rc = -1, fd = -1;
	if ((flags & VSD_UNPACK_WHITEOUTS) && !strncmp(base, ".wh.", 4)) {
		rc = whiteout(pfd, base, rel, err);
	} else if (hard) {
		char target[4096];
		int tfd = -1;
		struct stat st;
		if (vsd_tar_name(hard, target, sizeof(target), err) < 0) {
			vs_wrap(err, "hard link %.200s", rel);
		} else if ((tfd = resolve(root, target, O_PATH | O_NOFOLLOW)) < 0) {
			vs_fail(err, errno, "hard link %.200s to %.200s", rel, target);
		} else if (fstat(tfd, &st) < 0 || !S_ISREG(st.st_mode)) {
			vs_fail(err, VS_EINVAL_CONFIG, "hard link %.200s to %.200s: not a regular file in the tree", rel, target);
		} else if (clear_slot(pfd, base, false, rel, err) == 0) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", tfd);
			rc = linkat(AT_FDCWD, p, pfd, base, AT_SYMLINK_FOLLOW) < 0
				     ? vs_fail(err, errno, "hard link %.200s", rel) : 0;
		}
		if (tfd >= 0)
			close(tfd);
	} else if (type == AE_IFDIR) {
		int c = clear_slot(pfd, base, true, rel, err);
		if (c >= 0 && (c == 1 || mkdirat(pfd, base, 0700) == 0 || errno == EEXIST) &&
		    (fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
			rc = set_owner_mode(fd, e, rel, err);
		else if (c >= 0)
			vs_fail(err, errno, "mkdir %.200s", rel);
	} else if (type == AE_IFLNK) {
		const char *to = archive_entry_symlink(e);
		if (clear_slot(pfd, base, false, rel, err) < 0) {
		} else if (!to || symlinkat(to, pfd, base) < 0) {
			vs_fail(err, to ? errno : VS_EINVAL_CONFIG, "symlink %.200s", rel);
		} else if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
				    AT_SYMLINK_NOFOLLOW) < 0) {
			vs_fail(err, errno, "chown %.200s", rel);
		} else {
			rc = 0;
		}
	} else {
		if (clear_slot(pfd, base, false, rel, err) < 0) {
		} else if ((fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
			vs_fail(err, errno, "create %.200s", rel);
		} else if (write_data(a, fd, rel, bytes, err) == 0 && set_owner_mode(fd, e, rel, err) == 0) {
			struct timespec t[2] = {{.tv_sec = archive_entry_mtime(e)}, {.tv_sec = archive_entry_mtime(e)}};
			futimens(fd, t);
			rc = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	close(pfd);
	return rc;
}

int vsd_unpack(const char *archive, const char *dest, unsigned flags, uint64_t *bytes, vs_err *err)
{
	uint64_t total = 0;
	int root = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return vs_fail(err, errno, "open %s", dest);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = 0;
	if (archive_read_open_filename(a, archive, 65536) != ARCHIVE_OK) {
		rc = vs_fail(err, VS_EINVAL_CONFIG, "open archive %s: %s", archive, archive_error_string(a));
	} else {
		struct archive_entry *e;
		int r, n = 0;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			if (vsd_op_cancelled()) {
				rc = vs_fail(err, ECANCELED, "archive %s: cancelled", archive);
				break;
			}
			if (++n > MAX_ENTRIES) {
				rc = vs_fail(err, VS_EINVAL_CONFIG, "archive %s: more than %d entries", archive, MAX_ENTRIES);
				break;
			}
			if ((rc = entry(a, e, root, flags, &total, err)) < 0)
				break;
		}
		if (rc == 0 && r != ARCHIVE_EOF)
			rc = vs_fail(err, VS_EINVAL_CONFIG, "archive %s: %s", archive,
				     archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
		if (rc == 0 && n == 0)
			rc = vs_fail(err, VS_EINVAL_CONFIG, "archive %s: empty", archive);
	}
	archive_read_free(a);
	close(root);
	if (bytes)
		*bytes = total;
	return rc;
}
