#include "vmm/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/kvm.h>

/* What the VMM itself does after set-up: the vCPU loop (ioctl, signals),
 * the console (read/write/poll), the stop eventfd, thread teardown and
 * the final statistics (getrusage, mincore, clock_gettime). malloc/free
 * and the sanitizer runtimes need the memory calls. */
static const int base_calls[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close, SYS_poll, SYS_ppoll,
	SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_tgkill, SYS_getpid, SYS_gettid,
	SYS_exit, SYS_exit_group, SYS_restart_syscall, SYS_clock_gettime, SYS_clock_nanosleep,
	SYS_nanosleep, SYS_sched_yield, SYS_getrusage, SYS_mincore, SYS_mmap, SYS_munmap,
	SYS_mprotect, SYS_madvise, SYS_brk, SYS_sigaltstack, SYS_lseek, SYS_fstat, SYS_newfstatat,
	SYS_set_robust_list, SYS_rseq, SYS_membarrier,
};

#if defined(__SANITIZE_ADDRESS__)
/* ASan/LSan builds (make SAN=1): the leak checker at exit stops the world
 * with a ptrace-ing clone and reads /proc/self/maps. Never in release. */
#define SANITIZER_BUILD 1
static const int sanitizer_calls[] = {
	SYS_sched_getaffinity, SYS_clone, SYS_clone3, SYS_ptrace, SYS_prctl, SYS_wait4, SYS_rt_sigaction,
	SYS_getdents64, SYS_getdents, SYS_readlink, SYS_openat, SYS_open, SYS_kill, SYS_getppid, SYS_arch_prctl, SYS_pipe2,
};
#else
#define SANITIZER_BUILD 0
static const int sanitizer_calls[] = {-1};
#endif

static const unsigned long ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TCGETS, TCSETS, TCSETSW, TCSETSF,
};

/* The VMM (owner) thread also takes snapshots: it reads every KVM state
 * (the vCPUs are parked) and writes the files the API thread opened. */
static const unsigned long snapshot_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TCGETS, TCSETS, TCSETSW, TCSETSF,
	KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS,
	KVM_GET_MSRS, KVM_GET_MSR_INDEX_LIST, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
	KVM_GET_DEBUGREGS, KVM_GET_CPUID2, KVM_GET_TSC_KHZ, KVM_CHECK_EXTENSION, KVM_GET_IRQCHIP,
	KVM_GET_PIT2, KVM_GET_CLOCK, KVM_GET_DIRTY_LOG,
};
static const int snapshot_calls[] = {SYS_pwrite64, SYS_ftruncate, SYS_fdatasync};

/* The API thread (src/vmm/api/server.c): socket I/O and memory, futexes
 * for the engine's locks, tgkill to kick vCPUs into a pause, getrandom
 * (json-c seeds its hash tables), sysinfo (machine-config checks memory
 * against the host's), and ioctl only for KVM_IRQ_LINE (a key press
 * raises IRQ 1). It opens the files the API names (PUT /logger, /metrics;
 * PATCH /drives path_on_host; /snapshot/create and /snapshot/load, whose
 * descriptors it hands to the engine, whose threads open nothing once
 * jailed): openat with plain read/write/create/append flags only (see
 * api_open_flags), then fstat, lseek and a no-op fallocate probe for a
 * drive, timerfd_settime to wake a throttled device under its new limits. */
static const int api_calls[] = {
	SYS_read, SYS_write, SYS_close, SYS_poll, SYS_ppoll, SYS_accept4, SYS_futex, SYS_rt_sigreturn, SYS_getrandom, SYS_sysinfo, SYS_sigaltstack,
	SYS_rt_sigprocmask, SYS_tgkill, SYS_getpid, SYS_gettid, SYS_exit, SYS_restart_syscall,
	SYS_clock_gettime, SYS_sched_yield, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk,
	SYS_set_robust_list, SYS_rseq, SYS_membarrier, SYS_fstat, SYS_newfstatat, SYS_lseek,
	SYS_timerfd_settime,
};
/* No O_PATH, O_DIRECTORY, O_TMPFILE, O_TRUNC, O_DIRECT...: a file to read,
 * write or append to, nothing else. 0100000 is the kernel's O_LARGEFILE. */
static const unsigned long api_open_flags = O_ACCMODE | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
					    0100000;
static const unsigned long api_ioctls[] = {KVM_IRQ_LINE};

/* The virtio-vsock thread (src/vmm/dev/virtio_vsock.c): its eventfd and
 * AF_UNIX sockets (accept on uds_path, connect to uds_path_<port>: socket
 * is allowed for AF_UNIX only, below), memory, futexes for the transport
 * lock, and ioctl only for KVM_IRQ_LINE (the device's interrupt). */
static const int vsock_calls[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_sendto, SYS_sendmsg, SYS_close, SYS_poll, SYS_ppoll,
	SYS_accept4, SYS_connect,
	SYS_shutdown, SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_getpid, SYS_gettid,
	SYS_tgkill, SYS_exit, SYS_restart_syscall, SYS_clock_gettime, SYS_sched_yield, SYS_mmap, SYS_munmap,
	SYS_mprotect, SYS_madvise, SYS_brk, SYS_set_robust_list, SYS_rseq, SYS_membarrier,
};
static const unsigned long vsock_ioctls[] = {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS};

/* The migration sender (src/vmm/migrate_send.c): one stream socket to
 * the destination (socket for AF_UNIX/AF_INET/AF_INET6 only, below;
 * non-blocking connect, poll, send/recv), reading guest memory and KVM's
 * dirty log, switching dirty logging on and off (memory slot flags),
 * futexes for the engine's locks; pausing and the device state are done
 * by the VMM thread. */
static const int migrate_calls[] = {
	SYS_read, SYS_write, SYS_close, SYS_poll, SYS_ppoll, SYS_connect,
	SYS_getsockopt, SYS_setsockopt, SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_sigaltstack,
	SYS_getpid, SYS_gettid, SYS_exit, SYS_restart_syscall, SYS_clock_gettime, SYS_sched_yield, SYS_mmap,
	SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk, SYS_set_robust_list, SYS_rseq, SYS_membarrier,
};
static const unsigned long migrate_ioctls[] = {KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION};

/* What load() adds beyond the lists. */
enum {
	UNIX_SOCKETS = 2, /* socket(AF_UNIX, ...) */
	API_OPEN = 4,     /* openat with api_open_flags only (others kill) */
	NET_SOCKETS = 8,  /* socket(AF_UNIX | AF_INET | AF_INET6, ...) */
};

static bool listed(const int *calls, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (calls[i] == nr)
			return true;
	return false;
}

static int load(const int *calls, size_t n, const int *extra, size_t n_extra, const unsigned long *reqs,
		size_t n_reqs, unsigned flags, const char *what, vs_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return vs_fail(err, ENOMEM, "seccomp: create %s filter", what);
	int r = 0;
	if (r == 0 && (flags & (UNIX_SOCKETS | NET_SOCKETS)))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r == 0 && (flags & NET_SOCKETS))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (r == 0 && (flags & NET_SOCKETS))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	for (size_t i = 0; r == 0 && i < n_extra; i++) {
		/* ioctl is filtered by request below */
		if (extra[i] == SYS_ioctl || listed(calls, n, extra[i]) || listed(extra, i, extra[i]))
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, extra[i], 0);
	}
	for (size_t i = 0; r == 0 && i < n_reqs; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_ioctl, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, reqs[i]));
	for (size_t i = 0; r == 0 && SANITIZER_BUILD && i < sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]); i++)
		if (!listed(calls, n, sanitizer_calls[i]) && !listed(extra, n_extra, sanitizer_calls[i]))
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sanitizer_calls[i], 0);
	/* The drive probe: punching a hole past the end, nothing else. */
	if (r == 0 && (flags & API_OPEN))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_fallocate, 1,
				     SCMP_A1(SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE));
	if (r == 0 && (flags & API_OPEN) && !SANITIZER_BUILD)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_openat, 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, ~api_open_flags & 0xffffffffUL, 0));
	/* Opening files after set-up is refused, not fatal: glibc's time
	 * formatting for log lines peeks at /etc/localtime and copes. (The
	 * API thread: other flags than the above kill.) */
	if (r == 0 && !(flags & API_OPEN) && !SANITIZER_BUILD)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SYS_openat, 0);
	if (r == 0 && !SANITIZER_BUILD)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SYS_open, 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return vs_fail(err, -r, "seccomp: load %s filter", what);
	return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int vs_jail_apply_self(const int *extra, size_t n_extra, vs_err *err)
{
	return load(base_calls, N(base_calls), extra, n_extra, ioctls, N(ioctls), 0, "VMM", err);
}

int vs_jail_apply_vmm(const int *extra, size_t n_extra, vs_err *err)
{
	int all[256];
	size_t n = 0;
	for (size_t i = 0; i < N(snapshot_calls); i++)
		all[n++] = snapshot_calls[i];
	for (size_t i = 0; i < n_extra && n < N(all); i++)
		all[n++] = extra[i];
	if (n - N(snapshot_calls) != n_extra)
		return vs_fail(err, E2BIG, "seccomp: %zu extra system calls", n_extra);
	return load(base_calls, N(base_calls), all, n, snapshot_ioctls, N(snapshot_ioctls), 0, "VMM", err);
}

int vs_jail_apply_api(vs_err *err)
{
	return load(api_calls, N(api_calls), NULL, 0, api_ioctls, N(api_ioctls), API_OPEN, "API thread", err);
}

int vs_jail_apply_vsock(vs_err *err)
{
	return load(vsock_calls, N(vsock_calls), NULL, 0, vsock_ioctls, N(vsock_ioctls), UNIX_SOCKETS, "vsock thread", err);
}

int vs_jail_apply_migrate(vs_err *err)
{
	return load(migrate_calls, N(migrate_calls), NULL, 0, migrate_ioctls, N(migrate_ioctls), NET_SOCKETS,
		    "migration thread", err);
}
