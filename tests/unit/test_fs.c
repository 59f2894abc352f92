/* base/fs.c: files a user names are read with a cap and never block
 * (config.json -> /dev/zero grew the runtime to 1.3 GB, a FIFO hung it),
 * and a path that does not fit is refused instead of truncated. */
#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vessel-fs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/f", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return vs_rmtree(dir, NULL);
}

static void test_regular_file_is_read_whole(void **state)
{
	(void)state;
	vs_err err = {0};
	assert_int_equal(vs_write_file(path, "{\"a\":1}", 7, 0600, &err), 0);
	char *buf;
	size_t len;
	assert_int_equal(vs_read_regular(path, 7, &buf, &len, &err), 0); /* exactly the cap is fine */
	assert_int_equal(len, 7);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);
	unlink(path);
}

/* The first write creates the file, later ones swap the new content in:
 * each time only the file itself is left in the directory, with the mode
 * asked for. */
static void test_atomic_write_replaces_and_leaves_nothing_behind(void **state)
{
	(void)state;
	vs_err err = {0};
	const char *v[] = {"first", "second, longer", "3"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vs_write_file_atomic(path, v[i], strlen(v[i]), 0640, &err), 0);
		char *buf;
		size_t len;
		assert_int_equal(vs_read_regular(path, 64, &buf, &len, &err), 0);
		assert_string_equal(buf, v[i]);
		free(buf);
		struct stat sb;
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0640);
		DIR *d = opendir(dir);
		assert_non_null(d);
		int entries = 0;
		for (struct dirent *de; (de = readdir(d));)
			entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		closedir(d);
		assert_int_equal(entries, 1);
	}
	unlink(path);
}

static void test_fifo_is_refused_without_blocking(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(path, 0600), 0);
	vs_err err = {0};
	char *buf = NULL;
	/* If this blocked, the test would hang: there is no writer. */
	assert_int_equal(vs_read_regular(path, VS_CONFIG_MAX, &buf, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
	assert_null(buf);
	unlink(path);
}

static void test_device_and_directory_are_refused(void **state)
{
	(void)state;
	vs_err err = {0};
	char *buf = NULL;
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(vs_read_regular(path, VS_CONFIG_MAX, &buf, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file (a character device)"));
	unlink(path);
	assert_int_equal(vs_read_regular(dir, VS_CONFIG_MAX, &buf, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file (a directory)"));
	assert_null(buf);
}

static void test_file_over_the_cap_is_refused(void **state)
{
	(void)state;
	vs_err err = {0};
	char data[100];
	memset(data, ' ', sizeof(data));
	assert_int_equal(vs_write_file(path, data, sizeof(data), 0600, &err), 0);
	char *buf = NULL;
	assert_int_equal(vs_read_regular(path, 99, &buf, NULL, &err), -1);
	assert_int_equal(err.code, EFBIG);
	assert_non_null(strstr(err.msg, "larger than 99 bytes"));
	assert_null(buf);
	unlink(path);
}

static void test_missing_file_names_it(void **state)
{
	(void)state;
	vs_err err = {0};
	char *buf = NULL;
	assert_int_equal(vs_read_regular(path, VS_CONFIG_MAX, &buf, NULL, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, path));
}

/* stdin may be a pipe: no regular-file check, but the cap holds even for
 * a source that never ends. */
static void test_fd_read_stops_at_the_cap(void **state)
{
	(void)state;
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	vs_err err = {0};
	char *buf = NULL;
	assert_int_equal(vs_read_fd(fd, "stdin", 1 << 20, &buf, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "read stdin: larger than 1048576 bytes"));
	close(fd);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "{}", 2), 2);
	close(p[1]);
	size_t len;
	assert_int_equal(vs_read_fd(p[0], "stdin", 16, &buf, &len, &err), 0);
	assert_int_equal(len, 2);
	assert_string_equal(buf, "{}");
	free(buf);
	close(p[0]);
}

static void test_path_that_does_not_fit_is_refused(void **state)
{
	(void)state;
	char buf[16];
	vs_err err = {0};
	assert_int_equal(vs_path_fmt(buf, sizeof(buf), &err, "%s/%s", "/a", "b"), 0);
	assert_string_equal(buf, "/a/b");
	assert_int_equal(vs_path_fmt(buf, sizeof(buf), &err, "%s/%s", "/sys/fs/cgroup", "cgroup.procs"), -1);
	assert_int_equal(err.code, ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "path of 27 bytes, the limit is 15"));
	assert_int_equal(vs_path_fmt(buf, sizeof(buf), NULL, "%s", "0123456789abcdef"), -1); /* NULL err is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_is_read_whole),
		cmocka_unit_test(test_atomic_write_replaces_and_leaves_nothing_behind),
		cmocka_unit_test(test_fifo_is_refused_without_blocking),
		cmocka_unit_test(test_device_and_directory_are_refused),
		cmocka_unit_test(test_file_over_the_cap_is_refused),
		cmocka_unit_test(test_missing_file_names_it),
		cmocka_unit_test(test_fd_read_stops_at_the_cap),
		cmocka_unit_test(test_path_that_does_not_fit_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
