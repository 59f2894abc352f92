/* Device side of split virtqueues; see virtqueue.h. */
#include "vmm/dev/virtqueue.h"

#include <errno.h>
#include <string.h>

/* A guest that breaks the ring protocol; the transport turns this into
 * DEVICE_NEEDS_RESET. */
#define VQ_EBROKEN EPROTO

void vs_vq_reset(vs_vq *q)
{
	memset(q, 0, sizeof(*q));
}

int vs_vq_enable(vs_vq *q, const vs_gmem *mem, uint16_t max, bool indirect, vs_err *err)
{
	uint64_t n = q->num;
	if (n == 0 || n > max || (n & (n - 1)))
		return vs_fail(err, EINVAL, "queue size %u: need a power of two up to %u", q->num, max);
	/* Alignments from virtio 1.2, 2.7: 16 for descriptors, 2 avail, 4 used. */
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return vs_fail(err, EINVAL, "misaligned ring (desc 0x%llx avail 0x%llx used 0x%llx)",
			       (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
			       (unsigned long long)q->used_gpa);
	const void *desc = vs_gmem_ptr(mem, q->desc_gpa, 16 * n, err);
	if (!desc)
		return vs_wrap(err, "descriptor table");
	void *avail = vs_gmem_ptr(mem, q->avail_gpa, 6 + 2 * n, err);
	if (!avail)
		return vs_wrap(err, "available ring");
	void *used = vs_gmem_ptr(mem, q->used_gpa, 6 + 8 * n, err);
	if (!used)
		return vs_wrap(err, "used ring");
	q->mem = mem;
	q->indirect = indirect;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = 0;
	q->used_idx = 0;
	q->ready = true;
	return 0;
}

/* One copy of the descriptor out of guest memory; everything after this
 * looks at the copy only. memcpy because indirect tables need not be aligned. */
static vs_vring_desc read_desc(const volatile vs_vring_desc *table, unsigned i)
{
	vs_vring_desc d;
	memcpy(&d, (const void *)&table[i], sizeof(d));
	return d;
}

static int add_segment(vs_vq *q, vs_vq_chain *c, const vs_vring_desc *d, unsigned i, vs_err *err)
{
	void *p = vs_gmem_ptr(q->mem, d->addr, d->len, err);
	if (!p)
		return vs_fail(err, VQ_EBROKEN, "descriptor %u: buffer 0x%llx+0x%x outside guest memory", i,
			       (unsigned long long)d->addr, d->len);
	bool writable = d->flags & VS_VRING_DESC_F_WRITE;
	if (writable) /* the device may write it: a diff snapshot must carry the page */
		vs_gmem_mark_dirty(q->mem, d->addr, d->len);
	if (!writable && c->n_in)
		return vs_fail(err, VQ_EBROKEN, "descriptor %u: device-readable after device-writable", i);
	uint64_t *total = writable ? &c->in_len : &c->out_len;
	if (*total + d->len > UINT32_MAX)
		return vs_fail(err, VQ_EBROKEN, "descriptor %u: chain longer than 4 GiB", i);
	*total += d->len;
	if (d->len == 0)
		return 0;
	if (c->n_out + c->n_in == VS_VQ_MAX_SIZE)
		return vs_fail(err, VQ_EBROKEN, "descriptor %u: more than %u segments", i, VS_VQ_MAX_SIZE);
	c->iov[c->n_out + c->n_in] = (struct iovec){.iov_base = p, .iov_len = d->len};
	if (writable)
		c->n_in++;
	else
		c->n_out++;
	return 0;
}

/* Walk the chain at head: zero or more direct descriptors, optionally
 * ending in one indirect table (virtio 1.2, 2.7.5.3). Each table is walked
 * at most table-size steps, which bounds loops. */
static int walk_chain(vs_vq *q, uint16_t head, vs_vq_chain *c, vs_err *err)
{
	const volatile vs_vring_desc *table = q->desc;
	unsigned table_len = q->num, steps = 0, i = head;
	bool in_indirect = false;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		if (i >= table_len)
			return vs_fail(err, VQ_EBROKEN, "descriptor index %u out of range (table of %u)", i,
				       table_len);
		if (++steps > table_len)
			return vs_fail(err, VQ_EBROKEN, "descriptor chain at head %u loops", head);
		vs_vring_desc d = read_desc(table, i);
		if (d.flags & VS_VRING_DESC_F_INDIRECT) {
			if (!q->indirect)
				return vs_fail(err, VQ_EBROKEN, "descriptor %u: indirect not negotiated", i);
			if (in_indirect)
				return vs_fail(err, VQ_EBROKEN, "descriptor %u: nested indirect table", i);
			if (d.flags & VS_VRING_DESC_F_NEXT)
				return vs_fail(err, VQ_EBROKEN, "descriptor %u: indirect with next", i);
			if (d.len == 0 || d.len % sizeof(vs_vring_desc) ||
			    d.len / sizeof(vs_vring_desc) > VS_VQ_MAX_SIZE)
				return vs_fail(err, VQ_EBROKEN, "descriptor %u: bad indirect table length %u", i,
					       d.len);
			const void *t = vs_gmem_ptr(q->mem, d.addr, d.len, err);
			if (!t)
				return vs_fail(err, VQ_EBROKEN,
					       "descriptor %u: indirect table 0x%llx+0x%x outside guest memory", i,
					       (unsigned long long)d.addr, d.len);
			table = t;
			table_len = d.len / sizeof(vs_vring_desc);
			in_indirect = true;
			steps = 0;
			i = 0;
			continue;
		}
		if (add_segment(q, c, &d, i, err) < 0)
			return -1;
		if (!(d.flags & VS_VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static uint16_t avail_idx(const vs_vq *q)
{
	/* Acquire: ring entries below idx are read only after idx. */
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
}

int vs_vq_pop(vs_vq *q, vs_vq_chain *c, vs_err *err)
{
	if (!q->ready)
		return 0;
	uint16_t idx = avail_idx(q);
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num)
		return vs_fail(err, VQ_EBROKEN, "avail idx %u is %u entries ahead of %u (queue size %u)", idx,
			       pending, q->last_avail, q->num);
	uint16_t head = q->avail[2 + q->last_avail % q->num];
	if (head >= q->num)
		return vs_fail(err, VQ_EBROKEN, "avail ring head %u out of range", head);
	if (walk_chain(q, head, c, err) < 0)
		return -1;
	q->last_avail++;
	return 1;
}

void vs_vq_unpop(vs_vq *q)
{
	q->last_avail--;
}

void vs_vq_push(vs_vq *q, uint16_t head, uint32_t len)
{
	volatile uint32_t *elem = (volatile uint32_t *)(q->used + 2) + 2 * (q->used_idx % q->num);
	elem[0] = head;
	elem[1] = len;
	q->used_idx++;
	vs_gmem_mark_dirty(q->mem, q->used_gpa, 6 + 8ull * q->num);
	/* Release: the element is visible before the index that publishes it. */
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

bool vs_vq_needs_irq(const vs_vq *q)
{
	/* Order our used idx store before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(q->avail[0] & VS_VRING_AVAIL_F_NO_INTERRUPT);
}

bool vs_vq_has_avail(const vs_vq *q)
{
	return q->ready && avail_idx(q) != q->last_avail;
}

size_t vs_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vs_iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, k);
		done += k;
		off = 0;
	}
	return done;
}

int vs_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out, unsigned max)
{
	unsigned m = 0;
	for (unsigned i = 0; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len)
			k = len;
		if (m == max)
			return -1;
		out[m++] = (struct iovec){.iov_base = (uint8_t *)iov[i].iov_base + off, .iov_len = k};
		len -= k;
		off = 0;
	}
	return len ? -1 : (int)m;
}
