#include "ctr/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *vs_fd_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/* EAGAIN means a rename or mount somewhere on the host raced a ".." step
 * of the lookup: the kernel refuses to guess and asks us to try again.
 * Bounded, so a host renaming in a loop fails the mount (EAGAIN) rather
 * than hanging it; never a fallback to a lookup that could escape. */
#define INROOT_TRIES 128

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	int fd = -1;
	for (int i = 0; i < INROOT_TRIES; i++) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (i >= 8)
			sched_yield(); /* let the renamer finish its step */
	}
	return fd;
}

int vs_inroot_open(int rootfd, const char *path, int flags, vs_err *err)
{
	while (*path == '/')
		path++;
	int fd = openat2_in_root(rootfd, *path ? path : ".", flags);
	if (fd < 0)
		vs_fail(err, errno, "open %s in rootfs", path);
	return fd;
}

int vs_inroot_mkpath(int rootfd, const char *path, bool as_file, vs_err *err)
{
	char buf[4096], sofar[4096] = "";
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return vs_fail(err, ENAMETOOLONG, "path %s", path);
	/* Mostly it is all there: one lookup, the same the walk would end with. */
	int fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return vs_fail(err, errno, "open %s in rootfs", path);
	/* Then mostly only the last component is missing: start from its
	 * parent (a mount point under /dev, say), else from the root. */
	size_t used = 0, end = strlen(buf);
	bool missing = false;
	while (end > 0 && buf[end - 1] == '/')
		buf[--end] = 0;
	char *last = strrchr(buf, '/');
	if (last && last > buf) {
		*last = 0;
		fd = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
		if (fd >= 0) {
			used = (size_t)snprintf(sofar, sizeof(sofar), "%s", buf);
			memmove(buf, last + 1, strlen(last + 1) + 1);
			missing = true; /* the lookup of the whole path said so */
		} else {
			*last = '/';
		}
	}
	if (fd < 0)
		fd = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return vs_fail(err, errno, "open rootfs");
	char *save = NULL;
	for (char *comp = strtok_r(buf, "/", &save); comp;) {
		char *next = strtok_r(NULL, "/", &save);
		int w = snprintf(sofar + used, sizeof(sofar) - used, "/%s", comp);
		if (w < 0 || (size_t)w >= sizeof(sofar) - used) {
			close(fd);
			return vs_fail(err, ENAMETOOLONG, "path %s", path);
		}
		used += (size_t)w;
		/* Each prefix is resolved from the rootfs again, so a symlink met on the
		 * way is followed inside the rootfs, never out of it. */
		int child = -1;
		if (missing && !next)
			errno = ENOENT;
		else
			child = openat2_in_root(rootfd, sofar, O_PATH);
		if (child < 0 && errno == ENOENT) {
			int rc;
			if (!next && as_file) {
				int f = openat(fd, comp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
				rc = f < 0 ? -1 : close(f);
			} else {
				rc = mkdirat(fd, comp, 0755);
			}
			if (rc < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return vs_fail(err, e, "create %s in rootfs", sofar);
			}
			child = openat2_in_root(rootfd, sofar, O_PATH);
		}
		if (child < 0) {
			int e = errno;
			close(fd);
			return vs_fail(err, e, "open %s in rootfs", sofar);
		}
		close(fd);
		fd = child;
		comp = next;
	}
	return fd;
}
