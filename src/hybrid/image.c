/* The container's rootfs as an ext4 image (mkfs.ext4 -d). Why ext4 and
 * not erofs: docs/architecture.md, "VM-isolated containers". */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hybrid/hybrid.h"

static unsigned long long du_bytes, du_inodes;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path, (void)flag, (void)ftw;
	du_bytes += (unsigned long long)st->st_blocks * 512 + 4096; /* + a block of metadata each */
	du_inodes++;
	return 0;
}

int vs_hyb_image_build(const char *dir, const char *image, vs_err *err)
{
	du_bytes = du_inodes = 0;
	if (nftw(dir, du_one, 32, FTW_PHYS) < 0)
		return vs_fail(err, errno, "measure rootfs %s", dir);
	/* Room for the files, a quarter more for the process to write, and
	 * at least 64 MiB: the image is sparse, so unused room costs nothing. */
	unsigned long long kib = (du_bytes + du_bytes / 4) / 1024 + (64 << 10);
	char size[32], inodes[32];
	snprintf(size, sizeof(size), "%lluk", kib);
	snprintf(inodes, sizeof(inodes), "%llu", du_inodes * 2 + 4096);
	int fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_fail(err, errno, "create disk image %s", image);
	close(fd);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return vs_fail(err, errno, "pipe for mkfs.ext4");
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]), close(pfd[1]);
		return vs_fail(err, errno, "fork mkfs.ext4");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(pfd[1], 2);
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0", "-N", inodes, "-L",
		       "vessel-root", "-E", "lazy_itable_init=1", "-d", dir, image, size, (char *)NULL);
		dprintf(2, "exec mkfs.ext4: %s (install e2fsprogs)", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	char msg[300];
	size_t n = 0;
	ssize_t r;
	while ((r = read(pfd[0], msg + n, sizeof(msg) - 1 - n)) > 0 || (r < 0 && errno == EINTR))
		n += r > 0 ? (size_t)r : 0;
	close(pfd[0]);
	msg[n] = 0;
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(image);
		return vs_fail(err, EIO, "mkfs.ext4 -d %s %s failed: %s", dir, image, n ? msg : "no message");
	}
	return 0;
}
