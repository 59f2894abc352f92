/* The live migration stream: its format, the sender's frame writer and
 * the one place a received stream is parsed (the destination's choke
 * point: everything it reads from the network goes through vs_mig_recv).
 *
 * Layout (little-endian; docs/architecture.md "Live migration"):
 *   header  32 bytes: magic "VSMIGRAT", u32 version (VS_MIG_VERSION),
 *           u32 page size (4096), u64 guest memory size, u32 flags (0), u32 0
 *   frames  16-byte header {u32 type, u32 n, u64 a} and a payload:
 *     PAGES  a = guest-physical address, n = 1..VS_MIG_MAX_RUN pages,
 *            then n * 4096 bytes of page contents
 *     ZERO   a = guest-physical address, n pages that are all zero now
 *     ROUND  a = the number of the pre-copy round just ended (0, 1, ...)
 *     STATE  a = length (1..VS_SNAP_MAX_SIZE), then a VSSNAPST state file
 *            (snapfile.h: device and vCPU state), once, after the pages
 *     END    nothing; must follow STATE
 *   replies from the destination, same 16-byte header:
 *     RUNNING  the guest runs on the destination (the source may exit);
 *              a = microseconds from END to the guest running there
 *     ERROR    n = message length (<= VS_MIG_MAX_MSG), then the message
 *
 * Every page range must lie inside one RAM region of the guest memory
 * the header announces (the same layout as vs_gmem_init: low RAM up to
 * the 32-bit MMIO hole, the rest from 4 GiB), page-aligned. */
#ifndef VS_VMM_MIGSTREAM_H
#define VS_VMM_MIGSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define VS_MIG_MAGIC "VSMIGRAT"
#define VS_MIG_VERSION 1u
#define VS_MIG_HEADER 32u
#define VS_MIG_FRAME 16u
#define VS_MIG_PAGE 4096u
#define VS_MIG_MAX_RUN 256u /* pages in one PAGES frame: 1 MiB */
#define VS_MIG_MAX_MSG 512u
#define VS_MIG_MAX_MEM (1ull << 40) /* 1 TiB: any size above is not a guest of ours */

enum {
	VS_MIG_PAGES = 1,
	VS_MIG_ZERO = 2,
	VS_MIG_ROUND = 3,
	VS_MIG_STATE = 4,
	VS_MIG_END = 5,
	VS_MIG_RUNNING = 0x10,
	VS_MIG_ERROR = 0x11,
};

/* Where guest-physical addresses are in the flat memory image (the
 * regions one after the other, as a snapshot's memory file). */
typedef struct vs_mig_layout {
	uint64_t mem_size;
	unsigned n;
	struct {
		uint64_t gpa, size, off;
	} r[2];
} vs_mig_layout;
void vs_mig_layout_of(uint64_t mem_size, vs_mig_layout *l);
/* [gpa, gpa + pages*4096) inside one region: 0 and its image offset. */
int vs_mig_range(const vs_mig_layout *l, uint64_t gpa, uint64_t pages, uint64_t *off, vs_err *err);

/* ---- writing (the source) ---- */
void vs_mig_put_header(uint8_t out[VS_MIG_HEADER], uint64_t mem_size);
void vs_mig_put_frame(uint8_t out[VS_MIG_FRAME], uint32_t type, uint32_t n, uint64_t a);

/* ---- reading (the destination) ---- */

/* Read exactly len bytes or fail (a cut stream says so, with what). */
typedef int (*vs_mig_read_fn)(void *ctx, void *buf, size_t len, const char *what, vs_err *err);
/* The memory image for a guest of this size (called once, after the
 * header): a zeroed, writable mapping, or NULL with err. */
typedef uint8_t *(*vs_mig_mem_fn)(void *ctx, uint64_t mem_size, vs_err *err);

typedef struct vs_mig_rx {
	uint64_t mem_size;
	uint8_t *mem;        /* the image (from mem_fn) */
	uint8_t *state;      /* malloc'd state file, once received */
	size_t state_len;
	uint64_t rounds, pages, zero_pages, bytes;
} vs_mig_rx;

/* Read a whole stream, header to END: pages into the image, the state
 * into rx->state. Any deviation (magic, version, page size, memory size,
 * unknown frame, a range outside guest memory, a run too long, frames out
 * of order, a cut) fails naming it and the byte offset; rx->state is then
 * freed. `what` names the peer in messages ("migration from unix:/x"). */
int vs_mig_recv(vs_mig_read_fn rd, vs_mig_mem_fn mem, void *ctx, const char *what, vs_mig_rx *rx, vs_err *err);
void vs_mig_rx_free(vs_mig_rx *rx);

/* A destination's reply frame: RUNNING (0; *restore_us its a), or ERROR
 * (fails with its message), or anything else (fails). */
int vs_mig_read_reply(vs_mig_read_fn rd, void *ctx, const char *what, uint64_t *restore_us, vs_err *err);

#endif
