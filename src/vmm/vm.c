/* The VM file descriptor: memory slots, in-kernel irqchip and PIT, IRQ
 * lines and the stop state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vm.h"

#include "vmm/cpuid.h"

/* Addresses KVM needs for its real-mode helpers (VMX); placed just below
 * the IOAPIC, inside the MMIO hole where no RAM or device lives. */
#define TSS_ADDR 0xfffbd000ULL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL
#define MAX_CPUID_ENTRIES 256

static int get_supported_cpuid(vs_vm *vm, vs_err *err)
{
	size_t sz = sizeof(struct kvm_cpuid2) + MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	if (!c)
		return vs_fail(err, ENOMEM, "allocate CPUID table");
	c->nent = MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int e = errno;
		free(c);
		return vs_fail(err, e, "KVM_GET_SUPPORTED_CPUID");
	}
	vm->supported_cpuid = c;
	return 0;
}

int vs_vm_create(vs_vm *vm, uint64_t mem_size, vs_err *err)
{
	return vs_vm_create_from(vm, mem_size, -1, false, err);
}

int vs_vm_create_from(vs_vm *vm, uint64_t mem_size, int mem_fd, bool shared, vs_err *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	pthread_mutex_init(&vm->park_mu, NULL);
	pthread_cond_init(&vm->park_cv, NULL);
	vs_bus_init(&vm->pio, "pio");
	vs_bus_init(&vm->mmio, "mmio");
	if (vs_kvm_open(&vm->kvm_fd, err) < 0)
		return -1;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		vs_fail(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	if (get_supported_cpuid(vm, err) < 0)
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		vs_fail(err, errno, "KVM_CREATE_VM");
		goto fail;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		vs_fail(err, errno, "create stop eventfd");
		goto fail;
	}
	/* Failures here are tolerated: only VMX needs them, and some hosts
	 * (AMD, PVM) implement them as no-ops or not at all. */
	(void)ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR);
	uint64_t idmap = IDENTITY_MAP_ADDR;
	(void)ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		vs_fail(err, errno, "KVM_CREATE_IRQCHIP");
		goto fail;
	}
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		vs_fail(err, errno, "KVM_CREATE_PIT2");
		goto fail;
	}
	if ((mem_fd < 0 ? vs_gmem_init(&vm->mem, mem_size, err) : vs_gmem_init_file(&vm->mem, mem_size, mem_fd, shared, err)) < 0)
		goto fail;
	for (unsigned i = 0; i < vm->mem.n_regions; i++) {
		const vs_gmem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			vs_fail(err, errno, "KVM_SET_USER_MEMORY_REGION slot %u (0x%llx+0x%llx)", i,
				(unsigned long long)r->gpa, (unsigned long long)r->size);
			goto fail;
		}
	}
	return 0;
fail:
	vs_vm_destroy(vm);
	return -1;
}

void vs_vm_destroy(vs_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	vs_gmem_destroy(&vm->mem);
	free(vm->supported_cpuid);
	pthread_mutex_destroy(&vm->park_mu);
	pthread_cond_destroy(&vm->park_cv);
	vm->supported_cpuid = NULL;
	vm->vm_fd = vm->kvm_fd = vm->stop_efd = -1;
}

void vs_vm_irq_line(void *opaque, unsigned gsi, int level)
{
	vs_vm *vm = opaque;
	struct kvm_irq_level l = {.irq = gsi, .level = level ? 1 : 0};
	(void)ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void vs_vm_request_stop(vs_vm *vm, vs_stop_reason why, int status, const char *msg)
{
	int none = VS_STOP_NONE;
	/* stop_status/stop_msg are written only by the winner, before it
	 * signals the eventfd that the main loop waits on. */
	if (!atomic_compare_exchange_strong(&vm->stop, &none, (int)why))
		return;
	vm->stop_status = status;
	if (msg)
		snprintf(vm->stop_msg, sizeof(vm->stop_msg), "%s", msg);
	/* Parked vCPUs and a waiting pause must see the stop. */
	pthread_mutex_lock(&vm->park_mu);
	pthread_cond_broadcast(&vm->park_cv);
	pthread_mutex_unlock(&vm->park_mu);
	uint64_t one = 1;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* Nothing better to do: the main loop also polls vm->stop. */
	}
}

void vs_vm_pause_point(vs_vm *vm)
{
	if (!atomic_load(&vm->pause_req))
		return;
	pthread_mutex_lock(&vm->park_mu);
	vm->parked++;
	pthread_cond_broadcast(&vm->park_cv);
	while (atomic_load(&vm->pause_req) && atomic_load(&vm->stop) == VS_STOP_NONE)
		pthread_cond_wait(&vm->park_cv, &vm->park_mu);
	vm->parked--;
	pthread_mutex_unlock(&vm->park_mu);
}

void vs_vm_vcpu_exited(vs_vm *vm)
{
	pthread_mutex_lock(&vm->park_mu);
	vm->exited++;
	pthread_cond_broadcast(&vm->park_cv);
	pthread_mutex_unlock(&vm->park_mu);
}

void vs_vm_pause(vs_vm *vm, unsigned ncpus, void (*kick)(void *, unsigned), void *opaque)
{
	atomic_store(&vm->pause_req, 1);
	for (unsigned i = 0; i < ncpus; i++)
		kick(opaque, i);
	pthread_mutex_lock(&vm->park_mu);
	while (vm->parked + vm->exited < ncpus && atomic_load(&vm->stop) == VS_STOP_NONE)
		pthread_cond_wait(&vm->park_cv, &vm->park_mu);
	pthread_mutex_unlock(&vm->park_mu);
}

void vs_vm_resume(vs_vm *vm)
{
	pthread_mutex_lock(&vm->park_mu);
	atomic_store(&vm->pause_req, 0);
	pthread_cond_broadcast(&vm->park_cv);
	pthread_mutex_unlock(&vm->park_mu);
}
