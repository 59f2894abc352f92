/* Switch the running image to another file with the same bytes, without
 * execve: each PT_LOAD segment of the main program is mapped again from the
 * new file (the writable one becomes anonymous memory holding its current
 * contents), so that no mapping refers to the old file any more, which is
 * what the kernel requires before it repoints /proc/self/exe.
 *
 * Why not execve: a re-exec of the 1.3 MiB static binary was about 2 ms of
 * every `vessel run` here (the kernel's exec, glibc's start-up with its
 * cpuid instructions, each a trap on this guest, and re-faulting the image);
 * this costs a few syscalls and the faults of the pages touched afterwards. */
#include "ctr/self_image.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_LOADS 16

typedef struct {
	uintptr_t start, file_end; /* page-aligned: the file-backed part */
	off_t off;
	int prot;
} load_seg;

typedef struct {
	load_seg seg[MAX_LOADS];
	size_t n;
	uintptr_t relro_start, relro_end;
	int bad;
} image_layout;

static int main_program(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	image_layout *l = arg;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t va = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_GNU_RELRO) {
			l->relro_start = va & ~(page - 1);
			l->relro_end = (va + ph->p_memsz) & ~(page - 1);
		}
		if (ph->p_type != PT_LOAD || !ph->p_filesz)
			continue;
		if (l->n == MAX_LOADS || (va & (page - 1)) != (ph->p_offset & (page - 1))) {
			l->bad = 1;
			break;
		}
		load_seg *s = &l->seg[l->n++];
		s->start = va & ~(page - 1);
		s->file_end = (va + ph->p_filesz + page - 1) & ~(page - 1);
		s->off = (off_t)(ph->p_offset & ~(page - 1));
		s->prot = (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_W ? PROT_WRITE : 0) |
			  (ph->p_flags & PF_X ? PROT_EXEC : 0);
	}
	return 1; /* the first object is the main program: stop there */
}

#if defined(__x86_64__)
__attribute__((always_inline)) static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5,
							      long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* From the first syscall to the end of the second the data segment reads as
 * zeroes, and with it the GOT through which libc (and a sanitizer runtime)
 * is called: so no call here, no instrumentation, and no way back if the
 * kernel fails us in between (it leaves the range unmapped or zeroed). */
__attribute__((noinline, no_sanitize_address, no_sanitize("undefined"))) static void
refill_in_place(uintptr_t start, size_t len, long self, const struct iovec *copy, const struct iovec *seg)
{
	static const char msg[] = "vessel: lost the data segment while switching to the sealed binary\n";
	long r = raw_syscall6(SYS_mmap, (long)start, (long)len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	if (r == (long)start)
		r = raw_syscall6(SYS_process_vm_writev, self, (long)copy, 1, (long)seg, 1, 0);
	if (r != (long)len) {
		raw_syscall6(SYS_write, 2, (long)msg, sizeof(msg) - 1, 0, 0, 0);
		raw_syscall6(SYS_exit_group, 127, 0, 0, 0, 0, 0);
	}
}
#endif

/* The writable segment: its pages hold this process's data, so they go to
 * fresh anonymous memory. The copies are the kernel's (process_vm_*): no
 * page is touched from user space (each first touch of a page is a trap on
 * a shadow-paging guest like this one), and no instrumented memcpy reads
 * the redzones between globals in a sanitizer build. mremap of a filled
 * copy would need no care, but costs 0.3-0.8 ms here against 0.15. The
 * copy lives on the heap rather than in a mapping of its own: munmap's TLB
 * shootdown alone was 0.3 ms of every `run` here. */
static int replace_writable(const load_seg *s, vs_err *err)
{
	size_t len = s->file_end - s->start;
#if defined(__x86_64__)
	void *tmp = malloc(len);
	if (!tmp)
		return vs_fail(err, ENOMEM, "allocate %zu bytes for the data segment", len);
#else
	void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (tmp == MAP_FAILED)
		return vs_fail(err, errno, "map %zu bytes for the data segment", len);
#endif
	struct iovec copy = {tmp, len}, seg = {(void *)s->start, len};
	pid_t self = getpid();
	if (process_vm_readv(self, &copy, 1, &seg, 1, 0) != (ssize_t)len) {
		int e = errno;
#if defined(__x86_64__)
		free(tmp);
#else
		munmap(tmp, len);
#endif
		return vs_fail(err, e, "copy the data segment at %#lx", (unsigned long)s->start);
	}
#if defined(__x86_64__)
	/* A signal handler run inside the window would find its data zeroed. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	refill_in_place(s->start, len, self, &copy, &seg);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(tmp);
#else
	if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s->start) == MAP_FAILED) {
		int e = errno;
		munmap(tmp, len);
		return vs_fail(err, e, "move the data segment copy to %#lx", (unsigned long)s->start);
	}
#endif
	return 0;
}

/* PR_SET_MM_MAP sets every field of the memory layout at once; the present
 * ones are in /proc/self/stat (fields 26-28 and 45-51) and brk(0). It is
 * used rather than PR_SET_MM_EXE_FILE, which wants CAP_SYS_RESOURCE on top
 * of the CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) that both need. */
static int mm_layout(struct prctl_mm_map *m, vs_err *err)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open /proc/self/stat");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return vs_fail(err, n < 0 ? e : EIO, "read /proc/self/stat");
	buf[n] = 0;
	unsigned long long v[52] = {0};
	char *p = strrchr(buf, ')'); /* comm may hold anything but not end the line */
	int field = 3;
	for (p = p ? p + 2 : NULL; p && *p && field < 52; field++) {
		v[field] = strtoull(p, NULL, 10); /* 0 for field 3, the state letter */
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (field < 52)
		return vs_fail(err, EPROTO, "parse /proc/self/stat: %d fields", field - 1);
	*m = (struct prctl_mm_map){.start_code = v[26], .end_code = v[27], .start_stack = v[28],
				   .start_data = v[45], .end_data = v[46], .start_brk = v[47],
				   .brk = (uint64_t)syscall(SYS_brk, 0), .arg_start = v[48], .arg_end = v[49],
				   .env_start = v[50], .env_end = v[51], .exe_fd = (uint32_t)-1};
	return 0;
}

int vs_self_image_replace(int fd, vs_err *err)
{
	image_layout l = {0};
	dl_iterate_phdr(main_program, &l);
	if (l.bad || !l.n)
		return vs_fail(err, ENOEXEC, "cannot tell the program's load segments");
	for (size_t i = 0; i < l.n; i++) {
		const load_seg *s = &l.seg[i];
		if (s->prot & PROT_WRITE) {
			if (replace_writable(s, err) < 0)
				return -1;
		} else if (mmap((void *)s->start, s->file_end - s->start, s->prot, MAP_PRIVATE | MAP_FIXED, fd,
				s->off) == MAP_FAILED) {
			return vs_fail(err, errno, "map the sealed binary at %#lx", (unsigned long)s->start);
		}
	}
	/* Read-only after relocation, as the loader left it. */
	if (l.relro_end > l.relro_start &&
	    mprotect((void *)l.relro_start, l.relro_end - l.relro_start, PROT_READ) < 0)
		return vs_fail(err, errno, "protect the relocated data read-only again");
	struct prctl_mm_map map;
	if (mm_layout(&map, err) < 0)
		return -1;
	map.exe_fd = (uint32_t)fd;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) < 0)
		return vs_fail(err, errno, "make the sealed binary /proc/self/exe (PR_SET_MM_MAP)");
	return 0;
}
