/* Guest physical memory. Every guest-physical access in the VMM goes through
 * vs_gmem_ptr(), which checks range and overflow; device code never adds
 * offsets to a host pointer by hand. */
#ifndef VS_VMM_MEMORY_H
#define VS_VMM_MEMORY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define VS_GMEM_MAX_REGIONS 4

typedef struct vs_gmem_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size;
	uint8_t *host; /* host mapping */
	uint64_t file_off; /* where the region lies in a memory (snapshot) file */
	/* Pages the VMM itself wrote (device buffers, used rings), one bit per
	 * page, for diff snapshots: KVM's dirty log sees only the guest's. */
	_Atomic uint64_t *dirty;
} vs_gmem_region;

typedef struct vs_gmem {
	vs_gmem_region regions[VS_GMEM_MAX_REGIONS];
	unsigned n_regions;
} vs_gmem;

/* Map `size` bytes of anonymous memory for the guest, leaving the 32-bit
 * MMIO hole [VS_MMIO_HOLE_START, 4 GiB) unbacked (RAM above it is placed at 4 GiB). */
#define VS_MMIO_HOLE_START 0xC0000000ULL
int vs_gmem_init(vs_gmem *m, uint64_t size, vs_err *err);
/* The same layout from a memory file (regions one after the other, from
 * offset 0), mapped MAP_PRIVATE: pages fault in from the file on demand
 * and the guest's writes never reach it; shared: MAP_SHARED (a migration's
 * memfd, whose pages become the guest's own). */
int vs_gmem_init_file(vs_gmem *m, uint64_t size, int fd, bool shared, vs_err *err);
void vs_gmem_destroy(vs_gmem *m);

/* Track the VMM's own writes (vs_gmem_mark_dirty) from now on. */
int vs_gmem_track(vs_gmem *m, vs_err *err);
/* Record a VMM write of [gpa, gpa+len) (no-op when not tracked). */
void vs_gmem_mark_dirty(const vs_gmem *m, uint64_t gpa, uint64_t len);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region; NULL otherwise (err filled if non-NULL). len 0 is allowed. */
void *vs_gmem_ptr(const vs_gmem *m, uint64_t gpa, uint64_t len, vs_err *err);

/* Copy helpers built on vs_gmem_ptr. */
int vs_gmem_read(const vs_gmem *m, uint64_t gpa, void *dst, uint64_t len, vs_err *err);
int vs_gmem_write(const vs_gmem *m, uint64_t gpa, const void *src, uint64_t len, vs_err *err);

/* Total RAM in bytes. */
uint64_t vs_gmem_size(const vs_gmem *m);

#endif
