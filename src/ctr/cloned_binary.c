/* CVE-2019-5736: re-execute from a sealed memfd copy of /proc/self/exe, so a
 * container process that opens /proc/<runtime pid>/exe gets an immutable
 * anonymous file rather than the host's vessel binary. */
#include "ctr/cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd explicitly */
#endif

#define CLONE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int vs_is_cloned_binary(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int seals = fcntl(fd, F_GET_SEALS); /* EINVAL for ordinary files */
	close(fd);
	return seals >= 0 && (seals & CLONE_SEALS) == CLONE_SEALS;
}

static int make_memfd(vs_err *err)
{
	/* MFD_EXEC keeps vm.memfd_noexec=1 from making the copy unexecutable;
	 * kernels before 6.3 reject the flag, so retry without it. */
	int fd = memfd_create("vessel-cloned", MFD_ALLOW_SEALING | MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("vessel-cloned", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "memfd_create for the cloned vessel binary");
	return fd;
}

/* A sealed memfd holding a copy of /proc/self/exe. */
static int clone_self(vs_err *err)
{
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return vs_fail(err, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0) {
		int e = errno;
		close(src);
		return vs_fail(err, e, "stat /proc/self/exe");
	}
	int dst = make_memfd(err);
	if (dst < 0) {
		close(src);
		return -1;
	}
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(dst, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO; /* 0: the file shrank under us */
			close(src), close(dst);
			return vs_fail(err, e, "copy /proc/self/exe into a memfd");
		}
	}
	close(src);
	if (fcntl(dst, F_ADD_SEALS, CLONE_SEALS) < 0) {
		int e = errno;
		close(dst);
		return vs_fail(err, e, "seal the cloned vessel binary");
	}
	return dst;
}

int vs_ensure_cloned_binary(char **argv, char **envp, vs_err *err)
{
	if (vs_is_cloned_binary())
		return 0;
	int fd = clone_self(err);
	if (fd < 0)
		return -1;
	/* The fd is close-on-exec: an ELF image is mapped before fds close. */
	syscall(SYS_execveat, fd, "", argv, envp ? envp : environ, AT_EMPTY_PATH);
	int e = errno;
	close(fd);
	return vs_fail(err, e, "execute the cloned vessel binary");
}
