/* Split virtqueues (virtio 1.2, 2.7). The device side of one queue: ring
 * placement checks, descriptor-chain walking with full validation and the
 * used ring. Every guest address goes through vs_gmem_ptr(); every
 * descriptor is copied out of guest memory once, then checked, so a guest
 * rewriting it concurrently cannot make us use an unchecked value.
 *
 * Not thread-safe on its own: the owning transport serialises access. */
#ifndef VS_VMM_DEV_VIRTQUEUE_H
#define VS_VMM_DEV_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/error.h"
#include "vmm/memory.h"

/* Largest queue any device offers; also bounds chains and indirect tables. */
#define VS_VQ_MAX_SIZE 256

#define VS_VRING_DESC_F_NEXT 1
#define VS_VRING_DESC_F_WRITE 2
#define VS_VRING_DESC_F_INDIRECT 4
#define VS_VRING_AVAIL_F_NO_INTERRUPT 1

typedef struct vs_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} vs_vring_desc;

typedef struct vs_vq {
	/* Set by the driver through the transport while the queue is not ready. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;

	/* Runtime state, valid while ready. */
	const vs_gmem *mem;
	bool indirect; /* VIRTIO_F_INDIRECT_DESC negotiated */
	const volatile vs_vring_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[num], used_event */
	volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[num] */
	uint16_t last_avail;      /* next avail entry we will take */
	uint16_t used_idx;        /* our copy of used->idx */
} vs_vq;

/* One request: readable (device reads) segments first, then writable ones. */
typedef struct vs_vq_chain {
	uint16_t head;
	unsigned n_out, n_in;  /* iov[0..n_out) readable, iov[n_out..n_out+n_in) writable */
	uint64_t out_len, in_len;
	struct iovec iov[VS_VQ_MAX_SIZE];
} vs_vq_chain;

/* Reset to the state after device reset (not ready, num = 0, addresses 0). */
void vs_vq_reset(vs_vq *q);

/* Check size and ring placement and start using the queue (QueueReady=1).
 * max is the device's QueueNumMax. */
int vs_vq_enable(vs_vq *q, const vs_gmem *mem, uint16_t max, bool indirect, vs_err *err);

/* Take the next available chain. Returns 1 and fills *c, 0 if the ring is
 * empty, -1 if the guest broke the ring or the chain (err says how); the
 * caller then marks the device DEVICE_NEEDS_RESET. */
int vs_vq_pop(vs_vq *q, vs_vq_chain *c, vs_err *err);

/* Give back the chain popped last, unused (e.g. no RX frame after all). */
void vs_vq_unpop(vs_vq *q);

/* Put a chain on the used ring; len = bytes written into its writable part. */
void vs_vq_push(vs_vq *q, uint16_t head, uint32_t len);

/* Whether the driver wants a used-buffer notification now. */
bool vs_vq_needs_irq(const vs_vq *q);

/* Whether the driver posted chains we have not taken yet. */
bool vs_vq_has_avail(const vs_vq *q);

/* Copy between a flat buffer and the segments iov[0..n), starting at byte
 * off of the segments; returns bytes copied (short at the end). */
size_t vs_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t vs_iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

/* Describe bytes [off, off+len) of iov[0..n) as a new vector in out (room
 * for max entries); returns its entry count, or -1 if out of range. */
int vs_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out,
		 unsigned max);

#endif
