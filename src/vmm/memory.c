#include "vmm/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int init(vs_gmem *m, uint64_t size, int fd, bool shared, vs_err *err)
{
	memset(m, 0, sizeof(*m));
	if (size == 0 || size % 4096)
		return vs_fail(err, EINVAL, "guest memory size %llu: must be a non-zero multiple of 4 KiB",
			       (unsigned long long)size);
	uint64_t low = size < VS_MMIO_HOLE_START ? size : VS_MMIO_HOLE_START;
	uint64_t parts[2][2] = {{0, low}, {1ULL << 32, size - low}};
	for (int i = 0; i < 2; i++) {
		if (parts[i][1] == 0)
			continue;
		/* In a memory file the regions follow each other: low RAM, then high. */
		uint64_t off = i ? low : 0;
		void *p = mmap(NULL, parts[i][1], PROT_READ | PROT_WRITE,
			       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0), fd, fd < 0 ? 0 : (off_t)off);
		if (p == MAP_FAILED) {
			int e = errno;
			vs_gmem_destroy(m);
			return vs_fail(err, e, "map %llu bytes of guest memory", (unsigned long long)parts[i][1]);
		}
		if (fd < 0)
			madvise(p, parts[i][1], MADV_MERGEABLE);
		m->regions[m->n_regions++] = (vs_gmem_region){
			.gpa = parts[i][0], .size = parts[i][1], .host = p, .file_off = off};
	}
	return 0;
}

int vs_gmem_init(vs_gmem *m, uint64_t size, vs_err *err)
{
	return init(m, size, -1, false, err);
}

int vs_gmem_init_file(vs_gmem *m, uint64_t size, int fd, bool shared, vs_err *err)
{
	return init(m, size, fd, shared, err);
}

int vs_gmem_track(vs_gmem *m, vs_err *err)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		vs_gmem_region *r = &m->regions[i];
		if (r->dirty)
			continue;
		r->dirty = calloc((r->size / 4096 + 63) / 64, sizeof(uint64_t));
		if (!r->dirty)
			return vs_fail(err, ENOMEM, "allocate the dirty page bitmap");
	}
	return 0;
}

void vs_gmem_mark_dirty(const vs_gmem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n_regions && len; i++) {
		const vs_gmem_region *r = &m->regions[i];
		if (!r->dirty || gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t first = (gpa - r->gpa) / 4096;
		uint64_t end = gpa - r->gpa + len > r->size ? r->size : gpa - r->gpa + len;
		for (uint64_t p = first; p < (end + 4095) / 4096; p++)
			atomic_fetch_or(&r->dirty[p / 64], 1ull << (p % 64));
		return;
	}
}

void vs_gmem_destroy(vs_gmem *m)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		munmap(m->regions[i].host, m->regions[i].size);
		free((void *)m->regions[i].dirty);
	}
	m->n_regions = 0;
}

void *vs_gmem_ptr(const vs_gmem *m, uint64_t gpa, uint64_t len, vs_err *err)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		const vs_gmem_region *r = &m->regions[i];
		/* Written to be overflow-proof: no gpa+len sum. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	vs_fail(err, EFAULT, "guest address 0x%llx+0x%llx outside guest memory", (unsigned long long)gpa,
		(unsigned long long)len);
	return NULL;
}

int vs_gmem_read(const vs_gmem *m, uint64_t gpa, void *dst, uint64_t len, vs_err *err)
{
	void *p = vs_gmem_ptr(m, gpa, len, err);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int vs_gmem_write(const vs_gmem *m, uint64_t gpa, const void *src, uint64_t len, vs_err *err)
{
	void *p = vs_gmem_ptr(m, gpa, len, err);
	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

uint64_t vs_gmem_size(const vs_gmem *m)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < m->n_regions; i++)
		total += m->regions[i].size;
	return total;
}
