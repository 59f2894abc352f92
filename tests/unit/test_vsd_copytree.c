/* vesseld's tree copy for snapshots (platform/copytree.c) on a tree an
 * instance could have written: file types (whiteouts, FIFOs, symlinks,
 * hard links), owners, modes, times, extended attributes, and links that
 * point out of the tree, which are copied as links, never followed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "platform/copytree.h"

static char top[64], src[128], dst[128];

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/vsd-copytree.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(src, sizeof(src), "%s/src", top);
	snprintf(dst, sizeof(dst), "%s/dst", top);
	assert_int_equal(mkdir(src, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vs_rmtree(top, NULL);
	return 0;
}

static void put(const char *rel, const char *data, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", src, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	chmod(p, mode);
}

static void at(char *buf, size_t len, const char *base, const char *rel)
{
	snprintf(buf, len, "%s/%s", base, rel);
}

static void test_types_and_attributes(void **state)
{
	(void)state;
	char p[256], q[256], t[256];
	at(p, sizeof(p), src, "d");
	assert_int_equal(mkdir(p, 0750), 0);
	put("d/file", "hello", 04755);
	at(p, sizeof(p), src, "d/file");
	assert_int_equal(chown(p, 1000, 1001), 0);
	assert_int_equal(chmod(p, 04755), 0); /* chown drops setuid */
	assert_int_equal(setxattr(p, "user.k", "v", 1, 0), 0);
	struct timespec times[2] = {{1000000, 0}, {2000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	at(q, sizeof(q), src, "d/hard");
	assert_int_equal(link(p, q), 0);
	at(p, sizeof(p), src, "wh");
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0); /* an overlayfs whiteout */
	at(p, sizeof(p), src, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	at(p, sizeof(p), src, "passwd");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	at(p, sizeof(p), src, "up");
	assert_int_equal(symlink("/", p), 0);
	at(p, sizeof(p), src, "d");
	bool trusted = setxattr(p, "trusted.overlay.opaque", "y", 1, 0) == 0; /* needs root and a filesystem with it */

	vs_err err = {0};
	assert_int_equal(vsd_copytree(src, dst, &err), 0);
	struct stat st, st2;
	at(p, sizeof(p), dst, "d/file");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtim.tv_sec, 2000000);
	char v[8] = "";
	assert_int_equal(getxattr(p, "user.k", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'v');
	char *data;
	size_t len;
	assert_int_equal(vs_read_file(p, &data, &len, NULL), 0);
	assert_string_equal(data, "hello");
	free(data);
	at(q, sizeof(q), dst, "d/hard");
	assert_int_equal(stat(q, &st2), 0);
	assert_true(st.st_ino == st2.st_ino); /* still one file */
	at(p, sizeof(p), dst, "d");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	if (trusted)
		assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	at(p, sizeof(p), dst, "wh");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	at(p, sizeof(p), dst, "fifo");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	at(p, sizeof(p), dst, "passwd");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	assert_true(n > 0);
	t[n] = '\0';
	assert_string_equal(t, "/etc/passwd");
	at(p, sizeof(p), dst, "up");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* "/" not copied through it */
}

static void test_refusals(void **state)
{
	(void)state;
	vs_err err = {0};
	/* The destination must not exist: nothing is merged into another tree. */
	assert_int_equal(mkdir(dst, 0700), 0);
	assert_int_equal(vsd_copytree(src, dst, &err), -1);
	assert_int_equal(err.code, EEXIST);
	rmdir(dst);
	/* A source that is a symlink to a directory is not followed. */
	char link[256];
	at(link, sizeof(link), top, "srclink");
	assert_int_equal(symlink(src, link), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vsd_copytree(link, dst, &err), -1);
	assert_true(err.code == ENOTDIR || err.code == ELOOP); /* O_NOFOLLOW | O_DIRECTORY */
	/* Deeper than VSD_COPY_DEPTH: refused, not a stack overflow. */
	char p[4096];
	size_t o = (size_t)snprintf(p, sizeof(p), "%s", src);
	for (int i = 0; i < VSD_COPY_DEPTH + 5; i++) {
		o += (size_t)snprintf(p + o, sizeof(p) - o, "/a");
		if (mkdir(p, 0755) < 0 && errno == ENAMETOOLONG)
			break;
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(vsd_copytree(src, dst, &err), -1);
	assert_non_null(strstr(err.msg, "256 directory levels"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_types_and_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
