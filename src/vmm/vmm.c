/* Wiring: guest memory, devices, ACPI, boot image and vCPUs for one run,
 * then the main loop (console input, signals, stop) and teardown. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/console.h"
#include "vmm/dev/legacy.h"
#include "vmm/dev/serial.h"
#include "vmm/dev/virtio.h"
#include "vmm/hostinfo.h"
#include "vmm/jail.h"
#include "vmm/layout.h"
#include "vmm/vcpu.h"

#define MAX_CPUS 32
/* After the panic banner, how long the guest may keep printing (its stack
 * trace) before the VMM ends the run itself. */
#define PANIC_GRACE_NS 2000000000ull

static const char machine_cmdline[] = "console=ttyS0 reboot=k panic=-1 pci=off 8250.nr_uarts=1 "
				      "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

typedef struct vmm {
	const vs_vmm_config *cfg;
	vs_vm vm;
	vs_vcpu vcpus[MAX_CPUS];
	unsigned ncpus;
	vs_serial serial;
	vs_i8042 i8042;
	vs_acpi_pm pm;
	vs_pvpanic pvpanic;
	vs_debug_exit dbg;
	vs_console console;
	vs_acpi_config acpi;
	pthread_barrier_t go; /* vCPU threads wait here until the jail is on */
	bool virtio_added;
} vmm;

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

static void on_pvpanic(void *opaque)
{
	atomic_store(&((vs_console *)opaque)->panicked, 1);
}

/* Legacy devices, then virtio: each --disk, each --net, one rng. */
static int add_devices(vmm *m, vs_err *err)
{
	const vs_vmm_config *cfg = m->cfg;
	vs_vm *vm = &m->vm;
	if (vs_serial_add(&m->serial, &vm->pio, VS_COM1_PORT, vs_vm_irq(vm, VS_COM1_GSI), vs_console_out,
			  &m->console, err) < 0 ||
	    vs_i8042_add(&m->i8042, vm, err) < 0)
		return -1;
	if (cfg->ring3) {
		if (vs_debug_exit_add(&m->dbg, vm, err) < 0)
			return -1;
	} else if (vs_acpi_pm_add(&m->pm, vm, err) < 0 ||
		   vs_pvpanic_add(&m->pvpanic, &vm->pio, on_pvpanic, &m->console, err) < 0) {
		return -1;
	}
	m->acpi.pvpanic = !cfg->ring3;
	unsigned n = cfg->n_disks + cfg->n_nets + 1;
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
		};
		int r;
		if (i < cfg->n_disks)
			r = vs_virtio_blk_add(&env, cfg->disks[i].path, cfg->disks[i].readonly, err);
		else if (i < cfg->n_disks + cfg->n_nets)
			r = vs_virtio_net_add(&env, cfg->nets[i - cfg->n_disks].tap, cfg->nets[i - cfg->n_disks].mac,
					      err);
		else
			r = vs_virtio_rng_add(&env, err);
		if (r < 0)
			return -1;
		m->acpi.virtio_base[i] = env.mmio_base;
		m->acpi.virtio_gsi[i] = env.irq.gsi;
	}
	m->acpi.n_virtio = n;
	return 0;
}

/* Map a whole file read-only: the loaders copy straight from the page
 * cache into guest memory (no intermediate buffer to fault in). */
static int map_file(const char *path, char **out, size_t *len, vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, S_ISREG(st.st_mode) ? (e ? e : EINVAL) : EINVAL, "%s: not a non-empty regular file",
			       path);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return vs_fail(err, e, "map %s", path);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

static void unmap_file(char *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static int load_guest(vmm *m, vs_boot_result *boot, vs_vmm_result *res, vs_err *err)
{
	const vs_vmm_config *cfg = m->cfg;
	char *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0;
	int r = -1;
	if (map_file(cfg->ring3 ? cfg->ring3 : cfg->kernel, &kernel, &klen, err) < 0)
		goto out;
	if (cfg->ring3) {
		r = vs_cpu_write_tables(&m->vm.mem, VS_CPU_RING3_64, err);
		if (r == 0)
			r = vs_boot_ring3(&m->vm.mem, (uint8_t *)kernel, klen, m->acpi.n_virtio, boot, err);
		goto out;
	}
	if (cfg->initrd && map_file(cfg->initrd, &initrd, &ilen, err) < 0)
		goto out;
	vs_boot_image img = {.kernel = (uint8_t *)kernel, .kernel_len = klen,
			     .initrd = (uint8_t *)initrd, .initrd_len = ilen, .cmdline = res->cmdline};
	if (vs_vmm_cmdline(cfg->cmdline, res->cmdline, sizeof(res->cmdline), err) < 0 ||
	    vs_acpi_write(&m->vm.mem, &m->acpi, &img.rsdp_addr, err) < 0)
		goto out;
	if (vs_boot_linux(&m->vm.mem, &img, boot, err) < 0) {
		vs_wrap(err, "%s", cfg->kernel);
		goto out;
	}
	r = vs_cpu_write_tables(&m->vm.mem, boot->mode, err);
out:
	unmap_file(kernel, klen);
	unmap_file(initrd, ilen);
	return r;
}

static void *vcpu_thread(void *arg)
{
	vs_vcpu *v = arg;
	pthread_barrier_wait(v->gate);
	vs_vcpu_loop(v);
	/* One vCPU leaving ends the VM: the others are kicked by the main loop. */
	if (atomic_load(&v->vm->stop) == VS_STOP_NONE)
		vs_vm_request_stop(v->vm, VS_STOP_ERROR, VS_VM_EXIT_VMM, "vCPU thread ended");
	return NULL;
}

/* Forward console input and wait for a stop reason or a signal. */
static void main_loop(vmm *m, int sigfd)
{
	uint8_t buf[256];
	size_t have = 0, at = 0;
	bool in_open = m->cfg->console && m->cfg->in_fd >= 0;
	uint64_t panic_at = 0;
	while (atomic_load(&m->vm.stop) == VS_STOP_NONE) {
		if (have > at)
			at += vs_serial_input(&m->serial, buf + at, have - at);
		struct pollfd p[3] = {{m->vm.stop_efd, POLLIN, 0}, {sigfd, POLLIN, 0}, {-1, POLLIN, 0}};
		if (in_open && have == at)
			p[2].fd = m->cfg->in_fd;
		/* Retry pending input (guest drains the FIFO) and watch the
		 * panic grace period without a timer fd. */
		int timeout = (have > at || atomic_load(&m->console.panicked)) ? 50 : -1;
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				vs_vm_request_stop(&m->vm, VS_STOP_SIGNAL, 128 + (int)si.ssi_signo, NULL);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(m->cfg->in_fd, buf, sizeof(buf));
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

static void result_from_stop(vmm *m, vs_vmm_result *res)
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
		break;
	default:
		res->status = vm->stop_status ? vm->stop_status : VS_VM_EXIT_VMM;
		snprintf(res->msg, sizeof(res->msg), "%s", vm->stop_msg);
	}
}

static void measure(vmm *m, vs_vmm_result *res)
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

static int run_vcpus(vmm *m, vs_vmm_result *res, vs_err *err)
{
	sigset_t stopset, kick;
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	sigemptyset(&kick);
	sigaddset(&kick, VS_VCPU_KICK_SIGNAL);
	/* Threads inherit: SIGINT/SIGTERM only via the signalfd, kicks only
	 * on vCPU threads (unblocked there by the thread mask below). */
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &stopset, &old);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &stopset, SFD_CLOEXEC);
	if (sigfd < 0 || vs_vcpu_signals_init(err) < 0) {
		if (sigfd < 0)
			vs_fail(err, errno, "signalfd");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	pthread_barrier_init(&m->go, NULL, m->ncpus + 1);
	unsigned started = 0;
	int r = 0;
	for (; started < m->ncpus; started++) {
		m->vcpus[started].gate = &m->go;
		int e = pthread_create(&m->vcpus[started].thread, NULL, vcpu_thread, &m->vcpus[started]);
		if (e) {
			r = vs_fail(err, e, "start vCPU %u thread", started);
			break;
		}
		m->vcpus[started].thread_started = true;
	}
	if (r == 0 && !m->cfg->no_jail) {
		size_t n = 0;
		const int *extra = vs_virtio_syscalls(&n);
		r = vs_jail_apply(extra, n, err);
	}
	if (r < 0)
		vs_vm_request_stop(&m->vm, VS_STOP_ERROR, VS_VM_EXIT_VMM, "set-up failed");
	if (started == m->ncpus) {
		if (m->cfg->console)
			vs_console_raw(&m->console);
		pthread_barrier_wait(&m->go);
		if (r == 0)
			main_loop(m, sigfd);
	}
	/* else: threads that started are stuck at the barrier; the process
	 * is about to exit with an error, which ends them. */
	for (unsigned i = 0; i < started && started == m->ncpus; i++) {
		vs_vcpu_kick(&m->vcpus[i]);
		pthread_join(m->vcpus[i].thread, NULL);
	}
	vs_console_restore(&m->console);
	close(sigfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		result_from_stop(m, res);
		measure(m, res);
	}
	return r;
}

int vs_vmm_run(const vs_vmm_config *cfg, vs_vmm_result *res, vs_err *err)
{
	memset(res, 0, sizeof(*res));
	if (cfg->cpus == 0 || cfg->cpus > MAX_CPUS)
		return vs_fail(err, EINVAL, "--cpus %u: must be 1..%d", cfg->cpus, MAX_CPUS);
	if (!cfg->ring3 && !cfg->allow_pvm) {
		vs_hostinfo hi;
		vs_hostinfo_probe(&hi);
		if (hi.kvm_pvm)
			return vs_fail(err, VS_ENOTSUP_HOST,
				       "/dev/kvm is PVM (software-assisted, module kvm_pvm): it cannot boot an "
				       "unmodified kernel; use hardware KVM (set VESSEL_ALLOW_PVM=1 to try anyway)");
	}
	vmm *m = calloc(1, sizeof(*m));
	if (!m)
		return vs_fail(err, ENOMEM, "allocate VMM state");
	m->cfg = cfg;
	m->ncpus = cfg->ring3 ? 1 : cfg->cpus;
	m->acpi.ncpus = m->ncpus;
	vs_console_init(&m->console, cfg->in_fd, cfg->console ? cfg->out_fd : -1);
	int r = -1;
	unsigned made = 0;
	vs_boot_result boot;
	if (vs_vm_create(&m->vm, cfg->mem_size, err) < 0)
		goto out_free;
	if (add_devices(m, err) < 0 || load_guest(m, &boot, res, err) < 0)
		goto out;
	for (; made < m->ncpus; made++)
		if (vs_vcpu_create(&m->vcpus[made], &m->vm, made, m->ncpus, err) < 0)
			goto out;
	if (vs_cpu_set_boot_regs(m->vcpus[0].fd, boot.mode, &boot.entry, err) < 0)
		goto out;
	r = run_vcpus(m, res, err);
out:
	for (unsigned i = 0; i < made; i++)
		vs_vcpu_destroy(&m->vcpus[i]);
	if (m->virtio_added)
		vs_virtio_destroy_all(&m->vm.mmio);
	vs_vm_destroy(&m->vm);
out_free:
	free(m);
	return r;
}
