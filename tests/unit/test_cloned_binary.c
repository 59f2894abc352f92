/* CVE-2019-5736 protection. The test binary re-runs itself in a child mode
 * (--ensure, --exec-sealed KIND, --ro-overlay DIR) that gets itself running
 * from some image and then reports, with --report, what it is running from;
 * the parent asserts on that one line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctr/cloned_binary.h"
#include "ctr/self_image.h"

extern char **environ;

static char self[4096];
static bool reexecuted;

/* --report MARKER: one line about the running image. */
static int report(char **argv)
{
	char exe[256] = {0};
	if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0)
		strcpy(exe, "?");
	int wfd = open("/proc/self/exe", O_WRONLY);
	int open_errno = wfd < 0 ? errno : 0;
	/* Even a writable fd must not be able to change a sealed memfd. */
	int rfd = open("/proc/self/exe", O_RDONLY);
	int seal_locked = rfd >= 0 && fcntl(rfd, F_ADD_SEALS, 0) < 0; /* F_SEAL_SEAL set */
	struct statfs sf = {0};
	if (rfd >= 0)
		fstatfs(rfd, &sf);
	/* No mapping may still be of the host binary either (/proc/PID/map_files
	 * would reach it): the switch without execve remaps every segment. */
	/* By identity, not by name: an overlay view's mappings read "/vessel". */
	int maps_self = 0;
	struct stat host;
	DIR *mf = opendir("/proc/self/map_files");
	struct dirent *de;
	while (mf && stat(self, &host) == 0 && (de = readdir(mf))) {
		char p[300];
		struct stat st;
		snprintf(p, sizeof(p), "/proc/self/map_files/%s", de->d_name);
		maps_self += de->d_name[0] != '.' && stat(p, &st) == 0 && st.st_dev == host.st_dev &&
			     st.st_ino == host.st_ino;
	}
	if (mf)
		closedir(mf);
	printf("exe=%s kind=%d write_open_errno=%d overlay=%d seal_locked=%d maps_self=%d reexec=%d argv=%s env=%s\n",
	       exe, (int)vs_sealed_kind(), open_errno, sf.f_type == OVERLAYFS_SUPER_MAGIC, seal_locked, maps_self,
	       reexecuted, argv[2] ? argv[2] : "", getenv("VESSEL_CLONE_TEST") ?: "");
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	return 0;
}

static int exec_report(int fd, const char *path)
{
	char *args[] = {self, "--report", "marker-arg", NULL};
	if (fd >= 0)
		syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
	else
		execve(path, args, environ);
	printf("exec failed: %s\n", strerror(errno));
	return 1;
}

/* --ro-overlay DIR: run from a read-only overlayfs over our directory that is
 * mounted in the tree (a private mount namespace), as some hosts install a
 * runtime: not sealed, since it could be remounted read-write. */
static int ro_overlay(const char *dir)
{
	char bindir[4096], lower[4200], path[4400];
	snprintf(bindir, sizeof(bindir), "%s", self);
	*strrchr(bindir, '/') = 0;
	snprintf(lower, sizeof(lower), "lowerdir=%s:/dev", bindir);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("overlay", dir, "overlay", MS_RDONLY, lower) < 0) {
		printf("mount overlay on %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, strrchr(self, '/') + 1);
	return exec_report(-1, path);
}

static int child(int argc, char **argv)
{
	vs_err err = {0};
	if (!strcmp(argv[1], "--report"))
		return report(argv);
	if (!strcmp(argv[1], "--ensure")) {
		/* Set before the switch: seen again only if it re-executed. */
		if (getenv("VESSEL_CLONE_REEXEC"))
			reexecuted = true;
		setenv("VESSEL_CLONE_REEXEC", "1", 1);
		if (vs_ensure_cloned_binary(argv, environ, &err) < 0) {
			printf("ensure failed: %s\n", err.msg);
			return 1;
		}
		char *rep[] = {argv[0], "--report", argv[2], NULL};
		return report(rep);
	}
	if (!strcmp(argv[1], "--exec-sealed") && argc > 2) {
		int fd = vs_sealed_self_open(!strcmp(argv[2], "memfd") ? VS_SEAL_MEMFD : VS_SEAL_OVERLAY, &err);
		if (fd < 0) {
			printf("sealed open failed: %s (errno %d)\n", err.msg, err.code);
			return 1;
		}
		return exec_report(fd, NULL);
	}
	if (!strcmp(argv[1], "--switch-sealed") && argc > 2) {
		int fd = vs_sealed_self_open(!strcmp(argv[2], "memfd") ? VS_SEAL_MEMFD : VS_SEAL_OVERLAY, &err);
		if (fd < 0 || vs_self_image_replace(fd, &err) < 0) {
			printf("switch failed: %s (errno %d)\n", err.msg, err.code);
			return 1;
		}
		close(fd);
		char *rep[] = {argv[0], "--report", "marker-arg", NULL};
		return report(rep);
	}
	if (!strcmp(argv[1], "--ro-overlay") && argc > 2)
		return ro_overlay(argv[2]);
	return 2;
}

/* Run this binary with args; return its stdout. */
static char *run_self(char *const args[])
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]), close(p[1]);
		setenv("VESSEL_CLONE_TEST", "kept", 1);
		execv(self, args);
		_exit(127);
	}
	close(p[1]);
	static char out[1024];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(out) - 1 && (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("child exited %d: %s", WEXITSTATUS(st), out);
	return out;
}

/* Overlayfs views need a kernel with overlayfs and CAP_SYS_ADMIN; where
 * they cannot be had, vessel uses the memfd copy (tested apart). */
static bool overlay_possible(void)
{
	FILE *f = fopen("/proc/filesystems", "r");
	char line[128];
	bool found = false;
	while (f && fgets(line, sizeof(line), f))
		found = found || strstr(line, "\toverlay\n");
	if (f)
		fclose(f);
	return found && geteuid() == 0;
}

static void test_ensure_runs_sealed(void **state)
{
	(void)state;
	char *const args[] = {"test_cloned_binary", "--ensure", "marker-arg", NULL};
	char *out = run_self(args);
	if (overlay_possible())
		assert_non_null(strstr(out, "kind=1 write_open_errno=30 overlay=1 ")); /* EROFS */
	else
		assert_non_null(strstr(out, "kind=2 "));
	if (strstr(out, self))
		fail_msg("still running from %s: %s", self, out);
	assert_non_null(strstr(out, " maps_self=0 "));
	/* Root (CAP_SYS_ADMIN) switches in place, without a second execve. */
	if (geteuid() == 0)
		assert_non_null(strstr(out, " reexec=0 "));
	assert_non_null(strstr(out, "argv=marker-arg env=kept"));
}

/* The switch itself, from either sealed file: the process goes on (same
 * stack, heap, data) running from it. */
static void switch_to(const char *kind, const char *expect)
{
	char *const args[] = {"test_cloned_binary", "--switch-sealed", (char *)kind, NULL};
	char *out = run_self(args);
	if (!strstr(out, expect) || !strstr(out, " maps_self=0 ") || !strstr(out, "argv=marker-arg env=kept"))
		fail_msg("after switching to the %s: %s", kind, out);
}

static void test_switch_to_memfd(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("skip: PR_SET_MM_MAP needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE\n");
		skip();
	}
	switch_to("memfd", "exe=/memfd:vessel-cloned (deleted) kind=2 write_open_errno=26 ");
}

static void test_switch_to_overlay(void **state)
{
	(void)state;
	if (!overlay_possible()) {
		print_message("skip: needs overlayfs in the kernel and root\n");
		skip();
	}
	switch_to("overlay", "kind=1 write_open_errno=30 overlay=1 ");
}

static void test_overlay_view(void **state)
{
	(void)state;
	if (!overlay_possible()) {
		print_message("skip: needs overlayfs in the kernel and root (vessel then uses the memfd copy)\n");
		skip();
	}
	char *const args[] = {"test_cloned_binary", "--exec-sealed", "overlay", NULL};
	char *out = run_self(args);
	/* Read-only at the superblock: the kernel refuses before ETXTBSY. */
	assert_non_null(strstr(out, "kind=1 write_open_errno=30 overlay=1 "));
	if (strstr(out, self))
		fail_msg("/proc/self/exe names the host binary: %s", out);
	assert_non_null(strstr(out, "argv=marker-arg env=kept"));
}

static void test_memfd_copy(void **state)
{
	(void)state;
	char *const args[] = {"test_cloned_binary", "--exec-sealed", "memfd", NULL};
	char *out = run_self(args);
	if (!strstr(out, "exe=/memfd:vessel-cloned"))
		fail_msg("not running from the memfd: %s", out);
	/* The kernel refuses to open a running image for writing. */
	assert_non_null(strstr(out, "kind=2 write_open_errno=26 ")); /* ETXTBSY */
	assert_non_null(strstr(out, "seal_locked=1"));
	assert_non_null(strstr(out, "argv=marker-arg env=kept"));
}

static void test_mounted_ro_overlay_is_not_sealed(void **state)
{
	(void)state;
	if (!overlay_possible()) {
		print_message("skip: needs overlayfs in the kernel and root to mount one\n");
		skip();
	}
	char dir[] = "/tmp/vessel-ovl.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *const args[] = {"test_cloned_binary", "--ro-overlay", dir, NULL};
	char *out = run_self(args);
	rmdir(dir);
	/* It is an overlayfs, read-only, but attached: remountable, so no. */
	assert_non_null(strstr(out, "kind=0 write_open_errno=30 overlay=1 "));
}

/* The probe itself: unsealed, it does see the host binary's mappings. */
static void test_report_sees_unsealed_mappings(void **state)
{
	(void)state;
	char *const args[] = {"test_cloned_binary", "--report", "marker-arg", NULL};
	char *out = run_self(args);
	if (strstr(out, " maps_self=0 "))
		fail_msg("an unsealed run reports no mapping of %s: %s", self, out);
}

static void test_plain_binary_is_not_cloned(void **state)
{
	(void)state;
	assert_int_equal(vs_sealed_kind(), VS_SEAL_NONE);
	assert_int_equal(vs_is_cloned_binary(), 0);
}

int main(int argc, char **argv)
{
	/* readlink, not execv("/proc/self/exe"): under valgrind only the former
	 * names this test rather than the valgrind tool. */
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		return 1;
	if (argc > 1 && !strncmp(argv[1], "--", 2))
		return child(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ensure_runs_sealed),
		cmocka_unit_test(test_overlay_view),
		cmocka_unit_test(test_memfd_copy),
		cmocka_unit_test(test_switch_to_memfd),
		cmocka_unit_test(test_switch_to_overlay),
		cmocka_unit_test(test_mounted_ro_overlay_is_not_sealed),
		cmocka_unit_test(test_plain_binary_is_not_cloned),
		cmocka_unit_test(test_report_sees_unsealed_mappings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
