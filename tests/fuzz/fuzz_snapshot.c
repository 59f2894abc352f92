/* libFuzzer target for the snapshot state file parser (src/vmm/snapfile.c,
 * the one place restored bytes are read): any byte string is parsed as it
 * is, then once more with its size and checksum fields made to fit, so
 * that mutations get past the CRC to the section table and the typed
 * readers (machine, serial, i8042, every virtio slot, vCPU sections).
 * Must give a state or a refusal, never a crash, a leak or undefined
 * behaviour. Build: make build-fuzz/fuzz_snapshot; run:
 * build-fuzz/fuzz_snapshot tests/fuzz/corpus_snapshot */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const uint8_t *buf, size_t len)
{
	vs_snap s;
	vs_err err;
	if (vs_snap_parse(buf, len, "fuzz", &s, &err) < 0)
		return;
	vs_snap_machine m;
	vs_snap_serial ser;
	vs_snap_i8042 kbd;
	vs_snap_virtio v;
	uint8_t scratch[4096];
	size_t n;
	unsigned slots = vs_snap_read_machine(&s, &m, &err) == 0 ? m.n_virtio : 4;
	vs_snap_vsock vs;
	vs_snap_balloon bl;
	vs_snap_read_vsock(&s, &vs, &err);
	if (slots != 4)
		vs_snap_read_balloon(&s, &m, &bl, &err);
	vs_snap_read_serial(&s, &ser, &err);
	vs_snap_read_i8042(&s, &kbd, &err);
	for (unsigned i = 0; i < slots; i++)
		vs_snap_read_virtio(&s, i, &v, &err);
	for (uint32_t id = VS_SNAP_REGS; id < VS_SNAP_SECTION_END; id++) {
		vs_snap_get(&s, id, 0, scratch, 8, &err);
		vs_snap_get_array(&s, id, 0, 16, 256, &n, &err);
	}
	vs_snap_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size);
	if (size < VS_SNAP_HEADER || size > VS_SNAP_MAX_SIZE)
		return 0;
	uint8_t *fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	memcpy(fixed, VS_SNAP_MAGIC, 8);
	uint32_t version = VS_SNAP_VERSION;
	uint64_t len = size;
	memcpy(fixed + 8, &version, 4);
	memcpy(fixed + 16, &len, 8);
	uint32_t crc = vs_crc32(0, fixed + 16, size - 16);
	memcpy(fixed + 12, &crc, 4);
	read_all(fixed, size);
	free(fixed);
	return 0;
}
