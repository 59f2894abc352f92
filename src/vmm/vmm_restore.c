/* Restoring a snapshot (vs_vmm_restore; taking one is vmm_snapshot.c).
 * The whole state file is read and checked before any of the machine
 * exists; then the memory file is mapped MAP_PRIVATE, the machine the
 * snapshot describes is built, every state is put back, and only then
 * do the vCPU threads start. A failure tears down all of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/dev/virtio.h"
#include "vmm/layout.h"
#include "vmm/vcpu_snap.h"
#include "vmm/vmm_int.h"

static uint64_t virtio_base(unsigned slot)
{
	return VS_VIRTIO_MMIO_BASE + (uint64_t)slot * VS_VIRTIO_MMIO_SIZE;
}

static int read_state(const vs_vmm_snap_files *f, uint8_t **out, size_t *len, vs_err *err)
{
	struct stat st;
	if (fstat(f->state_fd, &st) < 0)
		return vs_fail(err, errno, "snapshot %s", f->state_path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > VS_SNAP_MAX_SIZE)
		return vs_fail(err, EINVAL, "snapshot %s: not a state file (a regular file of 1 byte..%u MiB)",
			       f->state_path, VS_SNAP_MAX_SIZE >> 20);
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *b = malloc(n);
	if (!b)
		return vs_fail(err, ENOMEM, "snapshot %s: allocate %zu bytes", f->state_path, n);
	while (got < n) {
		ssize_t k = pread(f->state_fd, b + got, n - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(b);
			return vs_fail(err, k < 0 ? errno : EIO, "read snapshot %s", f->state_path);
		}
		got += (size_t)k;
	}
	*out = b;
	*len = n;
	return 0;
}

/* Everything the restore will read, read once now: a bad section is
 * refused before any of the machine exists. */
static int check_sections(const vs_snap *s, const vs_snap_machine *d, vs_err *err)
{
	static const struct {
		uint32_t id;
		size_t len;
	} per_cpu[] = {
		{VS_SNAP_REGS, sizeof(struct kvm_regs)},	   {VS_SNAP_SREGS, sizeof(struct kvm_sregs)},
		{VS_SNAP_LAPIC, sizeof(struct kvm_lapic_state)},   {VS_SNAP_EVENTS, sizeof(struct kvm_vcpu_events)},
		{VS_SNAP_MPSTATE, sizeof(struct kvm_mp_state)},	   {VS_SNAP_DEBUGREGS, sizeof(struct kvm_debugregs)},
		{VS_SNAP_TSC_KHZ, sizeof(uint64_t)},
	};
	static uint8_t scratch[8192];
	_Static_assert(sizeof(struct kvm_sregs) <= sizeof(scratch) && sizeof(struct kvm_pit_state2) <= sizeof(scratch),
		       "scratch");
	size_t n;
	for (unsigned c = 0; c < d->ncpus; c++) {
		for (size_t i = 0; i < sizeof(per_cpu) / sizeof(per_cpu[0]); i++)
			if (vs_snap_get(s, per_cpu[i].id, c, scratch, per_cpu[i].len, err) < 0)
				return -1;
		if (!vs_snap_get_array(s, VS_SNAP_CPUID, c, sizeof(struct kvm_cpuid_entry2), 256, &n, err) ||
		    !vs_snap_get_array(s, VS_SNAP_MSRS, c, sizeof(struct kvm_msr_entry), 1024, &n, err))
			return -1;
		if (!vs_snap_has(s, VS_SNAP_XSAVE, c) && vs_snap_get(s, VS_SNAP_FPU, c, scratch, sizeof(struct kvm_fpu), err) < 0)
			return -1;
	}
	for (uint32_t i = 0; i < 3; i++)
		if (vs_snap_get(s, VS_SNAP_IRQCHIP, i, scratch, sizeof(struct kvm_irqchip), err) < 0)
			return -1;
	vs_snap_serial ser;
	vs_snap_i8042 kbd;
	if (vs_snap_get(s, VS_SNAP_PIT, 0, scratch, sizeof(struct kvm_pit_state2), err) < 0 ||
	    vs_snap_get(s, VS_SNAP_CLOCK, 0, scratch, sizeof(struct kvm_clock_data), err) < 0 ||
	    vs_snap_read_serial(s, &ser, err) < 0 || vs_snap_read_i8042(s, &kbd, err) < 0)
		return -1;
	if (!(d->flags & VS_SNAP_M_RING3) &&
	    (vs_snap_get(s, VS_SNAP_ACPI_PM, 0, scratch, sizeof(vs_snap_acpi_pm), err) < 0 ||
	     vs_snap_get(s, VS_SNAP_PVPANIC, 0, scratch, sizeof(vs_snap_pvpanic), err) < 0))
		return -1;
	vs_snap_virtio *v = malloc(sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "restore: allocate virtio state");
	int r = 0;
	for (unsigned i = 0; r == 0 && i < d->n_virtio; i++)
		r = vs_snap_read_virtio(s, i, v, err);
	free(v);
	return r;
}

static void get_bucket(vs_tbucket_cfg *c, const vs_snap_bucket *b)
{
	*c = (vs_tbucket_cfg){.size = b->size, .one_time_burst = b->one_time_burst, .refill_ms = b->refill_ms};
}

/* The optional device sections, read (and checked) into the spec. */
static int optional_from(vs_vmm_spec *sp, const vs_snap *s, const vs_snap_machine *d, vs_err *err)
{
	vs_snap_vsock v;
	vs_snap_balloon b;
	int hv = vs_snap_read_vsock(s, &v, err);
	int hb = hv < 0 ? -1 : vs_snap_read_balloon(s, d, &b, err);
	if (hv < 0 || hb < 0)
		return -1;
	if (hv) {
		sp->vsock.on = true;
		sp->vsock.guest_cid = (uint32_t)v.guest_cid;
		memcpy(sp->vsock.uds_path, v.uds_path, sizeof(sp->vsock.uds_path));
		memcpy(sp->vsock.id, v.id, sizeof(sp->vsock.id));
	}
	if (hb)
		sp->balloon = (vs_vmm_balloon){.on = true, .amount_mib = b.amount_mib,
					       .deflate_on_oom = b.flags & VS_SNAP_BALLOON_DEFLATE_OOM,
					       .stats_interval_s = b.stats_interval_s};
	vs_snap_ratelimits *r = malloc(sizeof(*r));
	if (!r)
		return vs_fail(err, ENOMEM, "snapshot: allocate the rate limiters");
	int hr = vs_snap_read_ratelimits(s, d, r, err);
	for (unsigned i = 0; hr > 0 && i < sp->n_devs; i++) {
		vs_vmm_device *o = &sp->devs[i];
		get_bucket(&o->rl.bw, &r->b[i][0]);
		get_bucket(&o->rl.ops, &r->b[i][1]);
		get_bucket(&o->tx_rl.bw, &r->b[i][2]);
		get_bucket(&o->tx_rl.ops, &r->b[i][3]);
	}
	free(r);
	return hr < 0 ? -1 : 0;
}

static void spec_from(vs_vmm_spec *sp, const vs_snap_machine *d)
{
	memset(sp, 0, sizeof(*sp));
	sp->ring3 = d->flags & VS_SNAP_M_RING3;
	sp->track_dirty = d->flags & VS_SNAP_M_TRACK_DIRTY;
	sp->cpus = d->ncpus;
	sp->mem_size = d->mem_size;
	sp->n_devs = d->n_devs;
	for (unsigned i = 0; i < d->n_devs; i++) {
		vs_vmm_device *o = &sp->devs[i];
		o->kind = d->devs[i].kind == VS_SNAP_DEV_NET ? VS_VMM_DEV_NET : VS_VMM_DEV_BLOCK;
		o->readonly = d->devs[i].flags & VS_SNAP_DEV_RO;
		o->root = d->devs[i].flags & VS_SNAP_DEV_ROOT;
		memcpy(o->id, d->devs[i].id, sizeof(o->id));
		memcpy(o->path, d->devs[i].path, sizeof(o->path));
		memcpy(o->mac, d->devs[i].mac, 6);
	}
}

/* Devices, interrupt lines, VM and vCPU state into the machine just built. */
static int put_back(vs_vmm *m, const vs_snap *s, unsigned n_virtio, vs_err *err)
{
	vs_snap_serial ser;
	vs_snap_i8042 kbd;
	if (vs_snap_read_serial(s, &ser, err) < 0 || vs_snap_read_i8042(s, &kbd, err) < 0)
		return -1;
	vs_serial_restore(&m->serial, &ser);
	vs_i8042_restore(&m->i8042, &kbd);
	if (!m->spec.ring3) {
		vs_snap_acpi_pm pm;
		vs_snap_pvpanic pv;
		if (vs_snap_get(s, VS_SNAP_ACPI_PM, 0, &pm, sizeof(pm), err) < 0 ||
		    vs_snap_get(s, VS_SNAP_PVPANIC, 0, &pv, sizeof(pv), err) < 0)
			return -1;
		vs_acpi_pm_restore(&m->pm, &pm);
		vs_pvpanic_restore(&m->pvpanic, &pv);
		if (pv.panicked)
			atomic_store(&m->console.panicked, 1);
	}
	/* Raised lines are raised again before the irqchip state goes in, so
	 * KVM's per-source line levels agree with the devices'. */
	if (ser.irq_level)
		vs_vm_irq_line(&m->vm, VS_COM1_GSI, 1);
	vs_snap_virtio *v = malloc(sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "restore: allocate virtio state");
	int r = 0;
	for (unsigned i = 0; r == 0 && i < n_virtio; i++) {
		r = vs_snap_read_virtio(s, i, v, err);
		if (r == 0)
			r = vs_virtio_restore(&m->vm.mmio, virtio_base(i), v, err);
		if (r == 0 && v->irq_level)
			vs_vm_irq_line(&m->vm, VS_VIRTIO_GSI_BASE + i, 1);
	}
	free(v);
	if (r < 0 || vs_vm_restore(&m->vm, s, err) < 0)
		return -1;
	for (unsigned i = 0; i < m->ncpus; i++)
		if (vs_vcpu_restore(&m->vcpus[i], s, err) < 0)
			return -1;
	return 0;
}

static int build(vs_vmm *m, const vs_vmm_snap_files *f, const vs_snap *s, const vs_snap_machine *d, bool track,
		 bool shared, vs_err *err)
{
	m->ncpus = d->ncpus;
	memset(&m->acpi, 0, sizeof(m->acpi));
	m->acpi.ncpus = m->ncpus;
	m->cmdline[0] = 0;
	vs_console_init(&m->console, m->opts.in_fd, m->opts.console ? m->opts.out_fd : -1);
	if (vs_vm_create_from(&m->vm, d->mem_size, f->mem_fd, shared, err) < 0)
		return -1;
	m->built = true;
	m->vm.xsave_ok = d->flags & VS_SNAP_M_XSAVE;
	int r = track ? vs_vm_track_dirty(&m->vm, err) : 0;
	if (r == 0)
		r = vs_vmm_add_devices(m, err);
	for (; r == 0 && m->made < m->ncpus; m->made++)
		r = vs_vcpu_create(&m->vcpus[m->made], &m->vm, m->made, m->ncpus, err);
	if (r == 0)
		r = put_back(m, s, d->n_virtio, err);
	return r;
}

int vs_vmm_restore_locked(vs_vmm *m, void *arg, vs_err *err)
{
	const snap_req *q = arg;
	const vs_vmm_snap_files *f = q->f;
	if (m->state != VS_VMM_NOT_STARTED)
		return vs_fail(err, VS_EINVAL_CONFIG, "load a snapshot: the VM has already started");
	uint8_t *buf = NULL;
	size_t len = 0;
	if (q->state_buf) {
		if (!(buf = malloc(q->state_len)))
			return vs_fail(err, ENOMEM, "%s: allocate %zu bytes", f->state_path, q->state_len);
		memcpy(buf, q->state_buf, len = q->state_len);
	} else if (read_state(f, &buf, &len, err) < 0) {
		return -1;
	}
	vs_snap s;
	vs_snap_machine *d = malloc(sizeof(*d));
	vs_vmm_spec *saved = malloc(sizeof(*saved));
	int r = -1;
	if (!d || !saved) {
		vs_fail(err, ENOMEM, "load a snapshot: allocate");
		free(d), free(saved), free(buf);
		return -1;
	}
	if (vs_snap_parse(buf, len, f->state_path, &s, err) < 0)
		goto out_buf;
	struct stat st;
	if (vs_snap_read_machine(&s, d, err) < 0 || check_sections(&s, d, err) < 0)
		goto out;
	if (fstat(f->mem_fd, &st) < 0) {
		vs_fail(err, errno, "memory file %s", f->mem_path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != d->mem_size) {
		vs_fail(err, EINVAL, "memory file %s: %lld bytes, the snapshot's guest has %llu", f->mem_path,
			(long long)st.st_size, (unsigned long long)d->mem_size);
		goto out;
	}
	*saved = m->spec;
	spec_from(&m->spec, d);
	if (optional_from(&m->spec, &s, d, err) < 0) {
		m->spec = *saved;
		goto out;
	}
	bool track = q->track_dirty || m->spec.track_dirty;
	m->spec.track_dirty = track;
	if (vs_vmm_check_disks(&m->spec, err) < 0 || vs_vmm_check_kvm(&m->spec, m->opts.allow_pvm, err) < 0 ||
	    build(m, f, &s, d, track, q->state_buf != NULL, err) < 0 || vs_vmm_start_threads(m, err) < 0) {
		vs_vmm_teardown(m);
		m->spec = *saved;
		goto out;
	}
	m->mem_from_file = true;
	m->mem_dev = st.st_dev;
	m->mem_ino = st.st_ino;
	m->snap_base = true;
	if (m->opts.console)
		vs_console_raw(&m->console);
	if (q->resume) {
		vs_virtio_freeze_all(&m->vm.mmio, false);
		m->state = VS_VMM_RUNNING;
	} else {
		/* The vCPUs park before their first KVM_RUN. */
		atomic_store(&m->vm.pause_req, 1);
		m->state = VS_VMM_PAUSED;
	}
	vs_vmm_open_gate(m);
	r = 0;
out:
	vs_snap_free(&s);
out_buf:
	free(buf);
	free(d);
	free(saved);
	return r;
}
