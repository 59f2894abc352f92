/* Uncompressed ELF vmlinux. With a XEN_ELFNOTE_PHYS32_ENTRY note the kernel
 * is started the PVH way (32-bit protected mode, paging off, ebx =
 * hvm_start_info; see xen/include/public/arch-x86/hvm/start_info.h);
 * without one, at e_entry through the 64-bit boot protocol. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/e820.h"
#include "vmm/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

int vs_boot_zero_page(const vs_gmem *mem, const vs_boot_image *img, const uint8_t *hdr_src, size_t hdr_end,
		      uint64_t kernel_end, vs_err *err);

/* Search one PT_NOTE segment for the PVH entry. */
static int find_pvh_note(const uint8_t *p, size_t len, uint32_t *entry)
{
	size_t off = 0;
	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		size_t name_al = ((size_t)namesz + 3) & ~(size_t)3, desc_al = ((size_t)descsz + 3) & ~(size_t)3;
		off += 12;
		if (name_al > len - off || desc_al > len - off - name_al)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(p + off, "Xen", 4) && descsz >= 4) {
			memcpy(entry, p + off + name_al, 4);
			return 1;
		}
		off += name_al + desc_al;
	}
	return 0;
}

static int write_pvh_info(const vs_gmem *mem, const vs_boot_image *img, uint64_t kernel_end, vs_err *err)
{
	struct hvm_start_info si = {.magic = HVM_START_MAGIC, .version = 1, .rsdp_paddr = img->rsdp_addr};
	uint64_t mod_at = VS_PVH_INFO_ADDR + 0x40, map_at = VS_PVH_INFO_ADDR + 0x80;
	size_t cl = strlen(img->cmdline) + 1;
	if (cl > VS_CMDLINE_MAX)
		return vs_fail(err, EINVAL, "kernel command line is %zu bytes, at most %d supported", cl - 1,
			       VS_CMDLINE_MAX - 1);
	if (vs_gmem_write(mem, VS_CMDLINE_ADDR, img->cmdline, cl, err) < 0)
		return -1;
	si.cmdline_paddr = VS_CMDLINE_ADDR;
	if (img->initrd) {
		struct hvm_modlist_entry m = {.size = img->initrd_len};
		if (vs_boot_place_initrd(mem, img->initrd_len, 0xffffffffULL, kernel_end, &m.paddr, err) < 0 ||
		    vs_gmem_write(mem, m.paddr, img->initrd, img->initrd_len, err) < 0 ||
		    vs_gmem_write(mem, mod_at, &m, sizeof(m), err) < 0)
			return -1;
		si.nr_modules = 1;
		si.modlist_paddr = mod_at;
	}
	vs_e820_entry e[VS_E820_MAX];
	unsigned n = vs_e820_build(mem, e);
	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_entry me = {.addr = e[i].addr, .size = e[i].size, .type = e[i].type};
		if (vs_gmem_write(mem, map_at + i * sizeof(me), &me, sizeof(me), err) < 0)
			return -1;
	}
	si.memmap_paddr = map_at;
	si.memmap_entries = n;
	return vs_gmem_write(mem, VS_PVH_INFO_ADDR, &si, sizeof(si), err);
}

int vs_boot_elf_pvh(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err)
{
	const uint8_t *k = img->kernel;
	size_t len = img->kernel_len;
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return vs_fail(err, EINVAL, "kernel image: truncated ELF header");
	memcpy(&eh, k, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return vs_fail(err, EINVAL, "kernel image: not an x86-64 ELF file");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return vs_fail(err, EINVAL, "kernel image: bad ELF program header table");
	uint32_t pvh_entry = 0;
	int have_pvh = 0;
	uint64_t kernel_end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, k + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return vs_fail(err, EINVAL, "kernel image: ELF segment %u lies outside the file", i);
		if (ph.p_type == PT_NOTE) {
			have_pvh |= find_pvh_note(k + ph.p_offset, ph.p_filesz, &pvh_entry);
			continue;
		}
		if (ph.p_filesz > ph.p_memsz)
			return vs_fail(err, EINVAL, "kernel image: ELF segment %u file size exceeds memory size", i);
		uint8_t *dst = vs_gmem_ptr(mem, ph.p_paddr, ph.p_memsz, err);
		if (!dst)
			return vs_wrap(err, "kernel image: ELF segment %u", i);
		memcpy(dst, k + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > kernel_end)
			kernel_end = ph.p_paddr + ph.p_memsz;
	}
	if (have_pvh) {
		if (write_pvh_info(mem, img, kernel_end, err) < 0)
			return -1;
		out->mode = VS_CPU_PROT32;
		out->entry = (vs_cpu_entry){.rip = pvh_entry, .rbx = VS_PVH_INFO_ADDR, .rsp = VS_BOOT_STACK};
		return 0;
	}
	/* No PVH note: a vmlinux's e_entry is its startup_64 (virtual); the
	 * physical entry is the low bits, as the kernel is linked at
	 * __START_KERNEL_map + phys. */
	if (vs_boot_zero_page(mem, img, NULL, 0, kernel_end, err) < 0)
		return -1;
	out->mode = VS_CPU_LONG64;
	out->entry = (vs_cpu_entry){.rip = eh.e_entry & 0x7fffffffULL, .rsi = VS_ZERO_PAGE_ADDR, .rsp = VS_BOOT_STACK};
	return 0;
}
