/* The snapshot state file (src/vmm/snapfile.c), no KVM needed: what is
 * written parses back; a truncated, bit-flipped, other-version or
 * inconsistent file is refused with a message that says which, never a
 * crash; the typed readers refuse values out of range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/snapfile.h"

static uint8_t *file;
static size_t file_len;

static void build(void)
{
	vs_snapw w;
	vs_snapw_init(&w);
	vs_snap_machine m;
	memset(&m, 0, sizeof(m));
	m.ncpus = 2;
	m.mem_size = 64ull << 20;
	m.n_devs = 1;
	m.n_virtio = 2;
	strcpy(m.devs[0].id, "rootfs");
	strcpy(m.devs[0].path, "/tmp/rootfs.img");
	m.devs[0].flags = VS_SNAP_DEV_ROOT;
	vs_snapw_add(&w, VS_SNAP_MACHINE, 0, &m, sizeof(m));
	uint64_t khz = 2500000;
	vs_snapw_add(&w, VS_SNAP_TSC_KHZ, 1, &khz, sizeof(khz));
	uint8_t odd[5] = {1, 2, 3, 4, 5};
	vs_snapw_add(&w, VS_SNAP_MSRS, 0, odd, sizeof(odd));
	vs_err err;
	free(file);
	assert_int_equal(vs_snapw_finish(&w, &file, &file_len, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	build();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(file);
	file = NULL;
	return 0;
}

static void refit_crc(void)
{
	uint32_t crc = vs_crc32(0, file + 16, file_len - 16);
	memcpy(file + 12, &crc, 4);
}

static void expect_refused(const uint8_t *buf, size_t len, const char *want)
{
	vs_snap s;
	vs_err err = {0};
	assert_int_equal(vs_snap_parse(buf, len, "/x", &s, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("want '%s' in '%s'", want, err.msg);
	assert_non_null(strstr(err.msg, "snapshot /x: "));
}

static void test_crc32_vector(void **state)
{
	(void)state;
	assert_int_equal(vs_crc32(0, "123456789", 9), 0xcbf43926u);
}

static void test_round_trip(void **state)
{
	(void)state;
	vs_snap s;
	vs_err err = {0};
	assert_int_equal(vs_snap_parse(file, file_len, "/x", &s, &err), 0);
	vs_snap_machine m;
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), 0);
	assert_int_equal(m.ncpus, 2);
	assert_string_equal(m.devs[0].path, "/tmp/rootfs.img");
	uint64_t khz = 0;
	assert_int_equal(vs_snap_get(&s, VS_SNAP_TSC_KHZ, 1, &khz, sizeof(khz), &err), 0);
	assert_int_equal(khz, 2500000);
	assert_true(vs_snap_has(&s, VS_SNAP_MSRS, 0));
	assert_false(vs_snap_has(&s, VS_SNAP_MSRS, 1));
	/* The wrong size, or a missing section, is named. */
	uint32_t small;
	assert_int_equal(vs_snap_get(&s, VS_SNAP_TSC_KHZ, 1, &small, sizeof(small), &err), -1);
	assert_non_null(strstr(err.msg, "tsc khz section (1) is 8 bytes, expected 4"));
	assert_int_equal(vs_snap_get(&s, VS_SNAP_TSC_KHZ, 0, &khz, sizeof(khz), &err), -1);
	assert_non_null(strstr(err.msg, "no tsc khz section (0)"));
	size_t n;
	assert_null(vs_snap_get_array(&s, VS_SNAP_MSRS, 0, 2, 100, &n, &err));
	assert_non_null(vs_snap_get_array(&s, VS_SNAP_MSRS, 0, 1, 100, &n, &err));
	assert_int_equal(n, 5);
	vs_snap_free(&s);
}

static void test_every_truncation_refused(void **state)
{
	(void)state;
	for (size_t len = 0; len < file_len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, file, len);
		expect_refused(copy, len, len < VS_SNAP_HEADER ? "too short" : "truncated");
		free(copy);
	}
}

static void test_every_bit_flip_refused(void **state)
{
	(void)state;
	for (size_t bit = 0; bit < file_len * 8; bit++) {
		file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		const char *want = bit < 64 ? "bad magic" : bit < 96 ? "format version" : bit < 128 ? "checksum mismatch"
				 : bit < 192 ? "the header says" : "checksum mismatch";
		expect_refused(file, file_len, want);
		file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

static void test_other_version_refused(void **state)
{
	(void)state;
	uint32_t v = 2;
	memcpy(file + 8, &v, 4);
	refit_crc();
	expect_refused(file, file_len, "format version 2, this vessel reads version 1");
}

/* A file that checksums fine but whose table lies is refused too. */
static void test_bad_table_refused(void **state)
{
	(void)state;
	uint64_t huge = file_len;
	memcpy(file + VS_SNAP_HEADER + 16, &huge, 8); /* section 0's length */
	refit_crc();
	expect_refused(file, file_len, "lies outside the file");
	build();
	uint32_t n = 100000;
	memcpy(file + 24, &n, 4);
	refit_crc();
	expect_refused(file, file_len, "bad section table");
	build();
	/* Section 1 pointing back into section 0: overlap. */
	uint64_t off;
	memcpy(&off, file + VS_SNAP_HEADER + 8, 8);
	memcpy(file + VS_SNAP_HEADER + 24 + 8, &off, 8);
	refit_crc();
	expect_refused(file, file_len, "lies outside the file");
}

static void test_machine_values_checked(void **state)
{
	(void)state;
	vs_snap s;
	vs_err err = {0};
	vs_snap_machine m;
	assert_int_equal(vs_snap_parse(file, file_len, "/x", &s, &err), 0);
	uint64_t off;
	memcpy(&off, file + VS_SNAP_HEADER + 8, 8);
	vs_snap_machine *in = (vs_snap_machine *)(file + off);
	in->ncpus = 0;
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), -1);
	assert_non_null(strstr(err.msg, "0 vCPUs"));
	in->ncpus = 1;
	memset(in->devs[0].path, 'a', sizeof(in->devs[0].path));
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), -1);
	assert_non_null(strstr(err.msg, "device 0 is malformed"));
	strcpy(in->devs[0].path, "/img");
	in->mem_size = 12345;
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), -1);
	in->mem_size = 64ull << 20;
	in->n_virtio = 7;
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), -1);
	in->n_virtio = 2;
	assert_int_equal(vs_snap_read_machine(&s, &m, &err), 0);
	vs_snap_free(&s);
}

static void test_device_readers_checked(void **state)
{
	(void)state;
	vs_snapw w;
	vs_snapw_init(&w);
	vs_snap_serial ser = {.rx_len = 17};
	vs_snap_virtio v;
	memset(&v, 0, sizeof(v));
	v.num_queues = 1;
	v.vqs[0].ready = 1;
	v.vqs[0].num = 12; /* not a power of two */
	vs_snapw_add(&w, VS_SNAP_SERIAL, 0, &ser, sizeof(ser));
	vs_snapw_add(&w, VS_SNAP_VIRTIO, 0, &v, sizeof(v));
	v.vqs[0].num = 16;
	vs_snapw_add(&w, VS_SNAP_VIRTIO, 1, &v, sizeof(v));
	uint8_t *buf;
	size_t len;
	vs_err err = {0};
	assert_int_equal(vs_snapw_finish(&w, &buf, &len, &err), 0);
	vs_snap s;
	assert_int_equal(vs_snap_parse(buf, len, "/y", &s, &err), 0);
	vs_snap_serial so;
	vs_snap_virtio vo;
	assert_int_equal(vs_snap_read_serial(&s, &so, &err), -1);
	assert_non_null(strstr(err.msg, "serial state out of range"));
	assert_int_equal(vs_snap_read_virtio(&s, 0, &vo, &err), -1);
	assert_non_null(strstr(err.msg, "virtio slot 0"));
	assert_int_equal(vs_snap_read_virtio(&s, 1, &vo, &err), 0);
	vs_snap_free(&s);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_vector),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_bit_flip_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_table_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_values_checked, setup, teardown),
		cmocka_unit_test(test_device_readers_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
