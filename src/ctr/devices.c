#include "ctr/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctr/inroot.h"

static const vs_device default_devices[] = {
	{.path = "/dev/null", .type = 'c', .major = 1, .minor = 3},
	{.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5},
	{.path = "/dev/full", .type = 'c', .major = 1, .minor = 7},
	{.path = "/dev/random", .type = 'c', .major = 1, .minor = 8},
	{.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9},
	{.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0},
};

static int bind_host_device(int rootfd, const vs_device *d, vs_err *err)
{
	int fd = vs_inroot_mkpath(rootfd, d->path, true, err);
	if (fd < 0)
		return -1;
	char target[32];
	int rc = 0;
	if (mount(d->path, vs_fd_path(fd, target), NULL, MS_BIND, NULL) < 0)
		rc = vs_fail(err, errno, "bind mount device %s", d->path);
	close(fd);
	return rc;
}

/* The directory that the last device went into, kept open for the next
 * (all of the default ones are in /dev): each lookup is three syscalls. */
typedef struct {
	char path[4096];
	int fd;
} dir_cache;

static int device_dir(int rootfd, dir_cache *c, const char *parent, const char *dev, vs_err *err)
{
	if (c->fd >= 0 && !strcmp(c->path, parent))
		return c->fd;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	int dirfd = vs_inroot_mkpath(rootfd, parent, false, err);
	if (dirfd < 0)
		return -1;
	/* O_PATH fds cannot be used with mknodat: reopen the directory. */
	char dpath[32];
	c->fd = open(vs_fd_path(dirfd, dpath), O_DIRECTORY | O_CLOEXEC);
	close(dirfd);
	if (c->fd < 0)
		return vs_fail(err, errno, "open parent of %s", dev);
	snprintf(c->path, sizeof(c->path), "%s", parent);
	return c->fd;
}

static int make_device(int rootfd, dir_cache *c, const vs_device *d, bool in_userns, vs_err *err)
{
	if (in_userns)
		return bind_host_device(rootfd, d, err);
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", d->path);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? slash + 1 : parent;
	if (slash)
		*slash = 0;
	int real = device_dir(rootfd, c, slash && *parent ? parent : "/", d->path, err);
	if (real < 0)
		return -1;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	dev_t rdev = makedev((unsigned)d->major, (unsigned)d->minor);
	int rc = mknodat(real, name, type | perm, rdev);
	/* An image may ship a stale node or file there: replace it. */
	if (rc < 0 && errno == EEXIST && unlinkat(real, name, 0) == 0)
		rc = mknodat(real, name, type | perm, rdev);
	if (rc < 0)
		return vs_fail(err, errno, "mknod %s", d->path);
	if (fchmodat(real, name, perm, 0) < 0) /* a default ACL, not the umask, may have narrowed it */
		return vs_fail(err, errno, "chmod %s", d->path);
	if ((d->has_uid || d->has_gid) &&
	    fchownat(real, name, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0)
		return vs_fail(err, errno, "chown %s", d->path);
	return 0;
}

static void make_links(int rootfd, dir_cache *c)
{
	static const char *links[][2] = {
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
	};
	int real = c->fd >= 0 && !strcmp(c->path, "/dev") ? c->fd : -1;
	if (real < 0) {
		int dev = vs_inroot_open(rootfd, "/dev", O_PATH | O_DIRECTORY, NULL);
		if (dev < 0)
			return;
		char p[32];
		real = open(vs_fd_path(dev, p), O_DIRECTORY | O_CLOEXEC);
		close(dev);
		if (real < 0)
			return;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (!strcmp(links[i][1], "ptmx"))
			unlinkat(real, "ptmx", 0); /* replace a device node with the devpts link */
		if (symlinkat(links[i][0], real, links[i][1]) < 0 && errno != EEXIST) {
			/* best effort, like runc: an image may already provide them */
		}
	}
	if (real != c->fd)
		close(real);
}

static bool dev_is_bind_mounted(const vs_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (!strcmp(cfg->mounts[i].destination, "/dev") && cfg->mounts[i].is_bind)
			return true;
	return false;
}

int vs_devices_setup(int rootfd, const vs_config *cfg, bool in_userns, vs_err *err)
{
	if (dev_is_bind_mounted(cfg))
		return 0; /* the user brought their own /dev */
	mode_t old = umask(0);
	int rc = 0;
	dir_cache c = {.fd = -1};
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]) && rc == 0; i++)
		rc = make_device(rootfd, &c, &default_devices[i], in_userns, err);
	for (size_t i = 0; i < cfg->linux_.n_devices && rc == 0; i++)
		rc = make_device(rootfd, &c, &cfg->linux_.devices[i], in_userns, err);
	umask(old);
	if (rc == 0)
		make_links(rootfd, &c);
	if (c.fd >= 0)
		close(c.fd);
	return rc < 0 ? vs_wrap(err, "create devices") : 0;
}
