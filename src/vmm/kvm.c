/* /dev/kvm: the system file descriptor, API version and capabilities. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vm.h"

int vs_kvm_check_cap(int kvm_fd, int cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int vs_kvm_open(int *kvm_fd, vs_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open /dev/kvm");
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		close(fd);
		return vs_fail(err, VS_ENOTSUP_HOST, "/dev/kvm: API version %d, need %d", v, KVM_API_VERSION);
	}
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
		{KVM_CAP_PIT2, "KVM_CAP_PIT2"},
		{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
		{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
		{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!vs_kvm_check_cap(fd, need[i].cap)) {
			close(fd);
			return vs_fail(err, VS_ENOTSUP_HOST, "/dev/kvm: missing %s", need[i].name);
		}
	}
	*kvm_fd = fd;
	return 0;
}
