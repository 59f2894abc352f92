/* The migration stream (format: migstream.h). The reader is the
 * destination's one choke point for untrusted migration bytes: every
 * frame is checked here before a byte of its payload is stored. */
#include "vmm/migstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"
#include "vmm/snapfile.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void vs_mig_layout_of(uint64_t mem_size, vs_mig_layout *l)
{
	/* As vs_gmem_init lays it out: low RAM below the MMIO hole, the rest at 4 GiB. */
	uint64_t low = mem_size < VS_MMIO_HOLE_START ? mem_size : VS_MMIO_HOLE_START;
	memset(l, 0, sizeof(*l));
	l->mem_size = mem_size;
	l->r[l->n].gpa = 0, l->r[l->n].size = low, l->r[l->n].off = 0, l->n++;
	if (mem_size > low)
		l->r[l->n].gpa = 1ull << 32, l->r[l->n].size = mem_size - low, l->r[l->n].off = low, l->n++;
}

int vs_mig_range(const vs_mig_layout *l, uint64_t gpa, uint64_t pages, uint64_t *off, vs_err *err)
{
	if (gpa % VS_MIG_PAGE || pages == 0)
		return vs_fail(err, EINVAL, "page range 0x%llx+%llu pages: not page-aligned or empty",
			       (unsigned long long)gpa, (unsigned long long)pages);
	for (unsigned i = 0; i < l->n; i++) {
		uint64_t start = l->r[i].gpa, size = l->r[i].size;
		/* Written so that nothing overflows: pages <= size / 4096 first. */
		if (gpa >= start && gpa - start < size && pages <= (size - (gpa - start)) / VS_MIG_PAGE) {
			*off = l->r[i].off + (gpa - start);
			return 0;
		}
	}
	return vs_fail(err, EINVAL, "page range 0x%llx+%llu pages: outside guest memory (%llu MiB)",
		       (unsigned long long)gpa, (unsigned long long)pages, (unsigned long long)(l->mem_size >> 20));
}

void vs_mig_put_header(uint8_t out[VS_MIG_HEADER], uint64_t mem_size)
{
	memset(out, 0, VS_MIG_HEADER);
	memcpy(out, VS_MIG_MAGIC, 8);
	put32(out + 8, VS_MIG_VERSION);
	put32(out + 12, VS_MIG_PAGE);
	put64(out + 16, mem_size);
}

void vs_mig_put_frame(uint8_t out[VS_MIG_FRAME], uint32_t type, uint32_t n, uint64_t a)
{
	put32(out, type);
	put32(out + 4, n);
	put64(out + 8, a);
}

static int header(const uint8_t *h, const char *what, uint64_t *mem_size, vs_err *err)
{
	if (memcmp(h, VS_MIG_MAGIC, 8))
		return vs_fail(err, EPROTO, "%s: not a vessel migration stream (bad magic)", what);
	uint32_t version = get32(h + 8), page = get32(h + 12), flags = get32(h + 24), pad = get32(h + 28);
	if (version != VS_MIG_VERSION)
		return vs_fail(err, EPROTO, "%s: stream format version %u, this vessel reads version %u", what, version,
			       VS_MIG_VERSION);
	*mem_size = get64(h + 16);
	if (page != VS_MIG_PAGE || flags || pad)
		return vs_fail(err, EPROTO, "%s: page size %u, flags 0x%x: unsupported", what, page, flags | pad);
	if (*mem_size < (16ull << 20) || *mem_size % VS_MIG_PAGE || *mem_size > VS_MIG_MAX_MEM)
		return vs_fail(err, EPROTO, "%s: guest memory size %llu: not 16 MiB..1 TiB of whole pages", what,
			       (unsigned long long)*mem_size);
	return 0;
}

/* One frame (header in f) at stream offset at; its payload read. */
static int frame(vs_mig_read_fn rd, void *ctx, const char *what, const vs_mig_layout *l, const uint8_t *f,
		 uint64_t at, vs_mig_rx *rx, bool *end, vs_err *err)
{
	uint32_t type = get32(f), n = get32(f + 4);
	uint64_t a = get64(f + 8), off;
	if (rx->state && type != VS_MIG_END)
		return vs_fail(err, EPROTO, "%s: frame type %u at byte %llu after the device state (only END may follow)",
			       what, type, (unsigned long long)at);
	switch (type) {
	case VS_MIG_PAGES:
	case VS_MIG_ZERO:
		if (type == VS_MIG_PAGES && n > VS_MIG_MAX_RUN)
			return vs_fail(err, EPROTO, "%s: %u pages in one frame at byte %llu (at most %u)", what, n,
				       (unsigned long long)at, VS_MIG_MAX_RUN);
		if (vs_mig_range(l, a, n, &off, err) < 0)
			return vs_wrap(err, "%s: frame at byte %llu", what, (unsigned long long)at);
		if (type == VS_MIG_ZERO) {
			memset(rx->mem + off, 0, (size_t)n * VS_MIG_PAGE);
			rx->zero_pages += n;
			return 0;
		}
		if (rd(ctx, rx->mem + off, (size_t)n * VS_MIG_PAGE, "page contents", err) < 0)
			return -1;
		rx->pages += n;
		rx->bytes += (uint64_t)n * VS_MIG_PAGE;
		return 0;
	case VS_MIG_ROUND:
		if (n || a != rx->rounds)
			return vs_fail(err, EPROTO, "%s: round %llu ended at byte %llu, expected round %llu", what,
				       (unsigned long long)a, (unsigned long long)at, (unsigned long long)rx->rounds);
		rx->rounds++;
		return 0;
	case VS_MIG_STATE:
		if (n || a == 0 || a > VS_SNAP_MAX_SIZE)
			return vs_fail(err, EPROTO, "%s: device state of %llu bytes at byte %llu (1..%u MiB)", what,
				       (unsigned long long)a, (unsigned long long)at, VS_SNAP_MAX_SIZE >> 20);
		if (!(rx->state = malloc((size_t)a)))
			return vs_fail(err, ENOMEM, "%s: allocate %llu bytes of device state", what, (unsigned long long)a);
		rx->state_len = (size_t)a;
		return rd(ctx, rx->state, rx->state_len, "device state", err);
	case VS_MIG_END:
		if (!rx->state)
			return vs_fail(err, EPROTO, "%s: END at byte %llu before the device state", what, (unsigned long long)at);
		if (n || a)
			return vs_fail(err, EPROTO, "%s: END frame at byte %llu with a payload", what, (unsigned long long)at);
		*end = true;
		return 0;
	default:
		return vs_fail(err, EPROTO, "%s: unknown frame type %u at byte %llu", what, type, (unsigned long long)at);
	}
}

int vs_mig_recv(vs_mig_read_fn rd, vs_mig_mem_fn mem, void *ctx, const char *what, vs_mig_rx *rx, vs_err *err)
{
	memset(rx, 0, sizeof(*rx));
	uint8_t h[VS_MIG_HEADER];
	if (rd(ctx, h, sizeof(h), "the stream header", err) < 0 || header(h, what, &rx->mem_size, err) < 0)
		return -1;
	if (!(rx->mem = mem(ctx, rx->mem_size, err)))
		return -1;
	vs_mig_layout l;
	vs_mig_layout_of(rx->mem_size, &l);
	uint64_t at = VS_MIG_HEADER;
	bool end = false;
	while (!end) {
		uint8_t f[VS_MIG_FRAME];
		uint64_t before = rx->bytes + (rx->state ? rx->state_len : 0);
		if (rd(ctx, f, sizeof(f), "a frame header", err) < 0 || frame(rd, ctx, what, &l, f, at, rx, &end, err) < 0) {
			vs_mig_rx_free(rx);
			return -1;
		}
		at += VS_MIG_FRAME + (rx->bytes + (rx->state ? rx->state_len : 0) - before);
	}
	return 0;
}

void vs_mig_rx_free(vs_mig_rx *rx)
{
	free(rx->state);
	rx->state = NULL;
	rx->state_len = 0;
}

int vs_mig_read_reply(vs_mig_read_fn rd, void *ctx, const char *what, uint64_t *restore_us, vs_err *err)
{
	uint8_t f[VS_MIG_FRAME];
	if (rd(ctx, f, sizeof(f), "the destination's reply", err) < 0)
		return -1;
	uint32_t type = get32(f), n = get32(f + 4);
	if (type == VS_MIG_RUNNING && n == 0) {
		*restore_us = get64(f + 8);
		return 0;
	}
	if (type != VS_MIG_ERROR || n > VS_MIG_MAX_MSG)
		return vs_fail(err, EPROTO, "%s: reply frame type %u (not RUNNING or ERROR)", what, type);
	char msg[VS_MIG_MAX_MSG + 1];
	if (rd(ctx, msg, n, "the destination's error message", err) < 0)
		return -1;
	msg[n] = 0;
	for (uint32_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	return vs_fail(err, ECONNREFUSED, "%s: the destination refused: %s", what, msg);
}
