/* virtio-blk against a real image file: reads and writes land in the file,
 * flush, GET_ID, discard, read-only refusal, out-of-range sectors and
 * malformed requests get the right status byte; a rate limiter holds a
 * request back (never the notifying thread) until its timer, a live
 * update releases it, and a swapped backing file changes the capacity
 * with a config-change interrupt. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/virtio_driver.h"

#define SECTORS 2048 /* 1 MiB image */
#define QN 16
#define HDR TD_DATA
#define DATA (TD_DATA + 0x1000)
#define STATUS (TD_DATA + 0x800)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define F_RO (1ULL << 5)
#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)

typedef struct blk_fixture {
	td d;
	char path[64];
	int fd; /* the test's own view of the image */
	vs_virtio_dev *dev;
} blk_fixture;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static int make_fixture(void **state, bool readonly)
{
	blk_fixture *f = calloc(1, sizeof(*f));
	if (!f || td_init(&f->d) < 0)
		return -1;
	strcpy(f->path, "/tmp/vs-blk-XXXXXX");
	f->fd = mkstemp(f->path);
	if (f->fd < 0)
		return -1;
	uint8_t *img = malloc(SECTORS * 512);
	for (uint64_t i = 0; i < SECTORS * 512; i++)
		img[i] = pattern(i);
	ssize_t w = write(f->fd, img, SECTORS * 512);
	free(img);
	if (w != SECTORS * 512)
		return -1;
	vs_err err = {0};
	if (vs_virtio_blk_add(&f->d.env, f->path, readonly, NULL, &f->dev, &err) < 0) {
		print_error("blk add: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_rw(void **state) { return make_fixture(state, false); }
static int setup_ro(void **state) { return make_fixture(state, true); }

static int teardown(void **state)
{
	blk_fixture *f = *state;
	td_fini(&f->d);
	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

/* One request as Linux lays it out: header, data, status byte. data_len 0
 * leaves the data descriptor out. Returns the status byte; *used gets the
 * used length. */
static int request(td *d, uint32_t type, uint64_t sector, uint32_t data_len, bool data_writable, uint32_t *used)
{
	uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};
	memcpy(td_ptr(d, HDR, 16), hdr, 16);
	*(uint8_t *)td_ptr(d, STATUS, 1) = 0xee;
	unsigned i = 0;
	td_desc(d, 0, i, HDR, 16, D_NEXT, i + 1), i++;
	if (data_len)
		td_desc(d, 0, i, DATA, data_len, D_NEXT | (data_writable ? D_WRITE : 0), i + 1), i++;
	td_desc(d, 0, i, STATUS, 1, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	uint32_t id, len;
	if (!td_used(d, 0, &id, &len) || id != 0)
		return -1;
	if (used)
		*used = len;
	return *(uint8_t *)td_ptr(d, STATUS, 1);
}

static void config_reports_capacity_and_features(void **state)
{
	blk_fixture *f = *state;
	uint64_t cap = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t b;
		vs_bus_access(&f->d.bus, TD_BASE + R_CONFIG + i, &b, 1, 0);
		cap |= (uint64_t)b << (8 * i);
	}
	assert_int_equal(cap, SECTORS);
	assert_int_equal(td_r32(&f->d, R_DEVICE_ID), 2);
	uint64_t feats = td_device_features(&f->d);
	assert_true(feats & F_FLUSH);
	assert_false(feats & F_RO);
}

static void read_returns_image_data(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	uint32_t used;
	assert_int_equal(request(&f->d, T_IN, 3, 1024, true, &used), S_OK);
	assert_int_equal(used, 1024 + 1);
	const uint8_t *data = td_ptr(&f->d, DATA, 1024);
	for (uint64_t i = 0; i < 1024; i++)
		assert_int_equal(data[i], pattern(3 * 512 + i));
	assert_int_equal(td_irq(&f->d), 1);
}

static void write_lands_in_file_and_flush_succeeds(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	memset(td_ptr(&f->d, DATA, 512), 0x5a, 512);
	uint32_t used;
	assert_int_equal(request(&f->d, T_OUT, 100, 512, false, &used), S_OK);
	assert_int_equal(used, 1);
	uint8_t back[512], want[512];
	memset(want, 0x5a, sizeof(want));
	assert_int_equal(pread(f->fd, back, 512, 100 * 512), 512);
	assert_memory_equal(back, want, 512);
	/* Neighbours untouched. */
	assert_int_equal(pread(f->fd, back, 1, 101 * 512), 1);
	assert_int_equal(back[0], pattern(101 * 512));
	assert_int_equal(request(&f->d, T_FLUSH, 0, 0, false, NULL), S_OK);
}

static void get_id_is_image_name(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	memset(td_ptr(&f->d, DATA, 20), 0xff, 20);
	uint32_t used;
	assert_int_equal(request(&f->d, T_GET_ID, 0, 20, true, &used), S_OK);
	assert_int_equal(used, 21);
	char id[21] = {0};
	memcpy(id, td_ptr(&f->d, DATA, 20), 20);
	assert_string_equal(id, strrchr(f->path, '/') + 1);
}

static void out_of_range_and_malformed_requests_fail(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	assert_int_equal(request(&f->d, T_IN, SECTORS, 512, true, NULL), S_IOERR);
	assert_int_equal(request(&f->d, T_IN, SECTORS - 1, 1024, true, NULL), S_IOERR);
	assert_int_equal(request(&f->d, T_OUT, UINT64_MAX - 1, 1024, false, NULL), S_IOERR);
	assert_int_equal(request(&f->d, T_IN, 0, 100, true, NULL), S_IOERR); /* not whole sectors */
	assert_int_equal(request(&f->d, 77, 0, 0, false, NULL), S_UNSUPP);
	/* A read whose data buffer is device-readable has nowhere to put data. */
	assert_int_equal(request(&f->d, T_IN, 0, 512, false, NULL), S_IOERR);
	/* A write whose data is device-writable is refused and changes nothing. */
	memset(td_ptr(&f->d, DATA, 512), 0x5a, 512);
	assert_int_equal(request(&f->d, T_OUT, 0, 512, true, NULL), S_IOERR);
	uint8_t back;
	assert_int_equal(pread(f->fd, &back, 1, 0), 1);
	assert_int_equal(back, pattern(0));
	/* A request with no status byte at all is returned, unanswered. */
	td_desc(&f->d, 0, 0, HDR, 16, 0, 0);
	td_post(&f->d, 0, 0);
	td_notify(&f->d, 0);
	uint32_t id, len;
	assert_true(td_used(&f->d, 0, &id, &len));
	assert_int_equal(len, 0);
	/* The last sector is fine. */
	assert_int_equal(request(&f->d, T_IN, SECTORS - 1, 512, true, NULL), S_OK);
	assert_false(td_r32(&f->d, R_STATUS) & S_NEEDS_RESET);
}

static void header_split_across_descriptors(void **state)
{
	blk_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1, 1, QN);
	uint32_t hdr[4] = {T_IN, 0, 7, 0};
	memcpy(td_ptr(d, HDR, 16), hdr, 16);
	td_desc(d, 0, 5, HDR, 4, D_NEXT, 6);
	td_desc(d, 0, 6, HDR + 4, 12, D_NEXT, 7);
	td_desc(d, 0, 7, DATA, 300, D_WRITE | D_NEXT, 8);
	td_desc(d, 0, 8, DATA + 0x800, 213, D_WRITE, 0); /* 212 data bytes + status */
	td_post(d, 0, 5);
	td_notify(d, 0);
	uint32_t id, len;
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(id, 5);
	assert_int_equal(*(uint8_t *)td_ptr(d, DATA + 0x800 + 212, 1), S_OK);
	const uint8_t *a = td_ptr(d, DATA, 300), *b = td_ptr(d, DATA + 0x800, 212);
	assert_int_equal(a[0], pattern(7 * 512));
	assert_int_equal(a[299], pattern(7 * 512 + 299));
	assert_int_equal(b[0], pattern(7 * 512 + 300));
	assert_int_equal(b[211], pattern(7 * 512 + 511));
}

static void discard_punches_zeroes(void **state)
{
	blk_fixture *f = *state;
	if (!(td_device_features(&f->d) & F_DISCARD))
		skip(); /* the file system of /tmp cannot punch holes */
	td_start(&f->d, F_VERSION_1 | F_DISCARD, 1, QN);
	uint32_t seg[4] = {16, 0, 8, 0}; /* sector 16, 8 sectors, no flags */
	memcpy(td_ptr(&f->d, DATA, 16), seg, 16);
	assert_int_equal(request(&f->d, T_DISCARD, 0, 16, false, NULL), S_OK);
	uint8_t back[8 * 512], zero[8 * 512] = {0};
	assert_int_equal(pread(f->fd, back, sizeof(back), 16 * 512), sizeof(back));
	assert_memory_equal(back, zero, sizeof(back));
	/* The unmap flag is not allowed on discard. */
	seg[3] = 1;
	memcpy(td_ptr(&f->d, DATA, 16), seg, 16);
	assert_int_equal(request(&f->d, T_DISCARD, 0, 16, false, NULL), S_UNSUPP);
	/* Out of range. */
	uint32_t far[4] = {SECTORS - 4, 0, 8, 0};
	memcpy(td_ptr(&f->d, DATA, 16), far, 16);
	assert_int_equal(request(&f->d, T_DISCARD, 0, 16, false, NULL), S_IOERR);
}

static void readonly_refuses_writes(void **state)
{
	blk_fixture *f = *state;
	assert_true(td_device_features(&f->d) & F_RO);
	assert_false(td_device_features(&f->d) & F_DISCARD);
	td_start(&f->d, F_VERSION_1 | F_RO, 1, QN);
	memset(td_ptr(&f->d, DATA, 512), 0x5a, 512);
	assert_int_equal(request(&f->d, T_OUT, 0, 512, false, NULL), S_IOERR);
	uint8_t back;
	assert_int_equal(pread(f->fd, &back, 1, 0), 1);
	assert_int_equal(back, pattern(0));
	assert_int_equal(request(&f->d, T_IN, 0, 512, true, NULL), S_OK);
	assert_int_equal(request(&f->d, T_FLUSH, 0, 0, false, NULL), S_OK);
}

/* Post a 512-byte read of sector `sector` with head `head` (descriptors
 * 3*head..), notify, no wait. */
static void post_read(td *d, uint16_t head, uint64_t sector)
{
	uint64_t hdr = HDR + 64ull * head, data = DATA + 4096ull * head, st = STATUS + head;
	uint32_t h[4] = {T_IN, 0, (uint32_t)sector, 0};
	memcpy(td_ptr(d, hdr, 16), h, 16);
	td_desc(d, 0, head, hdr, 16, D_NEXT, head + 1);
	td_desc(d, 0, head + 1, data, 512, D_NEXT | D_WRITE, head + 2);
	td_desc(d, 0, head + 2, st, 1, D_WRITE, 0);
	td_post(d, 0, head);
	td_notify(d, 0);
}

/* Wait up to ms for a used element; returns its id or -1. */
static int wait_used(td *d, int ms)
{
	uint32_t id, len;
	for (int i = 0; i < ms; i++) {
		if (td_used(d, 0, &id, &len))
			return (int)id;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void rate_limiter_holds_then_releases(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	/* One request per 500 ms. */
	vs_rl_update u = {.ops_change = VS_RL_SET, .cfg.ops = {1, 0, 500}};
	assert_int_equal(vs_virtio_blk_update(f->dev, &u, NULL, NULL), 0);
	post_read(&f->d, 0, 1);
	assert_int_equal(wait_used(&f->d, 0 + 1), 0); /* the full bucket pays at once */
	post_read(&f->d, 3, 2);
	uint32_t id, len;
	assert_false(td_used(&f->d, 0, &id, &len)); /* held: notify returned without it */
	/* The device's timer takes it up once the bucket refilled. */
	assert_int_equal(wait_used(&f->d, 3000), 3);
	assert_int_equal(*(uint8_t *)td_ptr(&f->d, STATUS + 3, 1), S_OK);
	/* Held again; removing the limiter live releases it at once. */
	post_read(&f->d, 6, 3);
	assert_false(td_used(&f->d, 0, &id, &len));
	u = (vs_rl_update){.ops_change = VS_RL_SET};
	assert_int_equal(vs_virtio_blk_update(f->dev, &u, NULL, NULL), 0);
	assert_int_equal(wait_used(&f->d, 300), 6);
	vs_dev_stats st;
	vs_virtio_stats_of(f->dev, &st);
	assert_int_equal(st.read_count, 3);
	assert_int_equal(st.read_bytes, 3 * 512);
	assert_true(st.throttled >= 2);
}

static void swap_backing_file(void **state)
{
	blk_fixture *f = *state;
	td_start(&f->d, F_VERSION_1, 1, QN);
	char other[] = "/tmp/vs-blk2-XXXXXX";
	int fd = mkstemp(other);
	assert_true(fd >= 0);
	uint8_t buf[512];
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 4 * 512), 512);
	assert_int_equal(ftruncate(fd, 64 * 512), 0);
	uint32_t gen = td_r32(&f->d, R_CONFIG_GEN);
	vs_err err = {0};
	assert_int_equal(vs_virtio_blk_update(f->dev, NULL, "/nonexistent/x.img", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/x.img"));
	assert_int_equal(vs_virtio_blk_update(f->dev, NULL, other, &err), 0);
	assert_true(td_r32(&f->d, R_CONFIG_GEN) != gen);
	assert_true(td_r32(&f->d, R_ISR) & 2); /* config change */
	assert_int_equal(td_r32(&f->d, R_CONFIG), 64);
	assert_int_equal(request(&f->d, T_IN, 4, 512, true, NULL), S_OK);
	assert_memory_equal(td_ptr(&f->d, DATA, 512), buf, 512);
	assert_int_equal(request(&f->d, T_IN, 64, 512, true, NULL), S_IOERR); /* past the new end */
	close(fd);
	unlink(other);
}

static void missing_image_is_an_error(void **state)
{
	(void)state;
	td d;
	assert_int_equal(td_init(&d), 0);
	vs_err err = {0};
	assert_int_equal(vs_virtio_blk_add(&d.env, "/nonexistent/disk.img", false, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/disk.img"));
	td_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_reports_capacity_and_features, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(read_returns_image_data, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(write_lands_in_file_and_flush_succeeds, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(get_id_is_image_name, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(out_of_range_and_malformed_requests_fail, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(header_split_across_descriptors, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(discard_punches_zeroes, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(readonly_refuses_writes, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(rate_limiter_holds_then_releases, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(swap_backing_file, setup_rw, teardown),
		cmocka_unit_test(missing_image_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
