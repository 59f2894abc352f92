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

/* A machine with the optional vsock and balloon sections: they count as
 * virtio slots, read back as written, and bad values are refused. */
static void build_with_extras(const vs_snap_vsock *v, const vs_snap_balloon *b, uint32_t n_virtio)
{
	vs_snapw w;
	vs_snapw_init(&w);
	vs_snap_machine m;
	memset(&m, 0, sizeof(m));
	m.ncpus = 1;
	m.mem_size = 128ull << 20;
	m.n_virtio = n_virtio;
	vs_snapw_add(&w, VS_SNAP_MACHINE, 0, &m, sizeof(m));
	if (v)
		vs_snapw_add(&w, VS_SNAP_VSOCK_CFG, 0, v, sizeof(*v));
	if (b)
		vs_snapw_add(&w, VS_SNAP_BALLOON_CFG, 0, b, sizeof(*b));
	vs_err err;
	free(file);
	assert_int_equal(vs_snapw_finish(&w, &file, &file_len, &err), 0);
}

static int read_extras(vs_snap_machine *m, vs_snap_vsock *v, vs_snap_balloon *b, int *hv, int *hb, vs_err *err)
{
	vs_snap s;
	assert_int_equal(vs_snap_parse(file, file_len, "/x", &s, err), 0);
	int r = vs_snap_read_machine(&s, m, err);
	*hv = r < 0 ? -1 : vs_snap_read_vsock(&s, v, err);
	*hb = *hv < 0 ? -1 : vs_snap_read_balloon(&s, m, b, err);
	vs_snap_free(&s);
	return r;
}

/* One drive and one interface with limiters: read back as written; a
 * bucket past the API's bounds, or on a device that is not there, refused. */
static void build_limited(const vs_snap_ratelimits *r)
{
	vs_snapw w;
	vs_snapw_init(&w);
	vs_snap_machine m;
	memset(&m, 0, sizeof(m));
	m.ncpus = 1;
	m.mem_size = 128ull << 20;
	m.n_devs = 2;
	m.n_virtio = 3;
	m.devs[0].kind = VS_SNAP_DEV_BLOCK;
	strcpy(m.devs[0].id, "d0");
	strcpy(m.devs[0].path, "/img");
	m.devs[1].kind = VS_SNAP_DEV_NET;
	strcpy(m.devs[1].id, "n0");
	strcpy(m.devs[1].path, "tap0");
	vs_snapw_add(&w, VS_SNAP_MACHINE, 0, &m, sizeof(m));
	vs_snapw_add(&w, VS_SNAP_RATELIMITS, 0, r, sizeof(*r));
	vs_err err;
	free(file);
	assert_int_equal(vs_snapw_finish(&w, &file, &file_len, &err), 0);
}

static int read_limited(vs_snap_ratelimits *out, vs_err *err)
{
	vs_snap s;
	vs_snap_machine m;
	assert_int_equal(vs_snap_parse(file, file_len, "/x", &s, err), 0);
	int r = vs_snap_read_machine(&s, &m, err);
	if (r == 0)
		r = vs_snap_read_ratelimits(&s, &m, out, err);
	vs_snap_free(&s);
	return r;
}

static void test_ratelimits_section(void **state)
{
	(void)state;
	vs_snap_ratelimits r, r2;
	memset(&r, 0, sizeof(r));
	r.b[0][0] = (vs_snap_bucket){.size = 65536, .refill_ms = 100};
	r.b[1][2] = (vs_snap_bucket){.size = 32768, .one_time_burst = 1000, .refill_ms = 125};
	vs_err err = {0};
	build_limited(&r);
	assert_int_equal(read_limited(&r2, &err), 1);
	assert_memory_equal(&r, &r2, sizeof(r));
	r.b[0][1].size = (1ull << 50) + 1;
	build_limited(&r);
	assert_int_equal(read_limited(&r2, &err), -1);
	assert_non_null(strstr(err.msg, "rate limiter of device 0 out of range"));
	r.b[0][1].size = 0;
	r.b[0][2].size = 10; /* a drive has no tx limiter */
	build_limited(&r);
	assert_int_equal(read_limited(&r2, &err), -1);
	r.b[0][2].size = 0;
	r.b[5][0].size = 10; /* no such device */
	build_limited(&r);
	assert_int_equal(read_limited(&r2, &err), -1);
	assert_non_null(strstr(err.msg, "device 5"));
}

static void test_vsock_balloon_description(void **state)
{
	(void)state;
	vs_snap_vsock v;
	memset(&v, 0, sizeof(v));
	v.guest_cid = 42;
	strcpy(v.uds_path, "/run/v.sock");
	strcpy(v.id, "vsock0");
	vs_snap_balloon b = {.amount_mib = 64, .stats_interval_s = 5, .flags = VS_SNAP_BALLOON_DEFLATE_OOM};
	vs_snap_machine m;
	vs_snap_vsock v2;
	vs_snap_balloon b2;
	vs_err err = {0};
	int hv, hb;
	/* Round trip: entropy + vsock + balloon = 3 slots. */
	build_with_extras(&v, &b, 3);
	assert_int_equal(read_extras(&m, &v2, &b2, &hv, &hb, &err), 0);
	assert_int_equal(hv, 1);
	assert_int_equal(hb, 1);
	assert_int_equal(v2.guest_cid, 42);
	assert_string_equal(v2.uds_path, "/run/v.sock");
	assert_string_equal(v2.id, "vsock0");
	assert_int_equal(b2.amount_mib, 64);
	assert_int_equal(b2.stats_interval_s, 5);
	assert_int_equal(b2.flags, VS_SNAP_BALLOON_DEFLATE_OOM);
	/* Without them: absent, not an error, and one slot. */
	build_with_extras(NULL, NULL, 1);
	assert_int_equal(read_extras(&m, &v2, &b2, &hv, &hb, &err), 0);
	assert_int_equal(hv, 0);
	assert_int_equal(hb, 0);
	/* The slot count must add them up (an older writer's count is refused). */
	build_with_extras(&v, NULL, 1);
	assert_int_equal(read_extras(&m, &v2, &b2, &hv, &hb, &err), -1);
	assert_non_null(strstr(err.msg, "0 devices in 1 virtio slots"));
	build_with_extras(NULL, &b, 2);
	assert_int_equal(read_extras(&m, &v2, &b2, &hv, &hb, &err), 0);
	assert_int_equal(hb, 1);
	/* Out of range: reserved CID, unterminated path, balloon over RAM, unknown flag. */
	v.guest_cid = 2;
	build_with_extras(&v, NULL, 2);
	assert_int_equal(read_extras(&m, &v2, &b2, &hv, &hb, &err), 0);
	assert_int_equal(hv, -1);
	assert_non_null(strstr(err.msg, "snapshot /x: vsock config out of range"));
	v.guest_cid = 3;
	memset(v.uds_path, 'a', sizeof(v.uds_path));
	build_with_extras(&v, NULL, 2);
	read_extras(&m, &v2, &b2, &hv, &hb, &err);
	assert_int_equal(hv, -1);
	b.amount_mib = 129;
	build_with_extras(NULL, &b, 2);
	read_extras(&m, &v2, &b2, &hv, &hb, &err);
	assert_int_equal(hb, -1);
	assert_non_null(strstr(err.msg, "balloon config out of range"));
	b.amount_mib = 128;
	b.flags = 2;
	build_with_extras(NULL, &b, 2);
	read_extras(&m, &v2, &b2, &hv, &hb, &err);
	assert_int_equal(hb, -1);
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
		cmocka_unit_test_setup_teardown(test_vsock_balloon_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimits_section, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
