#include "platform/copytree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_VALUE_MAX_ 65536 /* the kernel's XATTR_SIZE_MAX */

typedef struct link_seen {
	dev_t dev;
	ino_t ino;
	char *rel; /* its copy, relative to dst */
} link_seen;

typedef struct copy_ctx {
	int dst_root;
	link_seen *links;
	size_t nlinks;
	char rel[4096]; /* the entry being copied, for messages and links */
	vs_err *err;
} copy_ctx;

/* "/proc/self/fd/D/name": name (one component) under an open directory,
 * for the l*xattr calls, which have no *at form. */
static const char *at(int dfd, const char *name, char buf[4200])
{
	snprintf(buf, 4200, "/proc/self/fd/%d/%s", dfd, name);
	return buf;
}

static int fail(copy_ctx *c, int e, const char *what)
{
	return vs_fail(c->err, e, "copy %.256s%s: %s", c->rel[0] ? c->rel : ".", strlen(c->rel) > 256 ? "..." : "", what);
}

/* Extended attributes of sdfd/name onto ddfd/name (no symlink followed). */
static int copy_xattrs(copy_ctx *c, int sdfd, int ddfd, const char *name)
{
	char sp[4200], dp[4200];
	char list[4096];
	ssize_t n = llistxattr(at(sdfd, name, sp), list, sizeof(list));
	if (n < 0)
		return errno == ENOTSUP ? 0 : fail(c, errno, "list extended attributes");
	if (n == 0)
		return 0;
	at(ddfd, name, dp);
	char *val = malloc(XATTR_VALUE_MAX_);
	if (!val)
		return fail(c, ENOMEM, "extended attributes");
	int rc = 0;
	for (ssize_t off = 0; rc == 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *key = list + off;
		ssize_t vl = lgetxattr(sp, key, val, XATTR_VALUE_MAX_);
		if (vl < 0)
			rc = fail(c, errno, "read extended attribute");
		else if (lsetxattr(dp, key, val, (size_t)vl, 0) < 0)
			rc = fail(c, errno, "write extended attribute");
	}
	free(val);
	return rc;
}

static int copy_data(copy_ctx *c, int in, int out, off_t size)
{
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	for (off_t left = size; left > 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) && left == size)
			goto plain; /* not on this filesystem */
		if (n < 0)
			return fail(c, errno, "copy_file_range");
		if (n == 0)
			return 0; /* shorter than it was: copy what is there */
		left -= n;
	}
	return 0;
plain:;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return fail(c, errno ? errno : EIO, "write");
	return n < 0 ? fail(c, errno, "read") : 0;
}

/* A hard link to a file already copied: link it instead (1), or 0. */
static int linked(copy_ctx *c, const struct stat *st, int ddfd, const char *name)
{
	if (st->st_nlink < 2)
		return 0;
	for (size_t i = 0; i < c->nlinks; i++)
		if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
			return linkat(c->dst_root, c->links[i].rel, ddfd, name, 0) < 0 ? fail(c, errno, "link") : 1;
	link_seen *g = realloc(c->links, sizeof(*g) * (c->nlinks + 1));
	if (!g)
		return fail(c, ENOMEM, "hard link table");
	c->links = g;
	c->links[c->nlinks] = (link_seen){st->st_dev, st->st_ino, strdup(c->rel)};
	if (!c->links[c->nlinks].rel)
		return fail(c, ENOMEM, "hard link table");
	c->nlinks++;
	return 0;
}

static int copy_file(copy_ctx *c, int sdfd, int ddfd, const char *name, const struct stat *st)
{
	int in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return fail(c, errno, "open");
	struct stat now;
	if (fstat(in, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino) {
		close(in);
		return fail(c, ESTALE, "changed while being copied");
	}
	int out = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return fail(c, errno, "create");
	}
	int rc = copy_data(c, in, out, now.st_size);
	if (rc == 0 && fchown(out, st->st_uid, st->st_gid) < 0)
		rc = fail(c, errno, "chown");
	if (rc == 0 && fchmod(out, st->st_mode & 07777) < 0)
		rc = fail(c, errno, "chmod");
	close(in);
	close(out);
	return rc;
}

static int copy_dir(copy_ctx *c, int sdfd, int ddfd, int depth);

static int copy_entry(copy_ctx *c, int sdfd, int ddfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, errno, "stat");
	int rc = 0;
	if (S_ISDIR(st.st_mode)) {
		if (depth >= VSD_COPY_DEPTH)
			return fail(c, VS_EINVAL_CONFIG, "more than 256 directory levels");
		int s = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return fail(c, errno, "open directory");
		if (mkdirat(ddfd, name, 0700) < 0) {
			close(s);
			return fail(c, errno, "mkdir");
		}
		int dd = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = dd < 0 ? fail(c, errno, "open new directory") : copy_dir(c, s, dd, depth + 1);
		if (rc == 0 && (fchown(dd, st.st_uid, st.st_gid) < 0 || fchmod(dd, st.st_mode & 07777) < 0))
			rc = fail(c, errno, "chown/chmod");
		if (dd >= 0)
			close(dd);
	} else if (S_ISREG(st.st_mode)) {
		rc = linked(c, &st, ddfd, name);
		if (rc != 0)
			return rc < 0 ? -1 : 0; /* linked: its attributes are the first copy's */
		rc = copy_file(c, sdfd, ddfd, name, &st);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sdfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(c, errno, "readlink");
		target[n] = '\0';
		if (symlinkat(target, ddfd, name) < 0 || fchownat(ddfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c, errno, "symlink");
	} else {
		/* Whiteouts (0/0 character devices), FIFOs, sockets, device nodes. */
		if (mknodat(ddfd, name, st.st_mode, st.st_rdev) < 0 ||
		    fchownat(ddfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c, errno, "mknod");
	}
	if (rc == 0)
		rc = copy_xattrs(c, sdfd, ddfd, name);
	struct timespec t[2] = {st.st_atim, st.st_mtim};
	if (rc == 0 && utimensat(ddfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		rc = fail(c, errno, "set times");
	return rc;
}

static int copy_dir(copy_ctx *c, int sdfd, int ddfd, int depth)
{
	int dup_fd = dup(sdfd);
	DIR *ds = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!ds) {
		if (dup_fd >= 0)
			close(dup_fd);
		close(sdfd);
		return fail(c, errno, "read directory");
	}
	size_t base = strlen(c->rel);
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while (rc == 0 && (de = readdir(ds))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(c->rel + base, sizeof(c->rel) - base, "%s%s", base ? "/" : "", de->d_name) >=
		    sizeof(c->rel) - base) {
			c->rel[base] = '\0';
			rc = fail(c, ENAMETOOLONG, "path too long");
			break;
		}
		rc = copy_entry(c, sdfd, ddfd, de->d_name, depth);
		c->rel[base] = '\0';
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = fail(c, errno, "read directory");
	closedir(ds);
	close(sdfd);
	return rc;
}

int vsd_copytree(const char *src, const char *dst, vs_err *err)
{
	copy_ctx c = {.err = err};
	int s = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0)
		return vs_fail(err, errno, "copy %s: open", src);
	struct stat st;
	if (fstat(s, &st) < 0 || mkdir(dst, 0700) < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "copy %s to %s", src, dst);
	}
	c.dst_root = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.dst_root < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "open %s", dst);
	}
	int rc = copy_dir(&c, s, c.dst_root, 0);
	if (rc == 0 && (fchown(c.dst_root, st.st_uid, st.st_gid) < 0 || fchmod(c.dst_root, st.st_mode & 07777) < 0))
		rc = vs_fail(err, errno, "chmod %s", dst);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].rel);
	free(c.links);
	close(c.dst_root);
	if (rc < 0)
		return vs_wrap(err, "copy %s to %s", src, dst);
	return 0;
}
