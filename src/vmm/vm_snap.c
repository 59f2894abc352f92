/* The VM-wide KVM state of a snapshot: the in-kernel PIC pair and IOAPIC,
 * the PIT and the kvmclock; and KVM's dirty page log for diff snapshots. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vm.h"

int vs_vm_save(vs_vm *vm, vs_snapw *w, vs_err *err)
{
	for (uint32_t chip = 0; chip < 3; chip++) {
		struct kvm_irqchip c = {.chip_id = chip};
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c) < 0)
			return vs_fail(err, errno, "KVM_GET_IRQCHIP %u", chip);
		vs_snapw_add(w, VS_SNAP_IRQCHIP, chip, &c, sizeof(c));
	}
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return vs_fail(err, errno, "KVM_GET_PIT2");
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return vs_fail(err, errno, "KVM_GET_CLOCK");
	vs_snapw_add(w, VS_SNAP_PIT, 0, &pit, sizeof(pit));
	vs_snapw_add(w, VS_SNAP_CLOCK, 0, &clock, sizeof(clock));
	return 0;
}

int vs_vm_restore(vs_vm *vm, const vs_snap *s, vs_err *err)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	for (uint32_t i = 0; i < 3; i++)
		if (vs_snap_get(s, VS_SNAP_IRQCHIP, i, &chips[i], sizeof(chips[i]), err) < 0)
			return -1;
	if (vs_snap_get(s, VS_SNAP_PIT, 0, &pit, sizeof(pit), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_CLOCK, 0, &clock, sizeof(clock), err) < 0)
		return -1;
	for (uint32_t i = 0; i < 3; i++) {
		if (chips[i].chip_id != i)
			return vs_fail(err, EINVAL, "snapshot %s: irqchip section %u names chip %u", s->what, i,
				       chips[i].chip_id);
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chips[i]) < 0)
			return vs_fail(err, errno, "restore: KVM_SET_IRQCHIP %u", i);
	}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return vs_fail(err, errno, "restore: KVM_SET_PIT2");
	/* The flags KVM reported (TSC_STABLE, ...) are output only. */
	clock.flags = 0;
	memset(clock.pad, 0, sizeof(clock.pad));
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return vs_fail(err, errno, "restore: KVM_SET_CLOCK");
	return 0;
}

static int slot_flags(vs_vm *vm, uint32_t flags, vs_err *err)
{
	for (unsigned i = 0; i < vm->mem.n_regions; i++) {
		const vs_gmem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return vs_fail(err, errno, "%s dirty page logging on memory slot %u", flags ? "enable" : "disable", i);
	}
	return 0;
}

int vs_vm_track_dirty(vs_vm *vm, vs_err *err)
{
	if (vs_gmem_track(&vm->mem, err) < 0 || slot_flags(vm, KVM_MEM_LOG_DIRTY_PAGES, err) < 0)
		return -1;
	vm->track_dirty = true;
	return 0;
}

int vs_vm_untrack_dirty(vs_vm *vm, vs_err *err)
{
	if (slot_flags(vm, 0, err) < 0)
		return -1;
	vm->track_dirty = false;
	return 0;
}

int vs_vm_dirty_log(vs_vm *vm, unsigned slot, uint64_t *bitmap, vs_err *err)
{
	struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = bitmap};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return vs_fail(err, errno, "KVM_GET_DIRTY_LOG slot %u", slot);
	return 0;
}
