/* /1.0/instances/{name}/files?path=P (GET pull, POST push; Incus's
 * X-Incus-uid/gid/mode/type/write headers) and /1.0/instances/{name}/logs
 * (the console log the instance's init writes, see instance.c).
 *
 * The instance's files are the container's to shape: every path is
 * resolved inside its rootfs with openat2(RESOLVE_IN_ROOT), so "..", an
 * absolute symlink or one full of ".." stays inside; nothing but regular
 * files and directories is opened (a device node a container made would
 * be the host's device), and a push never writes through a symlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/images.h"
#include "platform/instance.h"

#define PATH_LEN 4096
#define LIST_MAX 100000 /* directory entries in one listing */

static int resolve(int root, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
}

/* The instance's rootfs, mounted if it is not (a never started instance),
 * but not behind the back of an operation on it (a restore unmounts it to
 * swap its upper dir) unless the caller holds the instance busy itself. */
static int open_root(vsd *d, const char *name, bool have_busy, vs_err *err)
{
	char *fp = NULL, *lower = NULL, dir[PATH_MAX], idir[PATH_MAX];
	struct json_object *cfg = NULL;
	const char *a[] = {name};
	struct stat s1, s2;
	if (vsd_path(d, dir, sizeof(dir), err, "instances/%s/rootfs", name) < 0 ||
	    vsd_path(d, idir, sizeof(idir), err, "instances/%s", name) < 0)
		return -1;
	bool mounted = stat(dir, &s1) == 0 && stat(idir, &s2) == 0 && s1.st_dev != s2.st_dev;
	if (!mounted && !have_busy) {
		if (vsd_busy_take(d, name) < 0)
			return vs_fail(err, EBUSY, "instance %s is busy with another operation", name);
		vsd_busy_drop(d, name);
	}
	if (vsd_db_text(d->db, "SELECT fingerprint FROM instances WHERE name = ?1 AND phase = 'ready'", 1, a, &fp, err) < 0)
		return -1;
	if (!fp)
		return vs_fail(err, EBUSY, "instance %s is being created or deleted", name);
	int rc = vsd_image_lower(d, fp, &lower, &cfg, err);
	free(fp);
	json_object_put(cfg);
	if (rc == 0 && !mounted)
		rc = vsd_inst_mount(d, name, lower, err);
	free(lower);
	if (rc < 0)
		return -1;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? vs_fail(err, errno, "open %s", dir) : fd;
}

static int check_path(const char *p, vs_err *err)
{
	if (!p || p[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "path: required, an absolute path (?path=/etc/hostname)");
	if (strlen(p) >= PATH_LEN)
		return vs_fail(err, VS_EINVAL_CONFIG, "path: longer than %d bytes", PATH_LEN - 1);
	return 0;
}

static void meta_headers(vsd_req *r, const struct stat *st, const char *type)
{
	snprintf(r->headers, sizeof(r->headers), "X-Incus-uid: %u\nX-Incus-gid: %u\nX-Incus-mode: %04o\nX-Incus-type: %s\n",
		 (unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777), type);
}

static struct json_object *pull(vsd *d, vsd_req *r, const char *name)
{
	vs_err err = {0};
	if (check_path(r->q_path, &err) < 0)
		return vsd_api_error(&err);
	int root = open_root(d, name, false, &err);
	if (root < 0)
		return vsd_api_error(&err);
	int fd = resolve(root, r->q_path, O_PATH);
	close(root);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		vs_fail(&err, e == ENOENT || e == ENOTDIR || e == ELOOP || e == EXDEV ? ENOENT : e,
			"%s in instance %s: %s", r->q_path, name, e == EXDEV ? "on another filesystem" : strerror(e));
		return vsd_api_error(&err);
	}
	/* Reopen what was checked (an O_PATH fd opens nothing). */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	struct json_object *resp;
	if (S_ISREG(st.st_mode)) {
		int rfd = open(self, O_RDONLY | O_CLOEXEC);
		if (rfd < 0) {
			vs_fail(&err, errno, "read %s in instance %s", r->q_path, name);
			resp = vsd_api_error(&err);
		} else {
			r->has_fd = true;
			r->fd = rfd;
			r->fd_len = (uint64_t)st.st_size;
			meta_headers(r, &st, "file");
			resp = vsd_env_sync(NULL);
		}
	} else if (S_ISDIR(st.st_mode)) {
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *ds = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!ds) {
			if (dfd >= 0)
				close(dfd);
			vs_fail(&err, errno, "list %s in instance %s", r->q_path, name);
			resp = vsd_api_error(&err);
		} else {
			struct json_object *arr = json_object_new_array();
			struct dirent *de;
			for (int n = 0; (de = readdir(ds)) && n < LIST_MAX;)
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
					json_object_array_add(arr, json_object_new_string(de->d_name));
					n++;
				}
			closedir(ds);
			meta_headers(r, &st, "directory");
			resp = vsd_env_sync(arr);
		}
	} else {
		vs_fail(&err, VS_EINVAL_CONFIG, "%s in instance %s: not a regular file or a directory", r->q_path, name);
		resp = vsd_api_error(&err);
	}
	close(fd);
	return resp;
}

/* A decimal id (uid/gid) or an octal mode from a header; dflt if absent. */
static int header_num(const char *v, int base, unsigned long max, unsigned long dflt, const char *what,
		      unsigned long *out, vs_err *err)
{
	*out = dflt;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, base);
	if (!*v || *v == '-' || *v == '+' || *end || errno || n > max)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s \"%.32s\": expected %s up to %lu", what, v,
			       base == 8 ? "an octal mode" : "a number", max);
	*out = n;
	return 0;
}

/* Copy the pushed body into fd. */
static int copy_in(const char *upload, int fd, vs_err *err)
{
	int in = open(upload, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return vs_fail(err, errno, "open %s", upload);
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, buf, (size_t)n) != n)
			rc = vs_fail(err, errno ? errno : EIO, "write the pushed file");
	}
	close(in);
	return rc;
}

/* Open (creating it) the regular file base in parent for writing. */
static int open_target(int parent, const char *base, bool append, mode_t mode, vs_err *err)
{
	for (int tries = 0; tries < 2; tries++) {
		int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : vs_fail(err, errno, "create %s", base);
		int p = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (p < 0)
			continue; /* gone again: create it */
		if (fstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(p);
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: exists and is not a regular file (a symlink is not followed)", base);
		}
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", p);
		fd = open(self, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
		int e = errno;
		close(p);
		return fd >= 0 ? fd : vs_fail(err, e, "open %s", base);
	}
	return vs_fail(err, EAGAIN, "create %s: it keeps changing", base);
}

static struct json_object *push(vsd *d, vsd_req *r, const char *name)
{
	vs_err err = {0};
	unsigned long uid, gid, mode;
	const char *type = r->file.type ? r->file.type : "file", *wr = r->file.write ? r->file.write : "overwrite";
	bool dir = !strcmp(type, "directory");
	snprintf(r->summary, sizeof(r->summary), "push %.100s into instance %s", r->q_path ? r->q_path : "", name);
	if (check_path(r->q_path, &err) < 0 ||
	    header_num(r->file.uid, 10, 4294967294UL, 0, "X-Incus-uid", &uid, &err) < 0 ||
	    header_num(r->file.gid, 10, 4294967294UL, 0, "X-Incus-gid", &gid, &err) < 0 ||
	    header_num(r->file.mode, 8, 07777, dir ? 0755 : 0644, "X-Incus-mode", &mode, &err) < 0)
		return vsd_api_error(&err);
	if ((!dir && strcmp(type, "file")) || (strcmp(wr, "overwrite") && strcmp(wr, "append"))) {
		vs_fail(&err, VS_EINVAL_CONFIG, "X-Incus-type: file or directory; X-Incus-write: overwrite or append");
		return vsd_api_error(&err);
	}
	if (!r->upload) {
		vs_fail(&err, VS_EINVAL_CONFIG, "file push: no body");
		return vsd_api_error(&err);
	}
	char parent[PATH_LEN], base[256];
	size_t len = strlen(r->q_path);
	while (len > 1 && r->q_path[len - 1] == '/')
		len--;
	const char *slash = r->q_path;
	for (size_t i = 0; i < len; i++)
		if (r->q_path[i] == '/')
			slash = r->q_path + i;
	size_t bl = len - (size_t)(slash + 1 - r->q_path);
	if (bl == 0 || bl >= sizeof(base) || (bl == 1 && slash[1] == '.') || (bl == 2 && slash[1] == '.' && slash[2] == '.')) {
		vs_fail(&err, VS_EINVAL_CONFIG, "path %.200s: must name a file (not /, . or ..)", r->q_path);
		return vsd_api_error(&err);
	}
	snprintf(base, sizeof(base), "%.*s", (int)bl, slash + 1);
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - r->q_path), r->q_path);
	if (vsd_busy_take(d, name) < 0) {
		vs_fail(&err, EBUSY, "instance %s is busy with another operation", name);
		return vsd_api_error(&err);
	}
	int root = open_root(d, name, true, &err);
	/* The copy can be long: others may use the daemon meanwhile (the
	 * instance is busy, so nothing stops or deletes it). */
	pthread_mutex_unlock(&d->lock);
	int pfd = root < 0 ? -1 : resolve(root, parent, O_PATH | O_DIRECTORY);
	int rc = root < 0 ? -1 : 0;
	if (rc == 0 && pfd < 0)
		rc = vs_fail(&err, errno == ENOTDIR || errno == ELOOP ? ENOENT : errno, "%s in instance %s: no such directory",
			     parent[0] ? parent : "/", name);
	if (rc == 0 && dir) {
		if (mkdirat(pfd, base, (mode_t)mode) < 0 && errno != EEXIST)
			rc = vs_fail(&err, errno, "mkdir %s", r->q_path);
		int dfd = rc == 0 ? openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (rc == 0 && dfd < 0)
			rc = vs_fail(&err, errno == ELOOP || errno == ENOTDIR ? VS_EINVAL_CONFIG : errno,
				     "%s: exists and is not a directory", r->q_path);
		if (rc == 0 && (fchown(dfd, (uid_t)uid, (gid_t)gid) < 0 || fchmod(dfd, (mode_t)mode) < 0))
			rc = vs_fail(&err, errno, "chown %s", r->q_path);
		if (dfd >= 0)
			close(dfd);
	} else if (rc == 0) {
		int fd = open_target(pfd, base, !strcmp(wr, "append"), (mode_t)mode, &err);
		if (fd < 0)
			rc = -1;
		if (rc == 0)
			rc = copy_in(r->upload, fd, &err);
		if (rc == 0 && (fchown(fd, (uid_t)uid, (gid_t)gid) < 0 || fchmod(fd, (mode_t)mode) < 0))
			rc = vs_fail(&err, errno, "chown %s", r->q_path);
		if (fd >= 0)
			close(fd);
	}
	if (pfd >= 0)
		close(pfd);
	if (root >= 0)
		close(root);
	pthread_mutex_lock(&d->lock);
	vsd_busy_drop(d, name);
	return rc < 0 ? vsd_api_error(&err) : vsd_env_sync(NULL);
}

struct json_object *vsd_api_files(vsd *d, vsd_req *r, const char *name)
{
	if (!strcmp(r->method, "GET"))
		return pull(d, r, name);
	if (!strcmp(r->method, "POST"))
		return push(d, r, name);
	return vsd_env_error(405, "method not allowed");
}

struct json_object *vsd_api_logs(vsd *d, vsd_req *r, const char *name, char **seg, int n)
{
	vs_err err = {0};
	bool get = !strcmp(r->method, "GET");
	if (n == 0) {
		if (!get)
			return vsd_env_error(405, "method not allowed");
		struct json_object *arr = json_object_new_array();
		char url[128];
		snprintf(url, sizeof(url), "/1.0/instances/%s/logs/console.log", name);
		json_object_array_add(arr, json_object_new_string(url));
		return vsd_env_sync(arr);
	}
	if (n != 1 || strcmp(seg[0], "console.log"))
		return vsd_env_error(404, "not found (the log is console.log)");
	char path[PATH_MAX];
	if (vsd_path(d, path, sizeof(path), &err, "instances/%s/console.log", name) < 0)
		return vsd_api_error(&err);
	if (!strcmp(r->method, "DELETE")) {
		snprintf(r->summary, sizeof(r->summary), "clear the console log of instance %s", name);
		if (truncate(path, 0) < 0 && errno != ENOENT) {
			vs_fail(&err, errno, "truncate %s", path);
			return vsd_api_error(&err);
		}
		return vsd_env_sync(NULL);
	}
	if (!get)
		return vsd_env_error(405, "method not allowed");
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno == ENOENT)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* never started: nothing logged */
	if (fd < 0 || fstat(fd, &st) < 0) {
		vs_fail(&err, errno, "open %s", path);
		if (fd >= 0)
			close(fd);
		return vsd_api_error(&err);
	}
	r->has_fd = true;
	r->fd = fd;
	r->fd_len = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	return vsd_env_sync(NULL);
}
