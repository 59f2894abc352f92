/* Building one machine from a vs_vmm_spec: the request's files are checked
 * first, then the host's KVM; then devices (a list, slots given in order),
 * ACPI and the boot image. Also the end-of-run measurements. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/hostinfo.h"
#include "vmm/dev/virtio.h"
#include "vmm/layout.h"
#include "vmm/vmm_int.h"

static void on_pvpanic(void *opaque)
{
	atomic_store(&((vs_console *)opaque)->panicked, 1);
}

/* The block and network devices in their virtio slot order (also the
 * order a snapshot records them in). */
unsigned vs_vmm_slot_order(const vs_vmm_spec *s, const vs_vmm_device **out)
{
	unsigned n = 0;
	/* The root drive first: it is /dev/vda, as with Firecracker. */
	for (unsigned i = 0; i < s->n_devs; i++)
		if (s->devs[i].kind == VS_VMM_DEV_BLOCK && s->devs[i].root)
			out[n++] = &s->devs[i];
	for (int kind = VS_VMM_DEV_BLOCK; kind <= VS_VMM_DEV_NET; kind++)
		for (unsigned i = 0; i < s->n_devs; i++)
			if ((int)s->devs[i].kind == kind && !(kind == VS_VMM_DEV_BLOCK && s->devs[i].root))
				out[n++] = &s->devs[i];
	return n;
}

/* Every virtio slot in order: the devices above, entropy, then the socket
 * device and the balloon if configured. */
typedef enum { SLOT_DEV, SLOT_RNG, SLOT_VSOCK, SLOT_BALLOON } slot_kind;
typedef struct slot {
	slot_kind kind;
	const vs_vmm_device *dev; /* SLOT_DEV */
} slot;

static unsigned plan_slots(const vs_vmm_spec *s, slot *out)
{
	const vs_vmm_device *devs[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	unsigned n = vs_vmm_slot_order(s, devs);
	for (unsigned i = 0; i < n; i++)
		out[i] = (slot){SLOT_DEV, devs[i]};
	out[n++] = (slot){SLOT_RNG, NULL};
	if (s->vsock.on)
		out[n++] = (slot){SLOT_VSOCK, NULL};
	if (s->balloon.on)
		out[n++] = (slot){SLOT_BALLOON, NULL};
	return n;
}

int vs_vmm_add_devices(vs_vmm *m, vs_err *err)
{
	const vs_vmm_spec *s = &m->spec;
	vs_vm *vm = &m->vm;
	if (vs_serial_add(&m->serial, &vm->pio, VS_COM1_PORT, vs_vm_irq(vm, VS_COM1_GSI), vs_console_out,
			  &m->console, err) < 0 ||
	    vs_i8042_add(&m->i8042, vm, err) < 0)
		return -1;
	if (s->ring3) {
		if (vs_debug_exit_add(&m->dbg, vm, err) < 0)
			return -1;
	} else if (vs_acpi_pm_add(&m->pm, vm, err) < 0 ||
		   vs_pvpanic_add(&m->pvpanic, &vm->pio, on_pvpanic, &m->console, err) < 0) {
		return -1;
	}
	m->acpi.pvpanic = !s->ring3;
	if ((uint64_t)s->balloon.amount_mib << 20 > s->mem_size)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon: amount_mib %u is more than the guest's %llu MiB",
			       s->balloon.amount_mib, (unsigned long long)(s->mem_size >> 20));
	slot slots[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS + 3];
	unsigned n = plan_slots(s, slots);
	if (n > VS_ACPI_MAX_DEVS || VS_VIRTIO_GSI_BASE + n - 1 > VS_VIRTIO_GSI_MAX)
		return vs_fail(err, EINVAL, "%u virtio devices: at most %u supported", n,
			       VS_VIRTIO_GSI_MAX - VS_VIRTIO_GSI_BASE + 1);
	m->virtio_added = true;
	for (unsigned i = 0; i < n; i++) {
		vs_virtio_env env = {
			.mem = &vm->mem,
			.mmio = &vm->mmio,
			.irq = vs_vm_irq(vm, VS_VIRTIO_GSI_BASE + i),
			.mmio_base = VS_VIRTIO_MMIO_BASE + (uint64_t)i * VS_VIRTIO_MMIO_SIZE,
			.jail = !m->opts.no_jail,
		};
		const vs_vmm_device *d = slots[i].dev;
		vs_virtio_dev **h = d ? &m->devh[d - s->devs] : NULL;
		int r;
		if (slots[i].kind == SLOT_RNG) {
			r = vs_virtio_rng_add(&env, err);
		} else if (slots[i].kind == SLOT_VSOCK) {
			r = vs_virtio_vsock_add(&env, s->vsock.guest_cid, s->vsock.uds_path, err);
			m->vsock_bound = r == 0;
		} else if (slots[i].kind == SLOT_BALLOON) {
			vs_balloon_config bc = {.target_pages = s->balloon.amount_mib * 256u,
						.deflate_on_oom = s->balloon.deflate_on_oom,
						.stats_interval_s = s->balloon.stats_interval_s};
			m->balloon = vs_virtio_balloon_add(&env, &bc, err);
			r = m->balloon ? 0 : -1;
		} else if (d->kind == VS_VMM_DEV_BLOCK)
			r = vs_virtio_blk_add(&env, d->path, d->readonly, &d->rl, h, err);
		else
			r = vs_virtio_net_add(&env, d->path, d->mac, &d->rl, &d->tx_rl, h, err);
		if (r < 0)
			return -1;
		m->acpi.virtio_base[i] = env.mmio_base;
		m->acpi.virtio_gsi[i] = env.irq.gsi;
	}
	m->acpi.n_virtio = n;
	return 0;
}

/* Mapped read-only: the loaders copy straight from the page cache. */
static int map_file(const char *what, const char *path, char **out, size_t *len, vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s %s", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, S_ISREG(st.st_mode) ? (e ? e : EINVAL) : EINVAL,
			       "%s %s: not a non-empty regular file", what, path);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return vs_fail(err, e, "map %s %s", what, path);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

void vs_vmm_unmap_files(vs_guest_files *f)
{
	if (f->kernel)
		munmap(f->kernel, f->klen);
	if (f->initrd)
		munmap(f->initrd, f->ilen);
	memset(f, 0, sizeof(*f));
}

int vs_vmm_map_files(const vs_vmm_spec *s, vs_guest_files *f, vs_err *err)
{
	memset(f, 0, sizeof(*f));
	if (s->ring3)
		return map_file("ring-3 guest", s->kernel, &f->kernel, &f->klen, err);
	if (map_file("kernel", s->kernel, &f->kernel, &f->klen, err) < 0)
		return -1;
	int r = vs_boot_linux_check((uint8_t *)f->kernel, f->klen, err);
	if (r < 0)
		vs_wrap(err, "%s", s->kernel);
	else if (s->initrd[0])
		r = map_file("initrd", s->initrd, &f->initrd, &f->ilen, err);
	if (r < 0)
		vs_vmm_unmap_files(f);
	return r;
}

/* The disks open as the device will open them (virtio-blk opens them again
 * once the VM exists): a missing image is named before any KVM message. */
int vs_vmm_check_disks(const vs_vmm_spec *s, vs_err *err)
{
	for (unsigned i = 0; i < s->n_devs; i++) {
		const vs_vmm_device *d = &s->devs[i];
		if (d->kind != VS_VMM_DEV_BLOCK)
			continue;
		int fd = open(d->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return vs_fail(err, errno, "open disk image %s", d->path);
		close(fd);
	}
	return 0;
}

/* /dev/kvm is there and can run this guest; else say what this host has
 * instead. A PVM /dev/kvm runs ring-3 guests but cannot boot a kernel. */
int vs_vmm_check_kvm(const vs_vmm_spec *s, bool allow_pvm, vs_err *err)
{
	vs_hostinfo h;
	vs_host_probe_files(NULL, NULL, &h);
	if (!h.kvm_dev) {
		char why[256];
		vs_host_kvm_why(&h, why, sizeof(why));
		return vs_fail(err, VS_ENOTSUP_HOST, "no /dev/kvm: %s", why);
	}
	if (!s->ring3 && !allow_pvm && vs_host_kvm_kind(&h) == VS_KVM_SOFTWARE)
		return vs_fail(err, VS_ENOTSUP_HOST,
			       "/dev/kvm is PVM (software-assisted, module kvm_pvm): it cannot boot an "
			       "unmodified kernel; use hardware KVM (or allow PVM to try anyway)");
	return 0;
}

int vs_vmm_load_guest(vs_vmm *m, const vs_guest_files *f, vs_boot_result *boot, vs_err *err)
{
	const vs_vmm_spec *s = &m->spec;
	if (s->ring3) {
		if (vs_cpu_write_tables(&m->vm.mem, VS_CPU_RING3_64, err) < 0)
			return -1;
		return vs_boot_ring3(&m->vm.mem, (uint8_t *)f->kernel, f->klen, m->acpi.n_virtio, boot, err);
	}
	vs_boot_image img = {.kernel = (uint8_t *)f->kernel, .kernel_len = f->klen,
			     .initrd = (uint8_t *)f->initrd, .initrd_len = f->ilen, .cmdline = m->cmdline};
	char user[VS_VMM_CMDLINE_MAX + 32];
	const char *root = NULL;
	for (unsigned i = 0; i < s->n_devs; i++)
		if (s->devs[i].kind == VS_VMM_DEV_BLOCK && s->devs[i].root)
			root = s->devs[i].readonly ? "root=/dev/vda ro" : "root=/dev/vda rw";
	snprintf(user, sizeof(user), "%s%s%s", s->cmdline, root && s->cmdline[0] ? " " : "", root ? root : "");
	if (vs_vmm_cmdline(user, m->cmdline, sizeof(m->cmdline), err) < 0 ||
	    vs_acpi_write(&m->vm.mem, &m->acpi, &img.rsdp_addr, err) < 0)
		return -1;
	if (vs_boot_linux(&m->vm.mem, &img, boot, err) < 0)
		return vs_wrap(err, "%s", s->kernel);
	return vs_cpu_write_tables(&m->vm.mem, boot->mode, err);
}

void vs_vmm_measure(vs_vmm *m, vs_vmm_result *res)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		res->max_rss_kib = (uint64_t)ru.ru_maxrss;
	res->startup_cpu_ns = m->vcpus[0].first_run_cpu_ns;
	static unsigned char vec[4096];
	uint64_t resident = 0;
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++) {
		const vs_gmem_region *r = &m->vm.mem.regions[i];
		for (uint64_t off = 0; off < r->size; off += sizeof(vec) * 4096ull) {
			uint64_t chunk = r->size - off < sizeof(vec) * 4096ull ? r->size - off : sizeof(vec) * 4096ull;
			if (mincore(r->host + off, chunk, vec) < 0)
				break;
			for (uint64_t p = 0; p < chunk / 4096; p++)
				resident += vec[p] & 1;
		}
	}
	res->guest_rss_kib = resident * 4;
}
