/* Bringing the guest up without busybox: mounts, modules, vsock. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/fs.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int mount_one(const char *type, const char *dir, unsigned long flags, vs_err *err)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, flags, NULL) < 0 && errno != EBUSY)
		return vs_fail(err, errno, "mount %s on %s", type, dir);
	return 0;
}

/* Each module of the list, in order (dependencies first: the initramfs
 * builder wrote it from modules.dep). A module built in or loaded already
 * is fine. */
static int load_modules(vs_err *err)
{
	char *list;
	size_t len;
	if (vs_read_file("/lib/modules/load", &list, &len, err) < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = 0;
	for (char *save = NULL, *name = strtok_r(list, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		char path[512];
		if (vs_path_fmt(path, sizeof(path), err, "/lib/modules/%s", name) < 0) {
			rc = -1;
			break;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			rc = vs_fail(err, errno, "load module %s", path);
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
	}
	free(list);
	return rc;
}

int vs_agent_boot(vs_err *err)
{
	if (mount_one("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0 ||
	    mount_one("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0 ||
	    mount_one("devtmpfs", "/dev", MS_NOSUID, err) < 0)
		return -1;
	return load_modules(err);
}

int vs_agent_wait_path(const char *path, int ms, vs_err *err)
{
	for (int waited = 0; access(path, F_OK) < 0; waited += 5) {
		if (waited >= ms)
			return vs_fail(err, ENOENT, "%s did not appear within %d ms", path, ms);
		sleep_ms(5);
	}
	return 0;
}

int vs_agent_connect(unsigned port, int ms, vs_err *err)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_HOST};
	int e = 0;
	for (int waited = 0; waited < ms; waited += 5) {
		int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		e = errno;
		if (s >= 0)
			close(s);
		sleep_ms(5); /* the virtio transport probes after its module loads */
	}
	return vs_fail(err, e, "connect to host vsock port %u", port);
}
