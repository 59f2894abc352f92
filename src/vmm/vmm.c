/* The engine's handle and its lifecycle: configuration before boot, start
 * (build the machine, start the vCPUs behind a gate until the jail is on),
 * pause/resume (vCPUs parked between KVM_RUNs), the main loop (console
 * input, signals, the panic grace period) and teardown. Building the
 * machine itself is vmm_build.c. */
#include "vmm/vmm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cpuid.h"
#include "vmm/dev/virtio.h"
#include "vmm/jail.h"
#include "vmm/vmm_int.h"

/* After the panic banner, how long the guest may keep printing (its stack
 * trace) before the VMM ends the run itself. */
#define PANIC_GRACE_NS 2000000000ull

static const char machine_cmdline[] = "console=ttyS0 reboot=k panic=-1 pci=off 8250.nr_uarts=1 "
				      "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

int vs_vmm_cmdline(const char *user, char *buf, size_t len, vs_err *err)
{
	int n = snprintf(buf, len, "%s%s%s", machine_cmdline, user && *user ? " " : "", user ? user : "");
	if (n < 0 || (size_t)n >= len)
		return vs_fail(err, E2BIG, "kernel command line longer than %zu bytes", len - 1);
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "1 TiB", "16385 KiB": the largest unit that divides the size. */
static const char *size_str(uint64_t b, char *buf, size_t len)
{
	static const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned u = 0;
	while (u < 6 && b && b % 1024 == 0)
		b /= 1024, u++;
	snprintf(buf, len, "%llu %s", (unsigned long long)b, units[u]);
	return buf;
}

int vs_vmm_check_memory(uint64_t size, const char *what, vs_err *err)
{
	char s[32], host[32];
	if (size < VS_VMM_MIN_MEMORY)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %s is less than the %s a guest needs", what,
			       size_str(size, s, sizeof(s)), size_str(VS_VMM_MIN_MEMORY, host, sizeof(host)));
	if (size % 4096)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %s is not a whole number of 4 KiB pages", what,
			       size_str(size, s, sizeof(s)));
	/* Guest RAM is mapped lazily, so nothing fails at start; but a guest
	 * that uses more than the host has only meets the OOM killer. */
	struct sysinfo si;
	if (sysinfo(&si) == 0 && size / si.mem_unit > si.totalram) {
		uint64_t total = (uint64_t)si.totalram * si.mem_unit;
		snprintf(host, sizeof(host), "%.1f GiB", (double)total / (1ull << 30));
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: %s is more than this host's %s of RAM", what,
			       size_str(size, s, sizeof(s)), host);
	}
	return 0;
}

static void wake(vs_vmm *m)
{
	uint64_t one = 1;
	if (write(m->wake_efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; vs_vmm_wait re-reads the state anyway. */
	}
}

vs_vmm *vs_vmm_new(const vs_vmm_options *opts, vs_err *err)
{
	vs_vmm *m = calloc(1, sizeof(*m));
	if (!m) {
		vs_fail(err, ENOMEM, "allocate VMM state");
		return NULL;
	}
	m->opts = *opts;
	m->spec.cpus = 1;
	m->spec.mem_size = VS_VMM_DEFAULT_MEMORY;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->start_cv, NULL);
	m->owner = pthread_self();
	pthread_mutex_init(&m->gate_mu, NULL);
	pthread_cond_init(&m->gate_cv, NULL);
	sigset_t stopset;
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	/* SIGINT/SIGTERM only via the signalfd, on every thread made later. */
	pthread_sigmask(SIG_BLOCK, &stopset, &m->old_mask);
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &stopset, SFD_CLOEXEC | SFD_NONBLOCK);
	m->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->sigfd < 0 || m->wake_efd < 0) {
		vs_fail(err, errno, "create the VMM's signal and event fds");
		vs_vmm_destroy(m);
		return NULL;
	}
	if (vs_vcpu_signals_init(err) < 0) {
		vs_vmm_destroy(m);
		return NULL;
	}
	return m;
}

static int preboot(vs_vmm *m, const char *what, vs_err *err)
{
	if (m->state == VS_VMM_NOT_STARTED)
		return 0;
	return vs_fail(err, VS_EINVAL_CONFIG, "set %s: not possible after the VM has started", what);
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what, vs_err *err)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: longer than %zu bytes", what, cap - 1);
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int vs_vmm_set_boot(vs_vmm *m, const char *kernel, const char *initrd, const char *cmdline, bool ring3,
		    vs_err *err)
{
	vs_vmm_spec s;
	pthread_mutex_lock(&m->mu);
	int r = preboot(m, "the boot source", err);
	if (r == 0 && (!kernel || !*kernel))
		r = vs_fail(err, VS_EINVAL_CONFIG, "boot source: no kernel image path");
	if (r == 0)
		r = copy_str(s.kernel, sizeof(s.kernel), kernel, "kernel image path", err);
	if (r == 0)
		r = copy_str(s.initrd, sizeof(s.initrd), initrd, "initrd path", err);
	if (r == 0)
		r = copy_str(s.cmdline, sizeof(s.cmdline), cmdline, "boot arguments", err);
	if (r == 0) {
		memcpy(m->spec.kernel, s.kernel, sizeof(s.kernel));
		memcpy(m->spec.initrd, s.initrd, sizeof(s.initrd));
		memcpy(m->spec.cmdline, s.cmdline, sizeof(s.cmdline));
		m->spec.ring3 = ring3;
		m->have_boot = true;
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_set_machine(vs_vmm *m, unsigned cpus, uint64_t mem_size, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = preboot(m, "the machine configuration", err);
	if (r == 0 && (cpus == 0 || cpus > VS_VMM_MAX_CPUS))
		r = vs_fail(err, VS_EINVAL_CONFIG, "%u vCPUs: must be 1..%d", cpus, VS_VMM_MAX_CPUS);
	if (r == 0)
		r = vs_vmm_check_memory(mem_size, "guest memory", err);
	if (r == 0) {
		m->spec.cpus = cpus;
		m->spec.mem_size = mem_size;
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_set_track_dirty(vs_vmm *m, bool on, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = preboot(m, "dirty page tracking", err);
	if (r == 0)
		m->spec.track_dirty = on;
	pthread_mutex_unlock(&m->mu);
	return r;
}

static int put_device_locked(vs_vmm *m, const vs_vmm_device *d, vs_err *err)
{
	const char *what = d->kind == VS_VMM_DEV_BLOCK ? "drive" : "network interface";
	if (preboot(m, what, err) < 0)
		return -1;
	if (!d->id[0] || !memchr(d->id, 0, sizeof(d->id)))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: id must be 1..%d characters", what, VS_VMM_ID_MAX - 1);
	if (!d->path[0] || !memchr(d->path, 0, sizeof(d->path)))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s %s: no %s", what, d->id,
			       d->kind == VS_VMM_DEV_BLOCK ? "path on the host" : "host device name");
	if (vs_vmm_check_rl(what, d->id, &d->rl, err) < 0 || vs_vmm_check_rl(what, d->id, &d->tx_rl, err) < 0)
		return -1;
	if (d->kind == VS_VMM_DEV_NET && strlen(d->path) >= 16)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s %s: tap name %s is longer than 15 characters", what, d->id,
			       d->path);
	unsigned same_kind = 0, at = m->spec.n_devs;
	for (unsigned i = 0; i < m->spec.n_devs; i++) {
		const vs_vmm_device *o = &m->spec.devs[i];
		if (o->kind != d->kind)
			continue;
		if (!strcmp(o->id, d->id))
			at = i;
		else if (d->kind == VS_VMM_DEV_BLOCK && d->root && o->root)
			return vs_fail(err, VS_EINVAL_CONFIG, "drive %s: drive %s is already the root device", d->id,
				       o->id);
		same_kind++;
	}
	unsigned max = d->kind == VS_VMM_DEV_BLOCK ? VS_VMM_MAX_DISKS : VS_VMM_MAX_NETS;
	if (at == m->spec.n_devs && same_kind >= max)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s %s: at most %u of them", what, d->id, max);
	m->spec.devs[at] = *d;
	static const uint8_t zero[6];
	if (d->kind == VS_VMM_DEV_NET && !memcmp(d->mac, zero, 6)) {
		/* No MAC given: 52:54:00 + a hash of the tap name (stable across runs). */
		uint32_t h = 2166136261u;
		for (const char *c = d->path; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		uint8_t def[6] = {0x52, 0x54, 0x00, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h};
		memcpy(m->spec.devs[at].mac, def, 6);
	}
	if (at == m->spec.n_devs)
		m->spec.n_devs++;
	return 0;
}

int vs_vmm_put_device(vs_vmm *m, const vs_vmm_device *d, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = put_device_locked(m, d, err);
	pthread_mutex_unlock(&m->mu);
	return r;
}

vs_vmm_state vs_vmm_state_of(vs_vmm *m)
{
	pthread_mutex_lock(&m->mu);
	vs_vmm_state s = m->state;
	pthread_mutex_unlock(&m->mu);
	return s;
}

bool vs_vmm_jailed(vs_vmm *m)
{
	pthread_mutex_lock(&m->mu);
	bool j = m->jailed;
	pthread_mutex_unlock(&m->mu);
	return j;
}

void vs_vmm_describe(vs_vmm *m, vs_vmm_spec *out)
{
	pthread_mutex_lock(&m->mu);
	*out = m->spec;
	pthread_mutex_unlock(&m->mu);
}

void vs_vmm_open_gate(vs_vmm *m)
{
	pthread_mutex_lock(&m->gate_mu);
	m->gate_open = true;
	pthread_cond_broadcast(&m->gate_cv);
	pthread_mutex_unlock(&m->gate_mu);
}

static void *vcpu_thread(void *arg)
{
	vs_vcpu *v = arg;
	vs_vmm *m = v->opaque;
	/* Each vCPU thread jails itself (its own filter, as Firecracker's
	 * vCPU threads have) before it may run the guest. */
	vs_err jerr = {0};
	bool ok = !m->jail_on || vs_jail_apply_self(m->jail_extra, m->n_jail_extra, &jerr) == 0;
	pthread_mutex_lock(&m->gate_mu);
	m->ready++;
	if (!ok && !m->jail_failed) {
		m->jail_failed = true;
		m->jail_err = jerr;
	}
	pthread_cond_broadcast(&m->gate_cv);
	while (!m->gate_open)
		pthread_cond_wait(&m->gate_cv, &m->gate_mu);
	pthread_mutex_unlock(&m->gate_mu);
	if (ok)
		vs_vcpu_loop(v);
	/* One vCPU leaving ends the VM: the others are kicked by the main loop. */
	if (atomic_load(&v->vm->stop) == VS_STOP_NONE)
		vs_vm_request_stop(v->vm, VS_STOP_ERROR, VS_VM_EXIT_VMM, "vCPU thread ended");
	vs_vm_vcpu_exited(v->vm);
	return NULL;
}

static void join_vcpus(vs_vmm *m)
{
	for (unsigned i = 0; i < m->started; i++) {
		vs_vcpu_kick(&m->vcpus[i]);
		pthread_join(m->vcpus[i].thread, NULL);
		m->vcpus[i].thread_started = false;
	}
	m->started = 0;
}

/* Undo a (partial) build: nothing of the machine is left. */
void vs_vmm_teardown(vs_vmm *m)
{
	if (!m->built)
		return;
	if (m->started) {
		vs_vm_request_stop(&m->vm, VS_STOP_ERROR, VS_VM_EXIT_VMM, "VM torn down");
		vs_vmm_open_gate(m);
		join_vcpus(m);
	}
	vs_mig_thread_stop(m);
	vs_console_restore(&m->console);
	for (unsigned i = 0; i < m->made; i++)
		vs_vcpu_destroy(&m->vcpus[i]);
	if (m->virtio_added)
		vs_virtio_destroy_all(&m->vm.mmio);
	m->balloon = NULL;
	/* Once jailed the process can unlink nothing: the socket stays, as
	 * Firecracker's does. */
	if (m->vsock_bound && !m->jailed)
		unlink(m->spec.vsock.uds_path);
	m->vsock_bound = false;
	vs_vm_destroy(&m->vm);
	m->built = m->virtio_added = m->gate_open = false;
	memset(m->devh, 0, sizeof(m->devh));
	m->made = 0;
}

int vs_vmm_start_threads(vs_vmm *m, vs_err *err)
{
	m->gate_open = m->jail_failed = false;
	m->ready = 0;
	m->jail_on = !m->opts.no_jail;
	size_t nv = 0;
	const int *virtio = vs_virtio_syscalls(&nv);
	if (nv + m->opts.n_jail_extra > sizeof(m->jail_extra) / sizeof(m->jail_extra[0]))
		return vs_fail(err, E2BIG, "seccomp: %zu extra system calls", nv + m->opts.n_jail_extra);
	memcpy(m->jail_extra, virtio, nv * sizeof(int));
	if (m->opts.n_jail_extra)
		memcpy(m->jail_extra + nv, m->opts.jail_extra, m->opts.n_jail_extra * sizeof(int));
	m->n_jail_extra = nv + m->opts.n_jail_extra;
	for (; m->started < m->ncpus; m->started++) {
		vs_vcpu *v = &m->vcpus[m->started];
		v->opaque = m;
		int e = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (e)
			return vs_fail(err, e, "start vCPU %u thread", m->started);
		v->thread_started = true;
	}
	pthread_mutex_lock(&m->gate_mu);
	while (m->ready < m->started)
		pthread_cond_wait(&m->gate_cv, &m->gate_mu);
	bool failed = m->jail_failed;
	if (failed && err)
		*err = m->jail_err;
	pthread_mutex_unlock(&m->gate_mu);
	if (failed)
		return vs_wrap(err, "vCPU thread");
	if (vs_mig_thread_start(m, err) < 0)
		return -1;
	/* Then this thread (the VMM's main loop) jails itself. */
	if (m->jail_on) {
		if (vs_jail_apply_vmm(m->jail_extra, m->n_jail_extra, err) < 0)
			return -1;
		m->jailed = true;
	}
	return 0;
}

static int start_locked(vs_vmm *m, vs_err *err)
{
	if (m->state != VS_VMM_NOT_STARTED)
		return vs_fail(err, VS_EINVAL_CONFIG, "start the VM: it has already started");
	if (!m->have_boot)
		return vs_fail(err, VS_EINVAL_CONFIG, "start the VM: no boot source (kernel image) configured");
	if (atomic_load(&m->stop_pending))
		return vs_fail(err, ECANCELED, "start the VM: the VMM is stopping");
	const vs_vmm_spec *s = &m->spec;
	/* The request's own files first, the host's KVM last. */
	vs_guest_files files;
	if (vs_vmm_map_files(s, &files, err) < 0)
		return -1;
	if (vs_vmm_check_disks(s, err) < 0 || vs_vmm_check_kvm(s, m->opts.allow_pvm, err) < 0) {
		vs_vmm_unmap_files(&files);
		return -1;
	}
	m->ncpus = s->ring3 ? 1 : s->cpus;
	memset(&m->acpi, 0, sizeof(m->acpi));
	m->acpi.ncpus = m->ncpus;
	m->cmdline[0] = 0;
	vs_console_init(&m->console, m->opts.in_fd, m->opts.console ? m->opts.out_fd : -1);
	vs_boot_result boot;
	if (vs_vm_create(&m->vm, s->mem_size, err) < 0) {
		vs_vmm_unmap_files(&files);
		return -1;
	}
	m->built = true;
	m->vm.xsave_ok = m->opts.xsave < 0 ? vs_cpuid_xsave_usable() : m->opts.xsave > 0;
	int r = s->track_dirty ? vs_vm_track_dirty(&m->vm, err) : 0;
	if (r == 0)
		r = vs_vmm_add_devices(m, err);
	if (r == 0)
		r = vs_vmm_load_guest(m, &files, &boot, err);
	vs_vmm_unmap_files(&files);
	for (; r == 0 && m->made < m->ncpus; m->made++)
		r = vs_vcpu_create(&m->vcpus[m->made], &m->vm, m->made, m->ncpus, err);
	if (r == 0)
		r = vs_cpu_set_boot_regs(m->vcpus[0].fd, boot.mode, &boot.entry, err);
	if (r == 0)
		r = vs_vmm_start_threads(m, err);
	if (r < 0) {
		vs_vmm_teardown(m);
		return -1;
	}
	if (m->opts.console)
		vs_console_raw(&m->console);
	m->state = VS_VMM_RUNNING;
	vs_vmm_open_gate(m);
	return 0;
}

/* Run fn on the owner thread (which may build a VM: this thread's jail,
 * if any, could not), under mu; from another thread, hand it over and wait
 * for the outcome. Called with mu held. */
static int on_owner(vs_vmm *m, int (*fn)(vs_vmm *, void *, vs_err *), void *arg, const char *what, vs_err *err)
{
	if (pthread_equal(pthread_self(), m->owner))
		return fn(m, arg, err);
	if (m->req_fn)
		return vs_fail(err, EBUSY, "%s: another request is in progress", what);
	m->req_fn = fn;
	m->req_arg = arg;
	m->req_done = false;
	wake(m);
	while (!m->req_done)
		pthread_cond_wait(&m->start_cv, &m->mu);
	int r = m->req_rc;
	if (r < 0 && err)
		*err = m->req_err;
	m->req_fn = NULL;
	return r;
}

/* On the owner, mu held: do a handed-over call, or refuse it (`why`). */
static void serve_request(vs_vmm *m, const char *why)
{
	if (!m->req_fn || m->req_done)
		return;
	if (why)
		m->req_rc = vs_fail(&m->req_err, ECANCELED, "%s", why);
	else
		m->req_rc = m->req_fn(m, m->req_arg, &m->req_err);
	m->req_done = true;
	pthread_cond_broadcast(&m->start_cv);
}

int vs_vmm_call(vs_vmm *m, int (*fn)(vs_vmm *, void *, vs_err *), void *arg, const char *what, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	/* Once stopped no loop serves a handed-over call. */
	int r = m->state == VS_VMM_STOPPED ? vs_fail(err, ECANCELED, "%s: the VM stopped", what)
					   : on_owner(m, fn, arg, what, err);
	pthread_mutex_unlock(&m->mu);
	return r;
}

static int start_fn(vs_vmm *m, void *arg, vs_err *err)
{
	(void)arg;
	return start_locked(m, err);
}

int vs_vmm_start(vs_vmm *m, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r;
	if (m->state != VS_VMM_NOT_STARTED || (m->req_fn && !pthread_equal(pthread_self(), m->owner)))
		r = vs_fail(err, VS_EINVAL_CONFIG, "start the VM: it has already %s",
			    m->state == VS_VMM_NOT_STARTED ? "been asked to start" : "started");
	else
		r = on_owner(m, start_fn, NULL, "start the VM", err);
	pthread_mutex_unlock(&m->mu);
	if (r == 0)
		wake(m);
	return r;
}

int vs_vmm_snapshot(vs_vmm *m, const vs_vmm_snap_files *f, vs_vmm_snap_type type, vs_err *err)
{
	snap_req q = {.f = f, .type = type};
	pthread_mutex_lock(&m->mu);
	int r;
	if (m->state != VS_VMM_PAUSED)
		r = vs_fail(err, VS_EINVAL_CONFIG, "create a snapshot: the VM must be paused (it is %s)",
			    m->state == VS_VMM_RUNNING ? "running" : m->state == VS_VMM_NOT_STARTED ? "not started" : "stopped");
	else
		r = on_owner(m, vs_vmm_snapshot_locked, &q, "create a snapshot", err);
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_restore(vs_vmm *m, const vs_vmm_snap_files *f, bool resume, bool track_dirty, vs_err *err)
{
	snap_req q = {.f = f, .resume = resume, .track_dirty = track_dirty};
	pthread_mutex_lock(&m->mu);
	int r;
	if (m->state != VS_VMM_NOT_STARTED)
		r = vs_fail(err, VS_EINVAL_CONFIG, "load a snapshot: not possible after the VM has started");
	else if (m->have_boot || m->spec.n_devs)
		r = vs_fail(err, VS_EINVAL_CONFIG, "load a snapshot: not possible after configuring boot-specific resources");
	else if (atomic_load(&m->stop_pending))
		r = vs_fail(err, ECANCELED, "load a snapshot: the VMM is stopping");
	else
		r = on_owner(m, vs_vmm_restore_locked, &q, "load a snapshot", err);
	pthread_mutex_unlock(&m->mu);
	if (r == 0)
		wake(m);
	return r;
}

static void kick_one(void *opaque, unsigned i)
{
	vs_vcpu_kick(&((vs_vmm *)opaque)->vcpus[i]);
}

static int running_or_paused(vs_vmm *m, const char *op, vs_err *err)
{
	if (m->state == VS_VMM_RUNNING || m->state == VS_VMM_PAUSED)
		return 0;
	return vs_fail(err, VS_EINVAL_CONFIG, "%s: the VM is %s", op,
		       m->state == VS_VMM_NOT_STARTED ? "not started" : "stopped");
}

void vs_vmm_pause_locked(vs_vmm *m)
{
	if (m->state != VS_VMM_RUNNING)
		return;
	vs_vm_pause(&m->vm, m->ncpus, kick_one, m);
	vs_virtio_freeze_all(&m->vm.mmio, true);
	m->state = VS_VMM_PAUSED;
}

void vs_vmm_resume_locked(vs_vmm *m)
{
	if (m->state != VS_VMM_PAUSED)
		return;
	vs_virtio_freeze_all(&m->vm.mmio, false);
	vs_vm_resume(&m->vm);
	m->state = VS_VMM_RUNNING;
}

int vs_vmm_pause(vs_vmm *m, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = running_or_paused(m, "pause the VM", err);
	if (r == 0)
		vs_vmm_pause_locked(m);
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_resume(vs_vmm *m, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = running_or_paused(m, "resume the VM", err);
	if (r == 0)
		vs_vmm_resume_locked(m);
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_ctrl_alt_del(vs_vmm *m, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = running_or_paused(m, "send Ctrl+Alt+Del", err);
	if (r == 0)
		vs_i8042_ctrl_alt_del(&m->i8042);
	pthread_mutex_unlock(&m->mu);
	return r;
}

void vs_vmm_stop(vs_vmm *m, int status, const char *why)
{
	pthread_mutex_lock(&m->mu);
	if (m->state == VS_VMM_NOT_STARTED) {
		snprintf(m->stop_why, sizeof(m->stop_why), "%s", why ? why : "");
		atomic_store(&m->stop_pending, status + 1);
		wake(m);
	} else if (m->built) {
		vs_vm_request_stop(&m->vm, VS_STOP_EXIT, status, why);
	}
	pthread_mutex_unlock(&m->mu);
}

/* Forward console input and wait for a stop reason or a signal. */
static void main_loop(vs_vmm *m)
{
	uint8_t buf[256];
	size_t have = 0, at = 0;
	bool in_open = m->opts.console && m->opts.in_fd >= 0;
	uint64_t panic_at = 0;
	while (atomic_load(&m->vm.stop) == VS_STOP_NONE) {
		if (have > at)
			at += vs_serial_input(&m->serial, buf + at, have - at);
		struct pollfd p[4] = {{m->vm.stop_efd, POLLIN, 0}, {m->sigfd, POLLIN, 0}, {-1, POLLIN, 0},
				      {m->wake_efd, POLLIN, 0}};
		if (in_open && have == at)
			p[2].fd = m->opts.in_fd;
		/* Retry pending input (guest drains the FIFO) and watch the
		 * panic grace period without a timer fd. */
		int timeout = (have > at || atomic_load(&m->console.panicked)) ? 50 : -1;
		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			break;
		if (p[3].revents & POLLIN) {
			/* A call handed over by another thread (a snapshot). */
			uint64_t v;
			if (read(m->wake_efd, &v, sizeof(v)) < 0) {
				/* Spurious: nothing to serve then. */
			}
			pthread_mutex_lock(&m->mu);
			serve_request(m, NULL);
			pthread_mutex_unlock(&m->mu);
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(m->sigfd, &si, sizeof(si)) == sizeof(si))
				vs_vm_request_stop(&m->vm, VS_STOP_SIGNAL, 128 + (int)si.ssi_signo, NULL);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(m->opts.in_fd, buf, sizeof(buf));
			if (n <= 0)
				in_open = false; /* EOF: the guest just gets no more input */
			else
				have = (size_t)n, at = 0;
		}
		if (atomic_load(&m->console.panicked)) {
			if (!panic_at)
				panic_at = mono_ns();
			else if (mono_ns() - panic_at > PANIC_GRACE_NS)
				vs_vm_request_stop(&m->vm, VS_STOP_ERROR, VS_VM_EXIT_PANIC, "guest kernel panic");
		}
	}
}

static void result_from_stop(vs_vmm *m, vs_vmm_result *res)
{
	vs_vm *vm = &m->vm;
	bool panicked = atomic_load(&m->console.panicked);
	switch ((vs_stop_reason)atomic_load(&vm->stop)) {
	case VS_STOP_RESET:
	case VS_STOP_POWEROFF:
		res->status = panicked ? VS_VM_EXIT_PANIC : VS_VM_EXIT_OK;
		snprintf(res->msg, sizeof(res->msg), "%s", panicked ? "guest kernel panic" : "");
		break;
	case VS_STOP_EXIT:
	case VS_STOP_SIGNAL:
		res->status = vm->stop_status;
		snprintf(res->msg, sizeof(res->msg), "%s", vm->stop_msg);
		break;
	default:
		res->status = vm->stop_status ? vm->stop_status : VS_VM_EXIT_VMM;
		snprintf(res->msg, sizeof(res->msg), "%s", vm->stop_msg);
	}
}

/* Before start: a signal or vs_vmm_stop ends the wait. Returns 1 once the
 * VM runs, 0 with *res filled if it never will. */
static int wait_for_start(vs_vmm *m, vs_vmm_result *res)
{
	for (;;) {
		pthread_mutex_lock(&m->mu);
		int pending = atomic_load(&m->stop_pending);
		serve_request(m, pending ? "the VMM is stopping" : NULL);
		vs_vmm_state st = m->state;
		if (st == VS_VMM_NOT_STARTED && pending) {
			res->status = pending - 1;
			snprintf(res->msg, sizeof(res->msg), "%s", m->stop_why);
			m->state = VS_VMM_STOPPED;
		}
		pthread_mutex_unlock(&m->mu);
		if (st != VS_VMM_NOT_STARTED)
			return st == VS_VMM_STOPPED ? 0 : 1;
		if (pending)
			return 0;
		struct pollfd p[2] = {{m->wake_efd, POLLIN, 0}, {m->sigfd, POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 0;
		uint64_t v;
		if (p[0].revents & POLLIN && read(m->wake_efd, &v, sizeof(v)) < 0) {
			/* Spurious: the state is read again. */
		}
		struct signalfd_siginfo si;
		if (p[1].revents & POLLIN && read(m->sigfd, &si, sizeof(si)) == sizeof(si))
			vs_vmm_stop(m, 128 + (int)si.ssi_signo, NULL);
	}
}

int vs_vmm_wait(vs_vmm *m, vs_vmm_result *res, vs_err *err)
{
	(void)err;
	memset(res, 0, sizeof(*res));
	if (!wait_for_start(m, res))
		return 0;
	main_loop(m);
	/* Parked vCPUs saw the stop (it wakes them); the others get kicked.
	 * Under mu: a pause or key press from the API must not meet threads
	 * being joined (vCPU threads never take mu). */
	pthread_mutex_lock(&m->mu);
	serve_request(m, "the VM stopped");
	join_vcpus(m);
	m->state = VS_VMM_STOPPED;
	pthread_mutex_unlock(&m->mu);
	vs_console_restore(&m->console);
	result_from_stop(m, res);
	vs_vmm_measure(m, res);
	snprintf(res->cmdline, sizeof(res->cmdline), "%s", m->cmdline);
	return 0;
}

void vs_vmm_destroy(vs_vmm *m)
{
	if (!m)
		return;
	vs_vmm_teardown(m);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->wake_efd >= 0)
		close(m->wake_efd);
	pthread_sigmask(SIG_SETMASK, &m->old_mask, NULL);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->start_cv);
	pthread_mutex_destroy(&m->gate_mu);
	pthread_cond_destroy(&m->gate_cv);
	free(m);
}
