/* The live migration stream (src/vmm/migstream.c, migsock.c's address
 * parser), no KVM needed: a stream the sender's writers make is read back
 * into guest memory at the right places; a stream with a bad magic,
 * version or size, a page range outside guest memory, a run too long, an
 * unknown frame, frames out of order, or cut at any byte is refused with
 * a message naming it, never a crash or a write outside the image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/migsock.h"
#include "vmm/migstream.h"
#include "vmm/snapfile.h"

#define MEM (16ull << 20)

typedef struct buf {
	uint8_t *p;
	size_t len, at;
	uint8_t *mem;
	uint64_t mem_size;
} buf;

static void put(buf *b, const void *d, size_t n)
{
	b->p = realloc(b->p, b->len + n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}
static void frame(buf *b, uint32_t type, uint32_t n, uint64_t a)
{
	uint8_t f[VS_MIG_FRAME];
	vs_mig_put_frame(f, type, n, a);
	put(b, f, sizeof(f));
}

static int rd(void *ctx, void *out, size_t len, const char *what, vs_err *err)
{
	buf *b = ctx;
	if (b->len - b->at < len)
		return vs_fail(err, 32, "cut in %s", what);
	memcpy(out, b->p + b->at, len);
	b->at += len;
	return 0;
}
static uint8_t *mem(void *ctx, uint64_t size, vs_err *err)
{
	buf *b = ctx;
	if (size > MEM)
		return vs_fail(err, 12, "too big"), NULL;
	b->mem_size = size;
	return b->mem = calloc(1, size);
}

/* A good stream: a page of 0xab at 1 MiB, two of 0xcd at 8 MiB, one of
 * them zeroed again, a state file. */
static void good(buf *b)
{
	memset(b, 0, sizeof(*b));
	uint8_t h[VS_MIG_HEADER], page[2 * VS_MIG_PAGE];
	vs_mig_put_header(h, MEM);
	put(b, h, sizeof(h));
	memset(page, 0xab, VS_MIG_PAGE);
	frame(b, VS_MIG_PAGES, 1, 1 << 20);
	put(b, page, VS_MIG_PAGE);
	frame(b, VS_MIG_ROUND, 0, 0);
	memset(page, 0xcd, sizeof(page));
	frame(b, VS_MIG_PAGES, 2, 8 << 20);
	put(b, page, sizeof(page));
	frame(b, VS_MIG_ZERO, 1, (8 << 20) + VS_MIG_PAGE);
	frame(b, VS_MIG_ROUND, 0, 1);
	vs_snapw w;
	vs_snapw_init(&w);
	uint64_t khz = 1;
	vs_snapw_add(&w, VS_SNAP_TSC_KHZ, 0, &khz, sizeof(khz));
	uint8_t *st;
	size_t sl;
	vs_err err;
	assert_int_equal(vs_snapw_finish(&w, &st, &sl, &err), 0);
	frame(b, VS_MIG_STATE, 0, sl);
	put(b, st, sl);
	free(st);
	frame(b, VS_MIG_END, 0, 0);
}

static void done(buf *b)
{
	free(b->p);
	free(b->mem);
}

static void test_roundtrip(void **state)
{
	(void)state;
	buf b;
	good(&b);
	vs_mig_rx rx;
	vs_err err = {0};
	assert_int_equal(vs_mig_recv(rd, mem, &b, "test", &rx, &err), 0);
	assert_int_equal(b.at, b.len);
	assert_int_equal(rx.mem_size, MEM);
	assert_int_equal(rx.rounds, 2);
	assert_int_equal(rx.pages, 3);
	assert_int_equal(rx.zero_pages, 1);
	assert_int_equal(b.mem[1 << 20], 0xab);
	assert_int_equal(b.mem[(1 << 20) + VS_MIG_PAGE - 1], 0xab);
	assert_int_equal(b.mem[(1 << 20) + VS_MIG_PAGE], 0);
	assert_int_equal(b.mem[8 << 20], 0xcd);
	assert_int_equal(b.mem[(8 << 20) + VS_MIG_PAGE], 0);
	vs_snap s;
	assert_int_equal(vs_snap_parse(rx.state, rx.state_len, "test", &s, &err), 0);
	vs_snap_free(&s);
	vs_mig_rx_free(&rx);
	done(&b);
}

/* Refused, with `want` in the message. */
static void refused(buf *b, const char *want)
{
	vs_mig_rx rx;
	vs_err err = {0};
	assert_int_equal(vs_mig_recv(rd, mem, b, "test", &rx, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_null(rx.state);
	done(b);
}

static void with_frame(buf *b, uint32_t type, uint32_t n, uint64_t a)
{
	memset(b, 0, sizeof(*b));
	uint8_t h[VS_MIG_HEADER];
	vs_mig_put_header(h, MEM);
	put(b, h, sizeof(h));
	frame(b, type, n, a);
	uint8_t page[VS_MIG_PAGE] = {0};
	for (uint32_t i = 0; i < 4; i++)
		put(b, page, sizeof(page));
}

static void test_refusals(void **state)
{
	(void)state;
	buf b;
	good(&b);
	b.p[0] = 'X';
	refused(&b, "not a vessel migration stream");
	good(&b);
	b.p[8] = 2;
	refused(&b, "format version 2, this vessel reads version 1");
	good(&b);
	b.p[20] = 0x10; /* memory size: 16 MiB + 2^32 * 16... too big for the test's image */
	refused(&b, "too big");
	good(&b);
	b.p[17] = 1; /* not 16 MiB of whole pages any more: 16 MiB + 256 bytes */
	refused(&b, "whole pages");
	with_frame(&b, VS_MIG_PAGES, 1, MEM);
	refused(&b, "outside guest memory");
	with_frame(&b, VS_MIG_PAGES, 2, MEM - VS_MIG_PAGE);
	refused(&b, "outside guest memory");
	with_frame(&b, VS_MIG_PAGES, 1, UINT64_MAX - 4095);
	refused(&b, "outside guest memory");
	with_frame(&b, VS_MIG_ZERO, UINT32_MAX, 0);
	refused(&b, "outside guest memory");
	with_frame(&b, VS_MIG_PAGES, 1, 100);
	refused(&b, "not page-aligned");
	with_frame(&b, VS_MIG_PAGES, 0, 0);
	refused(&b, "empty");
	with_frame(&b, VS_MIG_PAGES, VS_MIG_MAX_RUN + 1, 0);
	refused(&b, "257 pages in one frame");
	with_frame(&b, 99, 0, 0);
	refused(&b, "unknown frame type 99 at byte 32");
	with_frame(&b, VS_MIG_END, 0, 0);
	refused(&b, "END at byte 32 before the device state");
	with_frame(&b, VS_MIG_ROUND, 0, 5);
	refused(&b, "round 5 ended at byte 32, expected round 0");
	with_frame(&b, VS_MIG_STATE, 0, VS_SNAP_MAX_SIZE + 1ull);
	refused(&b, "device state of");
	/* Cut anywhere: refused, nothing kept. */
	good(&b);
	size_t full = b.len;
	done(&b);
	for (size_t cut = 0; cut < full; cut += cut < 64 ? 1 : 509) {
		good(&b);
		b.len = cut;
		refused(&b, "cut");
	}
	/* After the state only END. */
	good(&b);
	b.len -= VS_MIG_FRAME;
	frame(&b, VS_MIG_ROUND, 0, 2);
	refused(&b, "after the device state");
}

static void test_reply(void **state)
{
	(void)state;
	buf b = {0};
	vs_err err = {0};
	uint64_t us = 0;
	frame(&b, VS_MIG_RUNNING, 0, 1234);
	assert_int_equal(vs_mig_read_reply(rd, &b, "test", &us, &err), 0);
	assert_int_equal(us, 1234);
	free(b.p);
	memset(&b, 0, sizeof(b));
	frame(&b, VS_MIG_ERROR, 9, 0);
	put(&b, "no\nroom\x01", 9);
	assert_int_equal(vs_mig_read_reply(rd, &b, "test", &us, &err), -1);
	assert_non_null(strstr(err.msg, "the destination refused: no?room??"));
	free(b.p);
	memset(&b, 0, sizeof(b));
	frame(&b, VS_MIG_ERROR, VS_MIG_MAX_MSG + 1, 0);
	assert_int_equal(vs_mig_read_reply(rd, &b, "test", &us, &err), -1);
	free(b.p);
}

static void test_layout(void **state)
{
	(void)state;
	vs_mig_layout l;
	uint64_t off;
	vs_err err;
	vs_mig_layout_of(4ull << 30, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(vs_mig_range(&l, 1ull << 32, 1, &off, &err), 0);
	assert_int_equal(off, 3ull << 30);
	assert_int_equal(vs_mig_range(&l, (3ull << 30) - 4096, 1, &off, &err), 0);
	assert_int_equal(vs_mig_range(&l, 3ull << 30, 1, &off, &err), -1); /* the MMIO hole */
	assert_int_equal(vs_mig_range(&l, (5ull << 30) - 4096, 2, &off, &err), -1);
}

static void test_addr(void **state)
{
	(void)state;
	vs_mig_addr a;
	vs_err err;
	assert_int_equal(vs_mig_addr_parse("unix:/tmp/x.sock", &a, &err), 0);
	assert_int_equal(a.sa.ss_family, AF_UNIX);
	assert_int_equal(vs_mig_addr_parse("tcp:127.0.0.1:4444", &a, &err), 0);
	assert_int_equal(a.sa.ss_family, AF_INET);
	assert_int_equal(vs_mig_addr_parse("tcp:[::1]:4444", &a, &err), 0);
	assert_int_equal(a.sa.ss_family, AF_INET6);
	assert_int_equal(vs_mig_addr_parse("tcp:localhost:1", &a, &err), 0);
	assert_int_equal(vs_mig_addr_parse("tcp:example.com:1", &a, &err), -1);
	assert_non_null(strstr(err.msg, "not an IP address"));
	assert_int_equal(vs_mig_addr_parse("tcp:127.0.0.1:0", &a, &err), -1);
	assert_int_equal(vs_mig_addr_parse("tcp:127.0.0.1:65536", &a, &err), -1);
	assert_int_equal(vs_mig_addr_parse("tcp:127.0.0.1", &a, &err), -1);
	assert_int_equal(vs_mig_addr_parse("unix:", &a, &err), -1);
	assert_int_equal(vs_mig_addr_parse("file:/x", &a, &err), -1);
	assert_non_null(strstr(err.msg, "unix:PATH or tcp:HOST:PORT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_refusals), cmocka_unit_test(test_reply),
		cmocka_unit_test(test_layout),	  cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
