/* Guest loading: the bzImage and ELF/PVH loaders fill boot_params /
 * hvm_start_info as the boot protocols say and refuse broken images;
 * the ACPI tables are well-formed; CPUID carries per-vCPU APIC ids. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/cpuid.h"
#include "vmm/layout.h"

static vs_gmem mem;

static int setup(void **state)
{
	(void)state;
	vs_err err;
	assert_int_equal(vs_gmem_init(&mem, 64 << 20, &err), 0);
	return 0;
}
static int teardown(void **state)
{
	(void)state;
	vs_gmem_destroy(&mem);
	return 0;
}

static uint32_t g32(uint64_t gpa)
{
	uint32_t v;
	assert_int_equal(vs_gmem_read(&mem, gpa, &v, 4, NULL), 0);
	return v;
}

/* A minimal bzImage: 4 setup sectors with a 2.15 header, then payload. */
static uint8_t *fake_bzimage(size_t *len)
{
	*len = 5 * 512 + 8192;
	uint8_t *k = calloc(1, *len);
	k[0x1f1] = 4;
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x200] = 0xeb;
	k[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(k + 0x202, "HdrS", 4);
	uint16_t ver = 0x020f, xlf = 1;
	memcpy(k + 0x206, &ver, 2);
	memcpy(k + 0x236, &xlf, 2);
	uint32_t initrd_max = 0x7fffffff, cl_size = 2047, init_size = 0x100000;
	memcpy(k + 0x22c, &initrd_max, 4);
	memcpy(k + 0x238, &cl_size, 4);
	memcpy(k + 0x260, &init_size, 4);
	memset(k + 5 * 512, 0x90, 8192);
	return k;
}

static void test_bzimage_boot_params(void **state)
{
	(void)state;
	size_t len;
	uint8_t *k = fake_bzimage(&len);
	uint8_t initrd[5000];
	memset(initrd, 0xab, sizeof(initrd));
	vs_boot_image img = {.kernel = k, .kernel_len = len, .initrd = initrd, .initrd_len = sizeof(initrd),
			     .cmdline = "console=ttyS0 quiet", .rsdp_addr = VS_ACPI_ADDR};
	vs_boot_result r;
	vs_err err;
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), 0);
	assert_int_equal(r.mode, VS_CPU_LONG64);
	assert_int_equal(r.entry.rip, VS_KERNEL_ADDR + 0x200);
	assert_int_equal(r.entry.rsi, VS_ZERO_PAGE_ADDR);
	uint8_t *bp = vs_gmem_ptr(&mem, VS_ZERO_PAGE_ADDR, 4096, NULL);
	assert_int_equal(bp[0x210], 0xff);             /* type_of_loader */
	assert_true(bp[0x211] & 0x01);                 /* LOADED_HIGH */
	assert_int_equal(g32(VS_ZERO_PAGE_ADDR + 0x228), VS_CMDLINE_ADDR);
	assert_string_equal((char *)vs_gmem_ptr(&mem, VS_CMDLINE_ADDR, 1, NULL), "console=ttyS0 quiet");
	uint32_t rd = g32(VS_ZERO_PAGE_ADDR + 0x218);
	assert_int_equal(rd % 4096, 0);
	assert_true(rd >= VS_KERNEL_ADDR + 0x100000);
	assert_int_equal(g32(VS_ZERO_PAGE_ADDR + 0x21c), sizeof(initrd));
	assert_memory_equal(vs_gmem_ptr(&mem, rd, sizeof(initrd), NULL), initrd, sizeof(initrd));
	/* e820: low RAM, the reserved BIOS area, RAM from 1 MiB to 64 MiB. */
	assert_int_equal(bp[0x1e8], 3);
	uint64_t a, s;
	memcpy(&a, bp + 0x2d0 + 2 * 20, 8);
	memcpy(&s, bp + 0x2d0 + 2 * 20 + 8, 8);
	assert_int_equal(a, 0x100000);
	assert_int_equal(a + s, 64 << 20);
	uint64_t rsdp;
	memcpy(&rsdp, bp + 0x70, 8);
	assert_int_equal(rsdp, VS_ACPI_ADDR);
	/* Payload landed at 1 MiB. */
	assert_int_equal(*(uint8_t *)vs_gmem_ptr(&mem, VS_KERNEL_ADDR, 1, NULL), 0x90);
	free(k);
}

static void test_bzimage_refuses_bad_images(void **state)
{
	(void)state;
	size_t len;
	uint8_t *k = fake_bzimage(&len);
	vs_boot_image img = {.kernel = k, .kernel_len = len, .cmdline = ""};
	vs_boot_result r;
	vs_err err = {0};
	k[0x1f1] = 200; /* more setup sectors than the file has */
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	assert_non_null(strstr(err.msg, "setup sectors"));
	k[0x1f1] = 4;
	uint16_t xlf = 0; /* 32-bit only kernel */
	memcpy(k + 0x236, &xlf, 2);
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	assert_non_null(strstr(err.msg, "64-bit"));
	xlf = 1;
	memcpy(k + 0x236, &xlf, 2);
	uint32_t huge = 0x7fffffff; /* needs more memory than the guest has */
	memcpy(k + 0x260, &huge, 4);
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	img.kernel_len = 100; /* truncated */
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	char junk[4096] = "this is not a kernel";
	img = (vs_boot_image){.kernel = (uint8_t *)junk, .kernel_len = sizeof(junk), .cmdline = ""};
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	assert_non_null(strstr(err.msg, "not a bzImage"));
	/* The kernel's own command line limit is enforced. */
	memcpy(k + 0x260, &(uint32_t){0x1000}, 4);
	char longcl[3000];
	memset(longcl, 'a', sizeof(longcl) - 1);
	longcl[sizeof(longcl) - 1] = 0;
	img = (vs_boot_image){.kernel = k, .kernel_len = len, .cmdline = longcl};
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	assert_non_null(strstr(err.msg, "command line"));
	free(k);
}

/* ELF with one PT_LOAD at 16 MiB and a Xen PVH note. */
static void test_elf_pvh(void **state)
{
	(void)state;
	uint8_t f[4096] = {0};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof(*eh));
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 1024, .p_paddr = 0x1000000, .p_filesz = 16, .p_memsz = 64};
	memset(f + 1024, 0xcc, 16);
	uint32_t note[] = {4, 4, 18, 0x00006e6558 /* "Xen\0" */, 0x1000040};
	memcpy(f + 2048, note, sizeof(note));
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 2048, .p_filesz = sizeof(note)};
	vs_boot_image img = {.kernel = f, .kernel_len = sizeof(f), .cmdline = "root=/dev/vda",
			     .rsdp_addr = VS_ACPI_ADDR};
	vs_boot_result r;
	vs_err err;
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), 0);
	assert_int_equal(r.mode, VS_CPU_PROT32);
	assert_int_equal(r.entry.rip, 0x1000040);
	assert_int_equal(r.entry.rbx, VS_PVH_INFO_ADDR);
	assert_int_equal(g32(VS_PVH_INFO_ADDR), 0x336ec578);
	assert_int_equal(*(uint8_t *)vs_gmem_ptr(&mem, 0x1000000, 1, NULL), 0xcc);
	assert_int_equal(*(uint8_t *)vs_gmem_ptr(&mem, 0x1000020, 1, NULL), 0); /* bss zeroed */
	/* A segment pointing outside the file or guest memory is refused. */
	ph[0].p_filesz = 1 << 20;
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	ph[0].p_filesz = 16;
	ph[0].p_paddr = 0xfffffffffffff000ull;
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
	eh->e_phnum = 60000;
	assert_int_equal(vs_boot_linux(&mem, &img, &r, &err), -1);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void test_acpi_tables(void **state)
{
	(void)state;
	vs_acpi_config cfg = {.ncpus = 3, .n_virtio = 2, .virtio_base = {0xd0000000, 0xd0001000},
			      .virtio_gsi = {5, 6}, .pvpanic = true};
	uint64_t rsdp;
	vs_err err;
	assert_int_equal(vs_acpi_write(&mem, &cfg, &rsdp, &err), 0);
	uint8_t *r = vs_gmem_ptr(&mem, rsdp, 36, NULL);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	uint64_t xsdt;
	memcpy(&xsdt, r + 24, 8);
	uint8_t *x = vs_gmem_ptr(&mem, xsdt, 36, NULL);
	uint32_t xlen = g32(xsdt + 4);
	assert_int_equal(xlen, 36 + 16);
	assert_int_equal(sum(x, xlen), 0);
	int found_madt = 0;
	for (int i = 0; i < 2; i++) {
		uint64_t t;
		memcpy(&t, x + 36 + 8 * i, 8);
		uint8_t *tp = vs_gmem_ptr(&mem, t, 36, NULL);
		uint32_t tl = g32(t + 4);
		assert_int_equal(sum(vs_gmem_ptr(&mem, t, tl, NULL), tl), 0);
		if (!memcmp(tp, "FACP", 4)) {
			assert_int_equal(tl, 276);
			uint32_t dsdt = g32(t + 40);
			uint32_t dl = g32(dsdt + 4);
			uint8_t *d = vs_gmem_ptr(&mem, dsdt, dl, NULL);
			assert_memory_equal(d, "DSDT", 4);
			assert_int_equal(sum(d, dl), 0);
			assert_non_null(memmem(d, dl, "LNRO0005", 8));
			assert_non_null(memmem(d, dl, "QEMU0001", 8));
			assert_non_null(memmem(d, dl, "_S5_", 4));
			assert_int_equal(g32(t + 64), VS_ACPI_PM_PORT + 4); /* PM1a_CNT */
		} else if (!memcmp(tp, "APIC", 4)) {
			found_madt = 1;
			int lapics = 0;
			for (uint32_t off = 44; off < tl; off += tp[off + 1])
				lapics += tp[off] == 0;
			assert_int_equal(lapics, 3);
		}
	}
	assert_true(found_madt);
	cfg.ncpus = 0;
	assert_int_equal(vs_acpi_write(&mem, &cfg, &rsdp, &err), -1);
}

static void test_cpuid_topology(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 e1 = {.function = 1, .ebx = 0xabcd}, eb = {.function = 0xb, .index = 1};
	vs_cpuid_fix_entry(&e1, 5, 6, false);
	assert_int_equal(e1.ebx >> 24, 5);
	assert_int_equal((e1.ebx >> 16) & 0xff, 6);
	assert_int_equal(e1.ebx & 0xffff, 0xabcd);
	assert_true(e1.ecx & (1u << 31));
	vs_cpuid_fix_entry(&eb, 5, 6, false);
	assert_int_equal(eb.edx, 5);
	assert_int_equal(eb.ebx, 6);
	assert_int_equal(eb.eax, 3); /* 6 cores need 3 id bits */
	struct kvm_cpuid_entry2 x = {.function = 1, .ecx = 0xffffffff};
	vs_cpuid_fix_entry(&x, 0, 1, true);
	assert_false(x.ecx & (1u << 26)); /* XSAVE hidden when asked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bzimage_boot_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_refuses_bad_images, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_tables, setup, teardown),
		cmocka_unit_test(test_cpuid_topology),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
