#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cpu_state.h"
#include "vmm/cpuid.h"
#include "vmm/vmm.h"

int vs_vcpu_create(vs_vcpu *v, vs_vm *vm, unsigned id, unsigned ncpus, vs_err *err)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return vs_fail(err, errno, "KVM_CREATE_VCPU %u", id);
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		vs_fail(err, errno, "map kvm_run of vCPU %u", id);
		goto fail;
	}
	if (vs_cpuid_setup(v->fd, vm->supported_cpuid, id, ncpus, !vm->xsave_ok, err) < 0 || vs_cpu_set_common(v->fd, err) < 0) {
		vs_wrap(err, "vCPU %u", id);
		goto fail;
	}
	return 0;
fail:
	vs_vcpu_destroy(v);
	return -1;
}

void vs_vcpu_destroy(vs_vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static void on_kick(int sig)
{
	(void)sig;
}

int vs_vcpu_signals_init(vs_err *err)
{
	struct sigaction sa = {.sa_handler = on_kick};
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return -EINTR. */
	if (sigaction(VS_VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return vs_fail(err, errno, "install vCPU kick handler");
	return 0;
}

void vs_vcpu_kick(vs_vcpu *v)
{
	if (!v->run || !v->thread_started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VS_VCPU_KICK_SIGNAL);
}

static void fatal(vs_vcpu *v, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fatal(vs_vcpu *v, int status, const char *fmt, ...)
{
	char msg[200], full[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "vCPU %u: %s", v->id, msg);
	vs_vm_request_stop(v->vm, VS_STOP_ERROR, status, full);
}

static void handle_io(vs_vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	/* String I/O (rep outsb) arrives as `count` back-to-back items. */
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		vs_bus_access(&v->vm->pio, r->io.port, data, r->io.size, r->io.direction == KVM_EXIT_IO_OUT);
}

static uint64_t process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Handle one exit; returns false when the vCPU must stop. */
static bool handle_exit(vs_vcpu *v)
{
	struct kvm_run *r = v->run;
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		atomic_fetch_add_explicit(r->io.direction == KVM_EXIT_IO_OUT ? &v->n_io_out : &v->n_io_in, 1,
					  memory_order_relaxed);
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		if (r->mmio.len > 8) {
			fatal(v, VS_VM_EXIT_KVM, "MMIO access of %u bytes", r->mmio.len);
			return false;
		}
		atomic_fetch_add_explicit(r->mmio.is_write ? &v->n_mmio_write : &v->n_mmio_read, 1, memory_order_relaxed);
		vs_bus_access(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len, r->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* only without a LAPIC in the kernel; nothing to do */
		return true;
	case KVM_EXIT_SHUTDOWN:
		fatal(v, VS_VM_EXIT_CRASH, "guest triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (r->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vs_vm_request_stop(v->vm, VS_STOP_POWEROFF, 0, NULL);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vs_vm_request_stop(v->vm, VS_STOP_RESET, 0, NULL);
			break;
		default:
			fatal(v, VS_VM_EXIT_CRASH, "guest system event %u", r->system_event.type);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		fatal(v, VS_VM_EXIT_KVM, "KVM internal error (suberror %u)", r->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		fatal(v, VS_VM_EXIT_KVM, "KVM entry failed (reason 0x%llx)",
		      (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		fatal(v, VS_VM_EXIT_KVM, "unhandled KVM exit %u", r->exit_reason);
		return false;
	}
}

void vs_vcpu_loop(vs_vcpu *v)
{
	bool first = true;
	while (atomic_load(&v->vm->stop) == VS_STOP_NONE) {
		if (atomic_load(&v->vm->pause_req)) {
			/* KVM finishes an I/O exit (the IN's value into rax, the
			 * string I/O's rsi/rcx) only at the next KVM_RUN: enter once
			 * with immediate_exit, so a parked vCPU's state is whole
			 * (a snapshot reads it). */
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
			(void)ioctl(v->fd, KVM_RUN, 0);
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		}
		vs_vm_pause_point(v->vm);
		if (atomic_load(&v->vm->stop) != VS_STOP_NONE)
			return;
		if (first) {
			v->first_run_cpu_ns = process_cpu_ns();
			first = false;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			fatal(v, VS_VM_EXIT_KVM, "KVM_RUN: %s", strerror(errno));
			return;
		}
		if (!handle_exit(v))
			return;
	}
}
