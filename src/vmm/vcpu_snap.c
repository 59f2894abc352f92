/* One vCPU's state to and from a snapshot: registers, FPU/XSAVE, XCRs,
 * debug registers, LAPIC, every MSR KVM lists (TSC and kvmclock
 * included), pending events, mp_state, the CPUID it was given and its TSC
 * rate. Called with the vCPU parked out of KVM_RUN (its pending I/O
 * completed, see vs_vcpu_loop). Orders follow what KVM needs: mp_state
 * is read first (it flushes pending LAPIC events), CPUID is set first, the
 * LAPIC before the MSRs (TSC deadline), events last. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vcpu.h"
#include "vmm/vcpu_snap.h"

#define MSR_CHUNK 128  /* KVM takes fewer than 256 MSRs per call */
#define MAX_MSRS 1024
#define MAX_CPUID 256
#define XSAVE_MAX (1u << 20)

/* The XSAVE area size this host's KVM uses (0: no XSAVE, use the FPU ioctls). */
static size_t xsave_size(const vs_vm *vm)
{
	if (!vs_kvm_check_cap(vm->kvm_fd, KVM_CAP_XSAVE))
		return 0;
	int big = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return big > (int)sizeof(struct kvm_xsave) ? (size_t)big : sizeof(struct kvm_xsave);
}

static int get(int fd, unsigned long req, void *arg, const char *what, unsigned id, vs_err *err)
{
	if (ioctl(fd, req, arg) < 0)
		return vs_fail(err, errno, "vCPU %u: %s", id, what);
	return 0;
}

/* Every MSR of KVM's list this vCPU can read (some need CPUID features
 * it was not given: skipped). */
static int save_msrs(vs_vcpu *v, vs_snapw *w, vs_err *err)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return vs_fail(err, errno, "KVM_GET_MSR_INDEX_LIST");
	uint32_t n = probe.nmsrs > MAX_MSRS ? MAX_MSRS : probe.nmsrs;
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + n * sizeof(uint32_t));
	struct kvm_msrs *b = calloc(1, sizeof(*b) + MSR_CHUNK * sizeof(struct kvm_msr_entry));
	struct kvm_msr_entry *out = calloc(n ? n : 1, sizeof(*out));
	int r = -1;
	if (!list || !b || !out) {
		vs_fail(err, ENOMEM, "vCPU %u: allocate the MSR list", v->id);
		goto done;
	}
	list->nmsrs = n;
	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		vs_fail(err, errno, "KVM_GET_MSR_INDEX_LIST");
		goto done;
	}
	n = list->nmsrs < n ? list->nmsrs : n;
	uint32_t at = 0, got = 0;
	while (at < n) {
		uint32_t k = n - at < MSR_CHUNK ? n - at : MSR_CHUNK;
		memset(b, 0, sizeof(*b) + k * sizeof(b->entries[0]));
		b->nmsrs = k;
		for (uint32_t i = 0; i < k; i++)
			b->entries[i].index = list->indices[at + i];
		int done = ioctl(v->fd, KVM_GET_MSRS, b);
		if (done < 0) {
			vs_fail(err, errno, "vCPU %u: KVM_GET_MSRS", v->id);
			goto done;
		}
		memcpy(out + got, b->entries, (size_t)done * sizeof(*out));
		got += (uint32_t)done;
		/* KVM stops at the first MSR it cannot read: step over it. */
		at += (uint32_t)done + ((uint32_t)done < k);
	}
	vs_snapw_add(w, VS_SNAP_MSRS, v->id, out, got * sizeof(*out));
	r = 0;
done:
	free(list);
	free(b);
	free(out);
	return r;
}

int vs_vcpu_save(vs_vcpu *v, vs_snapw *w, vs_err *err)
{
	unsigned id = v->id;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	if (get(v->fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE", id, err) < 0 ||
	    get(v->fd, KVM_GET_REGS, &regs, "KVM_GET_REGS", id, err) < 0 ||
	    get(v->fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", id, err) < 0)
		return -1;
	vs_snapw_add(w, VS_SNAP_MPSTATE, id, &mp, sizeof(mp));
	vs_snapw_add(w, VS_SNAP_REGS, id, &regs, sizeof(regs));
	vs_snapw_add(w, VS_SNAP_SREGS, id, &sregs, sizeof(sregs));
	size_t xs = xsave_size(v->vm);
	if (xs) {
		void *x = calloc(1, xs);
		if (!x)
			return vs_fail(err, ENOMEM, "vCPU %u: allocate the XSAVE area", id);
		int r = get(v->fd, xs > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, x, "KVM_GET_XSAVE", id, err);
		if (r == 0)
			vs_snapw_add(w, VS_SNAP_XSAVE, id, x, xs);
		free(x);
		if (r < 0)
			return -1;
	} else {
		struct kvm_fpu fpu;
		if (get(v->fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU", id, err) < 0)
			return -1;
		vs_snapw_add(w, VS_SNAP_FPU, id, &fpu, sizeof(fpu));
	}
	if (vs_kvm_check_cap(v->vm->kvm_fd, KVM_CAP_XCRS)) {
		if (get(v->fd, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS", id, err) < 0)
			return -1;
		vs_snapw_add(w, VS_SNAP_XCRS, id, &xcrs, sizeof(xcrs));
	}
	if (get(v->fd, KVM_GET_DEBUGREGS, &dbg, "KVM_GET_DEBUGREGS", id, err) < 0 ||
	    get(v->fd, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", id, err) < 0)
		return -1;
	vs_snapw_add(w, VS_SNAP_DEBUGREGS, id, &dbg, sizeof(dbg));
	vs_snapw_add(w, VS_SNAP_LAPIC, id, &lapic, sizeof(lapic));
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	uint64_t tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	vs_snapw_add(w, VS_SNAP_TSC_KHZ, id, &tsc_khz, sizeof(tsc_khz));
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(c->entries[0]));
	if (!c)
		return vs_fail(err, ENOMEM, "vCPU %u: allocate CPUID", id);
	c->nent = MAX_CPUID;
	int r = get(v->fd, KVM_GET_CPUID2, c, "KVM_GET_CPUID2", id, err);
	if (r == 0)
		vs_snapw_add(w, VS_SNAP_CPUID, id, c->entries, c->nent * sizeof(c->entries[0]));
	free(c);
	if (r < 0 || save_msrs(v, w, err) < 0)
		return -1;
	if (get(v->fd, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS", id, err) < 0)
		return -1;
	vs_snapw_add(w, VS_SNAP_EVENTS, id, &ev, sizeof(ev));
	return 0;
}

static int set(int fd, unsigned long req, void *arg, const char *what, unsigned id, vs_err *err)
{
	if (ioctl(fd, req, arg) < 0)
		return vs_fail(err, errno, "restore vCPU %u: %s", id, what);
	return 0;
}

/* Set them all; one KVM refuses is fine only if it already has that value. */
static int restore_msrs(vs_vcpu *v, const struct kvm_msr_entry *e, size_t n, vs_err *err)
{
	struct kvm_msrs *b = calloc(1, sizeof(*b) + MSR_CHUNK * sizeof(b->entries[0]));
	if (!b)
		return vs_fail(err, ENOMEM, "restore vCPU %u: allocate MSRs", v->id);
	size_t at = 0;
	int r = 0;
	while (r == 0 && at < n) {
		uint32_t k = (uint32_t)(n - at < MSR_CHUNK ? n - at : MSR_CHUNK);
		memset(b, 0, sizeof(*b));
		b->nmsrs = k;
		memcpy(b->entries, e + at, k * sizeof(b->entries[0]));
		int done = ioctl(v->fd, KVM_SET_MSRS, b);
		if (done < 0) {
			r = vs_fail(err, errno, "restore vCPU %u: KVM_SET_MSRS", v->id);
			break;
		}
		at += (size_t)done;
		if ((uint32_t)done == k)
			continue;
		/* Reuse b for one MSR: does KVM already hold that value? */
		memset(b, 0, sizeof(*b) + sizeof(b->entries[0]));
		b->nmsrs = 1;
		b->entries[0].index = e[at].index;
		if (ioctl(v->fd, KVM_GET_MSRS, b) != 1 || b->entries[0].data != e[at].data)
			r = vs_fail(err, EINVAL, "restore vCPU %u: KVM refuses MSR 0x%x = 0x%llx", v->id, e[at].index,
				    (unsigned long long)e[at].data);
		at++;
	}
	free(b);
	return r;
}

int vs_vcpu_restore(vs_vcpu *v, const vs_snap *s, vs_err *err)
{
	unsigned id = v->id;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	uint64_t tsc_khz;
	size_t ncpuid, nmsrs;
	const void *cpuid = vs_snap_get_array(s, VS_SNAP_CPUID, id, sizeof(struct kvm_cpuid_entry2), MAX_CPUID, &ncpuid, err);
	const void *msrs = cpuid ? vs_snap_get_array(s, VS_SNAP_MSRS, id, sizeof(struct kvm_msr_entry), MAX_MSRS, &nmsrs, err)
				 : NULL;
	if (!msrs || vs_snap_get(s, VS_SNAP_MPSTATE, id, &mp, sizeof(mp), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_REGS, id, &regs, sizeof(regs), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_SREGS, id, &sregs, sizeof(sregs), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_DEBUGREGS, id, &dbg, sizeof(dbg), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_LAPIC, id, &lapic, sizeof(lapic), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_EVENTS, id, &ev, sizeof(ev), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_TSC_KHZ, id, &tsc_khz, sizeof(tsc_khz), err) < 0)
		return -1;
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + ncpuid * sizeof(c->entries[0]));
	if (!c)
		return vs_fail(err, ENOMEM, "restore vCPU %u: allocate CPUID", id);
	c->nent = (uint32_t)ncpuid;
	c->padding = 0;
	memcpy(c->entries, cpuid, ncpuid * sizeof(c->entries[0]));
	int r = set(v->fd, KVM_SET_CPUID2, c, "KVM_SET_CPUID2", id, err);
	free(c);
	if (r < 0 || set(v->fd, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", id, err) < 0 ||
	    set(v->fd, KVM_SET_REGS, &regs, "KVM_SET_REGS", id, err) < 0 ||
	    set(v->fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", id, err) < 0)
		return -1;
	size_t xs = xsave_size(v->vm);
	if (xs) {
		size_t n;
		const void *x = vs_snap_get_array(s, VS_SNAP_XSAVE, id, 1, XSAVE_MAX, &n, err);
		if (!x)
			return -1;
		if (n != xs)
			return vs_fail(err, EINVAL, "restore vCPU %u: XSAVE area of %zu bytes, this host's KVM uses %zu",
				       id, n, xs);
		void *copy = malloc(xs);
		if (!copy)
			return vs_fail(err, ENOMEM, "restore vCPU %u: allocate XSAVE", id);
		memcpy(copy, x, xs);
		r = set(v->fd, KVM_SET_XSAVE, copy, "KVM_SET_XSAVE", id, err);
		free(copy);
		if (r < 0)
			return -1;
	} else {
		struct kvm_fpu fpu;
		if (vs_snap_get(s, VS_SNAP_FPU, id, &fpu, sizeof(fpu), err) < 0 ||
		    set(v->fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU", id, err) < 0)
			return -1;
	}
	if (vs_kvm_check_cap(v->vm->kvm_fd, KVM_CAP_XCRS) && vs_snap_has(s, VS_SNAP_XCRS, id)) {
		struct kvm_xcrs xcrs;
		if (vs_snap_get(s, VS_SNAP_XCRS, id, &xcrs, sizeof(xcrs), err) < 0 ||
		    set(v->fd, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", id, err) < 0)
			return -1;
	}
	if (set(v->fd, KVM_SET_DEBUGREGS, &dbg, "KVM_SET_DEBUGREGS", id, err) < 0 ||
	    set(v->fd, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", id, err) < 0)
		return -1;
	/* The guest's TSC rate, where KVM can scale to it (same host: unchanged). */
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz && khz > 0 && (uint64_t)khz != tsc_khz)
		(void)ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)tsc_khz);
	if (restore_msrs(v, msrs, nmsrs, err) < 0)
		return -1;
	return set(v->fd, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS", id, err);
}
