/* Paths made inside a rootfs (mount points, device nodes) and the state dir
 * removed: each case in a fresh temporary directory standing for the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "ctr/devices.h"
#include "ctr/inroot.h"
#include "ctr/state.h"

static char root[64];
static int rootfd = -1;

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vs-rootfs-paths.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return rootfd < 0 ? -1 : 0;
}

static int remove_root(void **state)
{
	(void)state;
	close(rootfd);
	return vs_rmtree(root, NULL);
}

static void at(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", root, rel);
}

static mode_t mode_of(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	at(p, rel);
	return lstat(p, &st) == 0 ? st.st_mode : 0;
}

/* The fd names what was asked for: a new directory under it shows up there. */
static void assert_fd_is(int fd, const char *rel)
{
	char want[PATH_MAX];
	assert_true(fd >= 0);
	struct stat a, b;
	at(want, rel);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(want, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
}

static void test_mkpath_last_missing(void **state)
{
	(void)state;
	char p[PATH_MAX];
	at(p, "dev");
	assert_int_equal(mkdir(p, 0755), 0);
	vs_err err = {0};
	assert_fd_is(vs_inroot_mkpath(rootfd, "/dev/pts", false, &err), "dev/pts");
	assert_true(S_ISDIR(mode_of("dev/pts")));
	/* Again: now it exists. A trailing slash is the same path. */
	assert_fd_is(vs_inroot_mkpath(rootfd, "/dev/pts/", false, &err), "dev/pts");
}

static void test_mkpath_whole_chain_missing(void **state)
{
	(void)state;
	vs_err err = {0};
	assert_fd_is(vs_inroot_mkpath(rootfd, "/a/b/c", false, &err), "a/b/c");
	assert_true(S_ISDIR(mode_of("a/b")));
	assert_fd_is(vs_inroot_mkpath(rootfd, "/a/b/f", true, &err), "a/b/f");
	assert_true(S_ISREG(mode_of("a/b/f")));
}

/* A parent that is an absolute symlink is followed inside the rootfs. */
static void test_mkpath_symlinked_parent_stays_inside(void **state)
{
	(void)state;
	char p[PATH_MAX];
	at(p, "inside");
	assert_int_equal(mkdir(p, 0755), 0);
	at(p, "link");
	assert_int_equal(symlink("/inside", p), 0);
	vs_err err = {0};
	char name[64];
	snprintf(name, sizeof(name), "/link/vs-escape-%d", (int)getpid());
	int fd = vs_inroot_mkpath(rootfd, name, false, &err);
	snprintf(p, sizeof(p), "inside/vs-escape-%d", (int)getpid());
	assert_fd_is(fd, p);
	char host[PATH_MAX];
	snprintf(host, sizeof(host), "/inside/vs-escape-%d", (int)getpid());
	assert_int_equal(access(host, F_OK), -1); /* not on the host */
}

static void test_mkpath_file_in_the_way(void **state)
{
	(void)state;
	char p[PATH_MAX];
	at(p, "f");
	assert_int_equal(vs_write_file(p, "x", 1, 0644, NULL), 0);
	vs_err err = {0};
	assert_int_equal(vs_inroot_mkpath(rootfd, "/f/sub", false, &err), -1);
	assert_int_not_equal(err.code, 0);
}

/* The default nodes in /dev, with their modes whatever the umask, and a stale
 * file an image ships in place of one replaced. Needs CAP_MKNOD. */
static void test_devices_made_and_stale_replaced(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[PATH_MAX];
	at(p, "dev");
	assert_int_equal(mkdir(p, 0755), 0);
	at(p, "dev/null");
	assert_int_equal(vs_write_file(p, "stale", 5, 0600, NULL), 0);
	vs_config cfg = {0};
	mode_t old = umask(077);
	vs_err err = {0};
	int rc = vs_devices_setup(rootfd, &cfg, false, &err);
	umask(old);
	assert_int_equal(rc, 0);
	static const char *const nodes[] = {"dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		mode_t m = mode_of(nodes[i]);
		assert_true(S_ISCHR(m));
		assert_int_equal(m & 07777, 0666);
	}
	struct stat st;
	at(p, "dev/null");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_true(S_ISLNK(mode_of("dev/ptmx")));
	assert_true(S_ISLNK(mode_of("dev/fd")));
}

/* The state dir goes whole: what create leaves there, and anything else. */
static void test_state_remove(void **state)
{
	(void)state;
	static const char *const extra[] = {NULL, "exec.fifo", "state.json.tmp.1"};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		char dir[128], p[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/c%zu", root, i);
		assert_int_equal(mkdir(dir, 0711), 0);
		snprintf(p, sizeof(p), "%s/state.json", dir);
		assert_int_equal(vs_write_file(p, "{}", 2, 0600, NULL), 0);
		snprintf(p, sizeof(p), "%s/config.json", dir);
		assert_int_equal(vs_write_file(p, "{}", 2, 0600, NULL), 0);
		if (extra[i]) {
			snprintf(p, sizeof(p), "%s/%s", dir, extra[i]);
			assert_int_equal(vs_write_file(p, "", 0, 0600, NULL), 0);
		}
		vs_state st = {.dir = dir};
		vs_err err = {0};
		assert_int_equal(vs_state_remove(&st, &err), 0);
		assert_int_equal(access(dir, F_OK), -1);
		assert_int_equal(errno, ENOENT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mkpath_last_missing, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_mkpath_whole_chain_missing, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_mkpath_symlinked_parent_stays_inside, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_mkpath_file_in_the_way, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_devices_made_and_stale_replaced, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_state_remove, make_root, remove_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
