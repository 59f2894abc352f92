/* Snapshots of the whole machine (vs_vmm_snapshot; the file format is
 * snapfile.c, restoring vmm_restore.c). A snapshot runs on the owner
 * thread with the VM paused: the machine description, the VM's and every
 * vCPU's KVM state, every device's state, then guest memory to the memory
 * file (all of it, or the dirty pages of a diff). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/dev/virtio.h"
#include "vmm/layout.h"
#include "vmm/vcpu_snap.h"
#include "vmm/vmm_int.h"

_Static_assert(VS_SNAP_MAX_DEVS == VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS, "snapshot device table");
_Static_assert(VS_SNAP_ID_MAX == VS_VMM_ID_MAX && VS_SNAP_PATH_MAX == VS_VMM_PATH_MAX &&
		       VS_SNAP_UDS_MAX == VS_VMM_UDS_MAX,
	       "snapshot strings");

#define PAGE 4096ull

static uint64_t virtio_base(unsigned slot)
{
	return VS_VIRTIO_MMIO_BASE + (uint64_t)slot * VS_VIRTIO_MMIO_SIZE;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path, vs_err *err)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vs_fail(err, n < 0 ? errno : EIO, "write %s", path);
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static void describe(const vs_vmm *m, vs_snap_machine *d)
{
	memset(d, 0, sizeof(*d));
	d->ncpus = m->ncpus;
	d->flags = (m->spec.ring3 ? VS_SNAP_M_RING3 : 0) | (m->vm.xsave_ok ? VS_SNAP_M_XSAVE : 0) |
		   (m->vm.track_dirty ? VS_SNAP_M_TRACK_DIRTY : 0);
	d->mem_size = m->spec.mem_size;
	const vs_vmm_device *order[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	d->n_devs = vs_vmm_slot_order(&m->spec, order);
	d->n_virtio = d->n_devs + 1 + m->spec.vsock.on + m->spec.balloon.on;
	for (unsigned i = 0; i < d->n_devs; i++) {
		vs_snap_device *o = &d->devs[i];
		o->kind = order[i]->kind == VS_VMM_DEV_NET ? VS_SNAP_DEV_NET : VS_SNAP_DEV_BLOCK;
		o->flags = (order[i]->readonly ? VS_SNAP_DEV_RO : 0) | (order[i]->root ? VS_SNAP_DEV_ROOT : 0);
		memcpy(o->id, order[i]->id, sizeof(o->id));
		memcpy(o->path, order[i]->path, sizeof(o->path));
		memcpy(o->mac, order[i]->mac, 6);
	}
}

static void put_bucket(vs_snap_bucket *o, const vs_tbucket_cfg *c)
{
	*o = (vs_snap_bucket){.size = c->size, .one_time_burst = c->one_time_burst, .refill_ms = c->refill_ms};
}

/* The devices' limiters (as PATCHed last), in the description's order;
 * no section when nothing is limited. */
static void save_ratelimits(const vs_vmm *m, vs_snapw *w)
{
	const vs_vmm_device *order[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	unsigned n = vs_vmm_slot_order(&m->spec, order);
	vs_snap_ratelimits r;
	memset(&r, 0, sizeof(r));
	bool any = false;
	for (unsigned i = 0; i < n; i++) {
		const vs_vmm_device *d = order[i];
		any = any || vs_rl_cfg_on(&d->rl) || vs_rl_cfg_on(&d->tx_rl);
		put_bucket(&r.b[i][0], &d->rl.bw);
		put_bucket(&r.b[i][1], &d->rl.ops);
		if (d->kind == VS_VMM_DEV_NET) {
			put_bucket(&r.b[i][2], &d->tx_rl.bw);
			put_bucket(&r.b[i][3], &d->tx_rl.ops);
		}
	}
	if (any)
		vs_snapw_add(w, VS_SNAP_RATELIMITS, 0, &r, sizeof(r));
}

int vs_vmm_save_state(vs_vmm *m, vs_snapw *w, vs_err *err)
{
	vs_snap_machine *d = malloc(sizeof(*d));
	if (!d)
		return vs_fail(err, ENOMEM, "snapshot: allocate the machine description");
	describe(m, d);
	vs_snapw_add(w, VS_SNAP_MACHINE, 0, d, sizeof(*d));
	unsigned n_virtio = d->n_virtio;
	free(d);
	if (m->spec.vsock.on) {
		vs_snap_vsock v = {.guest_cid = m->spec.vsock.guest_cid};
		memcpy(v.uds_path, m->spec.vsock.uds_path, sizeof(v.uds_path));
		memcpy(v.id, m->spec.vsock.id, sizeof(v.id));
		vs_snapw_add(w, VS_SNAP_VSOCK_CFG, 0, &v, sizeof(v));
	}
	if (m->spec.balloon.on) {
		const vs_vmm_balloon *b = &m->spec.balloon;
		vs_snap_balloon o = {.amount_mib = b->amount_mib, .stats_interval_s = b->stats_interval_s,
				     .flags = b->deflate_on_oom ? VS_SNAP_BALLOON_DEFLATE_OOM : 0};
		vs_snapw_add(w, VS_SNAP_BALLOON_CFG, 0, &o, sizeof(o));
	}
	save_ratelimits(m, w);
	if (vs_vm_save(&m->vm, w, err) < 0)
		return -1;
	for (unsigned i = 0; i < m->ncpus; i++)
		if (vs_vcpu_save(&m->vcpus[i], w, err) < 0)
			return -1;
	vs_snap_serial ser;
	vs_snap_i8042 kbd;
	vs_serial_save(&m->serial, &ser);
	vs_i8042_save(&m->i8042, &kbd);
	vs_snapw_add(w, VS_SNAP_SERIAL, 0, &ser, sizeof(ser));
	vs_snapw_add(w, VS_SNAP_I8042, 0, &kbd, sizeof(kbd));
	if (!m->spec.ring3) {
		vs_snap_acpi_pm pm;
		vs_snap_pvpanic pv;
		vs_acpi_pm_save(&m->pm, &pm);
		vs_pvpanic_save(&m->pvpanic, &pv);
		vs_snapw_add(w, VS_SNAP_ACPI_PM, 0, &pm, sizeof(pm));
		vs_snapw_add(w, VS_SNAP_PVPANIC, 0, &pv, sizeof(pv));
	}
	vs_snap_virtio *v = malloc(sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "snapshot: allocate virtio state");
	int r = 0;
	for (unsigned i = 0; r == 0 && i < n_virtio; i++) {
		r = vs_virtio_save(&m->vm.mmio, virtio_base(i), v, err);
		if (r == 0)
			vs_snapw_add(w, VS_SNAP_VIRTIO, i, v, sizeof(*v));
	}
	free(v);
	return r;
}

static bool page_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];
	return !memcmp(p, zero, PAGE);
}

static bool wanted(const vs_gmem_region *r, const uint64_t *want, uint64_t p)
{
	return want ? (want[p / 64] >> (p % 64)) & 1 : !page_zero(r->host + p * PAGE);
}

/* Pages of region r selected by `want` (NULL: all that are not zero; the
 * file is sparse where they were) written at their file offsets, in runs
 * of up to 1 MiB. */
static int write_pages(const vs_gmem_region *r, const uint64_t *want, int fd, const char *path, vs_err *err)
{
	uint64_t pages = r->size / PAGE, p = 0;
	while (p < pages) {
		if (!wanted(r, want, p)) {
			p++;
			continue;
		}
		uint64_t start = p;
		while (p < pages && p - start < 256 && wanted(r, want, p))
			p++;
		if (write_all(fd, r->host + start * PAGE, (p - start) * PAGE, r->file_off + start * PAGE, path, err) < 0)
			return -1;
	}
	return 0;
}

/* Dirty pages of region i since the last call: KVM's log (the guest's
 * writes) OR the VMM's own (device writes), both cleared. */
static uint64_t *take_dirty(vs_vmm *m, unsigned i, vs_err *err)
{
	const vs_gmem_region *r = &m->vm.mem.regions[i];
	size_t words = (r->size / PAGE + 63) / 64;
	uint64_t *bits = calloc(words, sizeof(uint64_t));
	if (!bits) {
		vs_fail(err, ENOMEM, "snapshot: allocate the dirty bitmap");
		return NULL;
	}
	if (vs_vm_dirty_log(&m->vm, i, bits, err) < 0) {
		free(bits);
		return NULL;
	}
	for (size_t w = 0; w < words; w++)
		bits[w] |= atomic_exchange(&r->dirty[w], 0);
	return bits;
}

/* Before anything is written: the memory file can take this snapshot. */
static int check_mem_file(vs_vmm *m, const vs_vmm_snap_files *f, bool diff, vs_err *err)
{
	struct stat st;
	if (fstat(f->mem_fd, &st) < 0)
		return vs_fail(err, errno, "memory file %s", f->mem_path);
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, EINVAL, "memory file %s: not a regular file", f->mem_path);
	uint64_t size = m->spec.mem_size;
	bool backing = m->mem_from_file && st.st_dev == m->mem_dev && st.st_ino == m->mem_ino;
	if (!diff && backing)
		return vs_fail(err, EINVAL, "memory file %s: this VM's memory is mapped from it; write a full snapshot to another file",
			       f->mem_path);
	if (diff && st.st_size != 0 && (uint64_t)st.st_size != size)
		return vs_fail(err, EINVAL, "memory file %s: %lld bytes, neither new nor this guest's %llu (a base to update)",
			       f->mem_path, (long long)st.st_size, (unsigned long long)size);
	return 0;
}

static int save_memory(vs_vmm *m, const vs_vmm_snap_files *f, bool diff, vs_err *err)
{
	uint64_t size = m->spec.mem_size;
	if ((!diff && ftruncate(f->mem_fd, 0) < 0) || ftruncate(f->mem_fd, (off_t)size) < 0)
		return vs_fail(err, errno, "size memory file %s", f->mem_path);
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++) {
		uint64_t *bits = NULL;
		if (m->vm.track_dirty && !(bits = take_dirty(m, i, err)))
			return -1;
		int r = write_pages(&m->vm.mem.regions[i], diff ? bits : NULL, f->mem_fd, f->mem_path, err);
		free(bits);
		if (r < 0)
			return -1;
	}
	return 0;
}

int vs_vmm_snapshot_locked(vs_vmm *m, void *arg, vs_err *err)
{
	const snap_req *q = arg;
	const vs_vmm_snap_files *f = q->f;
	bool diff = q->type == VS_VMM_SNAP_DIFF;
	if (m->state != VS_VMM_PAUSED)
		return vs_fail(err, VS_EINVAL_CONFIG, "create a snapshot: the VM must be paused");
	if (diff && !m->vm.track_dirty)
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "create a diff snapshot: dirty page tracking is off (machine-config track_dirty_pages, or "
			       "enable_diff_snapshots when loading)");
	if (diff && !m->snap_base)
		return vs_fail(err, VS_EINVAL_CONFIG, "create a diff snapshot: there is no base yet; take a full one first");
	if (check_mem_file(m, f, diff, err) < 0)
		return -1;
	vs_snapw w;
	vs_snapw_init(&w);
	uint8_t *buf;
	size_t len;
	if (vs_vmm_save_state(m, &w, err) < 0) {
		vs_snapw_free(&w);
		return vs_wrap(err, "snapshot %s", f->state_path);
	}
	if (vs_snapw_finish(&w, &buf, &len, err) < 0)
		return -1;
	int r = ftruncate(f->state_fd, 0) < 0 ? vs_fail(err, errno, "truncate %s", f->state_path)
					     : write_all(f->state_fd, buf, len, 0, f->state_path, err);
	free(buf);
	if (r == 0)
		r = save_memory(m, f, diff, err);
	if (r == 0)
		m->snap_base = true;
	return r;
}
