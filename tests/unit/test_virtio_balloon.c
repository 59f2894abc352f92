/* virtio-balloon without KVM (the test is the guest driver): features and
 * config, inflated pages leave the host's memory (mincore) and read back
 * as zero, PFNs outside guest RAM are skipped, a new target raises a
 * config interrupt, `actual` is the driver's, and the statistics buffer
 * is held and handed back each period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/virtio_driver.h"

#define QN 16
#define INFLATE 0
#define DEFLATE 1
#define STATS 2
#define F_STATS_VQ (1ULL << 1)
#define F_DEFLATE_ON_OOM (1ULL << 2)
#define PFNS TD_DATA                  /* the PFN array */
#define VICTIM (TD_DATA + 0x100000)   /* 64 pages the guest gives back */
#define STATBUF (TD_DATA + 0x200000)

typedef struct fx {
	td d;
	vs_balloon *b;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	if (!f || td_init(&f->d) < 0)
		return -1;
	vs_balloon_config c = {.target_pages = 64, .deflate_on_oom = true, .stats_interval_s = 1};
	vs_err err = {0};
	if (!(f->b = vs_virtio_balloon_add(&f->d.env, &c, &err)))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	td_fini(&f->d);
	free(f);
	return 0;
}

static unsigned resident(td *d, uint64_t gpa, unsigned pages)
{
	unsigned char vec[256];
	assert_int_equal(mincore(td_ptr(d, gpa, pages * 4096ULL), pages * 4096ULL, vec), 0);
	unsigned n = 0;
	for (unsigned i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

static void features_and_config(void **state)
{
	fx *f = *state;
	assert_int_equal(td_r32(&f->d, R_DEVICE_ID), 5);
	uint64_t feat = td_device_features(&f->d);
	assert_true(feat & F_STATS_VQ);
	assert_true(feat & F_DEFLATE_ON_OOM);
	assert_int_equal(td_r32(&f->d, R_CONFIG), 64);     /* num_pages */
	assert_int_equal(td_r32(&f->d, R_CONFIG + 4), 0);  /* actual */
}

static void inflate_returns_pages_to_the_host(void **state)
{
	fx *f = *state;
	td_start(&f->d, F_VERSION_1 | F_STATS_VQ, 3, QN);
	memset(td_ptr(&f->d, VICTIM, 64 * 4096), 0xaa, 64 * 4096);
	assert_int_equal(resident(&f->d, VICTIM, 64), 64);
	uint32_t *pfn = td_ptr(&f->d, PFNS, 68 * 4);
	for (unsigned i = 0; i < 64; i++)
		pfn[i] = (uint32_t)(VICTIM / 4096) + i;
	pfn[64] = 0xfffffff0; /* outside guest RAM: skipped */
	td_desc(&f->d, INFLATE, 0, PFNS, 65 * 4, 0, 0);
	td_post(&f->d, INFLATE, 0);
	td_notify(&f->d, INFLATE);
	uint32_t id, len;
	assert_true(td_used(&f->d, INFLATE, &id, &len));
	assert_int_equal(resident(&f->d, VICTIM, 64), 0);
	assert_int_equal(((uint8_t *)td_ptr(&f->d, VICTIM, 1))[0], 0);
	assert_int_equal(td_r32(&f->d, R_STATUS) & S_NEEDS_RESET, 0);
	/* The driver reports what it holds. */
	td_w32(&f->d, R_CONFIG + 4, 64);
	vs_balloon_info i;
	vs_balloon_get(f->b, &i);
	assert_int_equal(i.actual_pages, 64);
	/* Deflate: the pages just come back on use. */
	td_desc(&f->d, DEFLATE, 0, PFNS, 64 * 4, 0, 0);
	td_post(&f->d, DEFLATE, 0);
	td_notify(&f->d, DEFLATE);
	assert_true(td_used(&f->d, DEFLATE, &id, &len));
}

static void new_target_raises_config_interrupt(void **state)
{
	fx *f = *state;
	td_start(&f->d, F_VERSION_1, 2, QN);
	uint32_t gen = td_r32(&f->d, R_CONFIG_GEN);
	td_w32(&f->d, R_CONFIG, 12345); /* num_pages is not the driver's */
	assert_int_equal(td_r32(&f->d, R_CONFIG), 64);
	vs_balloon_set_target(f->b, 32768);
	assert_int_equal(td_r32(&f->d, R_CONFIG), 32768);
	assert_int_not_equal(td_r32(&f->d, R_CONFIG_GEN), gen);
	assert_true(td_r32(&f->d, R_ISR) & 2);
	assert_true(td_irq(&f->d));
}

static void stats_buffer_comes_back_each_period(void **state)
{
	fx *f = *state;
	td_start(&f->d, F_VERSION_1 | F_STATS_VQ, 3, QN);
	uint8_t *s = td_ptr(&f->d, STATBUF, 30);
	/* tag 4 (free memory) = 1 MiB, tag 5 (total) = 2 MiB, tag 99 unknown */
	uint16_t tags[3] = {4, 5, 99};
	uint64_t vals[3] = {1 << 20, 2 << 20, 7};
	for (int i = 0; i < 3; i++) {
		memcpy(s + 10 * i, &tags[i], 2);
		memcpy(s + 10 * i + 2, &vals[i], 8);
	}
	td_desc(&f->d, STATS, 0, STATBUF, 30, 0, 0);
	td_post(&f->d, STATS, 0);
	td_notify(&f->d, STATS);
	vs_balloon_info i;
	vs_balloon_get(f->b, &i);
	assert_int_equal(i.have, 1 << 4 | 1 << 5);
	assert_int_equal(i.stats[4], 1 << 20);
	assert_int_equal(i.stats[5], 2 << 20);
	uint32_t id, len;
	assert_false(td_used(&f->d, STATS, &id, &len)); /* held by the device */
	assert_true(td_wait_used(&f->d, STATS, &id, &len)); /* ... until the period is up */
	assert_int_equal(id, 0);
}

/* Linux posts its first stats buffer before DRIVER_OK (its notify is not
 * taken then): the device must find it at DRIVER_OK. */
static void stats_posted_before_driver_ok_are_read(void **state)
{
	fx *f = *state;
	td_negotiate(&f->d, F_VERSION_1 | F_STATS_VQ);
	for (unsigned q = 0; q < 3; q++)
		td_queue_setup(&f->d, q, QN);
	uint8_t *s = td_ptr(&f->d, STATBUF, 10);
	uint16_t tag = 5;
	uint64_t val = 123456789;
	memcpy(s, &tag, 2);
	memcpy(s + 2, &val, 8);
	td_desc(&f->d, STATS, 0, STATBUF, 10, 0, 0);
	td_post(&f->d, STATS, 0);
	td_notify(&f->d, STATS);
	vs_balloon_info i;
	vs_balloon_get(f->b, &i);
	assert_int_equal(i.have, 0);
	td_w32(&f->d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	vs_balloon_get(f->b, &i);
	assert_int_equal(i.have, 1 << 5);
	assert_int_equal(i.stats[5], 123456789);
}

/* Snapshot and restore into a fresh device over a copy of guest memory:
 * target, actual, the statistics and the held stats buffer come back
 * (it is handed back a period after the VM runs again); state that
 * does not fit the device it is restored into is refused. */
static void save_and_restore(void **state)
{
	fx *f = *state;
	td_start(&f->d, F_VERSION_1 | F_STATS_VQ | F_DEFLATE_ON_OOM, 3, QN);
	uint8_t *s = td_ptr(&f->d, STATBUF, 10);
	uint16_t tag = 4;
	uint64_t val = 777;
	memcpy(s, &tag, 2);
	memcpy(s + 2, &val, 8);
	td_desc(&f->d, STATS, 0, STATBUF, 10, 0, 0);
	td_post(&f->d, STATS, 0);
	td_notify(&f->d, STATS);
	td_w32(&f->d, R_CONFIG + 4, 16); /* actual */
	vs_balloon_set_target(f->b, 32);
	vs_virtio_freeze_all(&f->d.bus, true); /* paused, as for a snapshot */
	vs_snap_virtio snap;
	vs_err err = {0};
	assert_int_equal(vs_virtio_save(&f->d.bus, TD_BASE, &snap, &err), 0);
	assert_true(snap.dev_len > 0);

	td d2;
	assert_int_equal(td_clone(&d2, &f->d), 0);
	vs_balloon_config c = {.target_pages = 64, .deflate_on_oom = true, .stats_interval_s = 1};
	vs_balloon *b2 = vs_virtio_balloon_add(&d2.env, &c, &err);
	assert_non_null(b2);
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), 0);
	assert_int_equal(td_r32(&d2, R_CONFIG), 32);
	assert_int_equal(td_r32(&d2, R_CONFIG + 4), 16);
	vs_balloon_info i;
	vs_balloon_get(b2, &i);
	assert_int_equal(i.target_pages, 32);
	assert_int_equal(i.actual_pages, 16);
	assert_int_equal(i.have, 1 << 4);
	assert_int_equal(i.stats[4], 777);
	vs_virtio_freeze_all(&d2.bus, false);
	uint32_t id, len;
	assert_true(td_wait_used(&d2, STATS, &id, &len)); /* the held buffer, handed back */
	assert_int_equal(id, 0);
	td_fini(&d2);

	/* A device without deflate_on_oom (or statistics) is not this state's. */
	assert_int_equal(td_clone(&d2, &f->d), 0);
	c.deflate_on_oom = false;
	assert_non_null(vs_virtio_balloon_add(&d2.env, &c, &err));
	snap.driver_features &= ~F_DEFLATE_ON_OOM; /* past the transport's own check */
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "virtio-balloon: device state out of range"));
	td_fini(&d2);

	/* A held stats buffer beyond the queue, a target beyond RAM: refused. */
	snap.driver_features |= F_DEFLATE_ON_OOM;
	c.deflate_on_oom = true;
	uint16_t head = QN;
	memcpy(snap.dev + 16, &head, 2); /* stats_head */
	assert_int_equal(td_clone(&d2, &f->d), 0);
	assert_non_null(vs_virtio_balloon_add(&d2.env, &c, &err));
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	td_fini(&d2);
	head = 0;
	memcpy(snap.dev + 16, &head, 2);
	uint32_t target = (TD_MEM_SIZE / 4096) + 1;
	memcpy(snap.dev, &target, 4);
	assert_int_equal(td_clone(&d2, &f->d), 0);
	assert_non_null(vs_virtio_balloon_add(&d2.env, &c, &err));
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	snap.dev_len = 3;
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "3 bytes of device state"));
	td_fini(&d2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(features_and_config),
		T(save_and_restore),
		T(inflate_returns_pages_to_the_host),
		T(new_target_raises_config_interrupt),
		T(stats_buffer_comes_back_each_period),
		T(stats_posted_before_driver_ok_are_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
