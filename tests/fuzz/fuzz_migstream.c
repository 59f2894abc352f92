/* libFuzzer target for the live migration stream reader (src/vmm/
 * migstream.c, the destination's one choke point for migration bytes):
 * any byte string is read as a stream into a guest memory image (at most
 * 64 MiB here), the state it carries parsed as a snapshot state file, and
 * the same bytes read as a destination's reply. Must give a stream or a
 * refusal, never a crash, a leak, a write outside the image or undefined
 * behaviour. The input is mostly taken as it is; with the first byte odd
 * a valid header for a 16 MiB guest is put in front, so mutations reach
 * the frames. Build: make build-fuzz/fuzz_migstream; run:
 * build-fuzz/fuzz_migstream tests/fuzz/corpus_migstream */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/migstream.h"
#include "vmm/snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct src {
	const uint8_t *p;
	size_t len, at;
	uint8_t *map;
	size_t map_len;
} src;

static int rd(void *ctx, void *out, size_t len, const char *what, vs_err *err)
{
	src *s = ctx;
	if (s->len - s->at < len)
		return vs_fail(err, 32, "cut in %s", what);
	memcpy(out, s->p + s->at, len);
	s->at += len;
	return 0;
}

static uint8_t *mem(void *ctx, uint64_t size, vs_err *err)
{
	src *s = ctx;
	if (size > (64u << 20))
		return vs_fail(err, 12, "guest too big for the fuzzer"), NULL;
	/* The image between two inaccessible pages: a write outside it
	 * faults. (mmap, not malloc: pages never touched cost nothing.) */
	s->map_len = size + 2 * 4096;
	s->map = mmap(NULL, s->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED || mprotect(s->map + 4096, size, PROT_READ | PROT_WRITE) < 0)
		return s->map = NULL, vs_fail(err, 12, "map"), NULL;
	return s->map + 4096;
}

static void one(const uint8_t *p, size_t len)
{
	src s = {.p = p, .len = len};
	vs_mig_rx rx;
	vs_err err;
	if (vs_mig_recv(rd, mem, &s, "fuzz", &rx, &err) == 0) {
		vs_snap snap;
		if (vs_snap_parse(rx.state, rx.state_len, "fuzz", &snap, &err) == 0)
			vs_snap_free(&snap);
		vs_mig_rx_free(&rx);
	}
	if (s.map)
		munmap(s.map, s.map_len);
	src r = {.p = p, .len = len};
	uint64_t us;
	vs_mig_read_reply(rd, &r, "fuzz", &us, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	if (!size || !(data[0] & 1))
		return 0;
	uint8_t *buf = malloc(VS_MIG_HEADER + size - 1);
	if (!buf)
		return 0;
	vs_mig_put_header(buf, 16u << 20);
	memcpy(buf + VS_MIG_HEADER, data + 1, size - 1);
	one(buf, VS_MIG_HEADER + size - 1);
	free(buf);
	return 0;
}
