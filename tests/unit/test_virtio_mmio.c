/* virtio-mmio transport and split virtqueue validation, driven through the
 * entropy device (the simplest one): registers, feature negotiation, reset,
 * interrupts, notification suppression and teardown. Hostile chains are
 * in test_virtio_hostile.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "unit/virtio_driver.h"

#define BUF TD_DATA
#define QN 16

static void registers_identify_a_modern_rng(void **state)
{
	td *d = *state;
	assert_int_equal(td_r32(d, R_MAGIC), 0x74726976);
	assert_int_equal(td_r32(d, R_VERSION), 2);
	assert_int_equal(td_r32(d, R_DEVICE_ID), 4);
	uint64_t f = td_device_features(d);
	assert_true(f & F_VERSION_1);
	assert_true(f & F_INDIRECT);
	assert_false(f & (1ULL << 29)); /* no EVENT_IDX: not implemented */
	td_w32(d, R_QUEUE_SEL, 0);
	assert_int_equal(td_r32(d, R_QUEUE_NUM_MAX), 256);
	td_w32(d, R_QUEUE_SEL, 1);
	assert_int_equal(td_r32(d, R_QUEUE_NUM_MAX), 0); /* rng has one queue */
	/* Narrow register reads are not allowed and read as 0. */
	uint16_t half = 0xffff;
	vs_bus_access(&d->bus, TD_BASE + R_MAGIC, &half, 2, 0);
	assert_int_equal(half, 0);
}

static void features_ok_needs_version_1_and_a_subset(void **state)
{
	td *d = *state;
	assert_false(td_negotiate(d, 0) & S_FEATURES_OK);
	assert_false(td_negotiate(d, F_VERSION_1 | 1ULL << 40) & S_FEATURES_OK);
	assert_false(td_negotiate(d, F_VERSION_1 | 1ULL << 29) & S_FEATURES_OK);
	assert_true(td_negotiate(d, F_VERSION_1) & S_FEATURES_OK);
	assert_true(td_negotiate(d, F_VERSION_1 | F_INDIRECT) & S_FEATURES_OK);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void rng_fills_buffers_and_interrupts(void **state)
{
	td *d = *state;
	assert_int_equal(td_start(d, F_VERSION_1, 1, QN), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	uint8_t *buf = td_ptr(d, BUF, 4096);
	memset(buf, 0, 4096);
	td_desc(d, 0, 0, BUF, 64, D_WRITE | D_NEXT, 1);
	td_desc(d, 0, 1, BUF + 1024, 128, D_WRITE, 0);
	td_post(d, 0, 0);
	assert_int_equal(td_irq(d), 0);
	td_notify(d, 0);
	uint32_t id, len;
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 64 + 128);
	assert_false(all_zero(buf, 64));
	assert_false(all_zero(buf + 1024, 128));
	assert_true(all_zero(buf + 64, 1024 - 64)); /* nothing outside the buffers */
	assert_true(all_zero(buf + 1024 + 128, 1024));
	assert_int_equal(td_irq(d), 1);
	assert_int_equal(td_r32(d, R_ISR), 1);
	td_w32(d, R_ACK, 1);
	assert_int_equal(td_irq(d), 0);
	assert_int_equal(td_r32(d, R_ISR), 0);
}

static void rng_through_indirect_table(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	uint64_t table = BUF + 0x8000;
	uint8_t *buf = td_ptr(d, BUF, 256);
	memset(buf, 0, 256);
	td_desc_at(d, table, 0, BUF, 100, D_WRITE | D_NEXT, 1);
	td_desc_at(d, table, 1, BUF + 128, 100, D_WRITE, 0);
	td_desc(d, 0, 3, table, 32, D_INDIRECT, 0);
	td_post(d, 0, 3);
	td_notify(d, 0);
	uint32_t id, len;
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 200);
	assert_false(all_zero(buf + 128, 100));
	assert_false(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void no_interrupt_when_driver_suppresses_it(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1, 1, QN);
	uint16_t *avail_flags = td_ptr(d, d->q[0].avail, 2);
	*avail_flags = 1; /* VRING_AVAIL_F_NO_INTERRUPT */
	td_desc(d, 0, 0, BUF, 16, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	uint32_t id, len;
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(td_irq(d), 0);
}

static void nothing_happens_before_driver_ok(void **state)
{
	td *d = *state;
	td_negotiate(d, F_VERSION_1);
	td_queue_setup(d, 0, QN);
	td_desc(d, 0, 0, BUF, 16, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	uint32_t id, len;
	assert_false(td_used(d, 0, &id, &len));
}

static void reset_clears_queues_and_interrupt(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1, 1, QN);
	td_desc(d, 0, 0, BUF, 16, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	assert_int_equal(td_irq(d), 1);
	td_w32(d, R_STATUS, 0);
	assert_int_equal(td_r32(d, R_STATUS), 0);
	assert_int_equal(td_irq(d), 0);
	td_w32(d, R_QUEUE_SEL, 0);
	assert_int_equal(td_r32(d, R_QUEUE_READY), 0);
}

static void bad_queue_size_or_ring_needs_reset(void **state)
{
	td *d = *state;
	td_negotiate(d, F_VERSION_1);
	td_w32(d, R_QUEUE_SEL, 0);
	td_w32(d, R_QUEUE_NUM, 12); /* not a power of two */
	td_w32(d, R_QUEUE_READY, 1);
	assert_int_equal(td_r32(d, R_QUEUE_READY), 0);
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);

	td_negotiate(d, F_VERSION_1); /* includes a reset */
	assert_false(td_r32(d, R_STATUS) & S_NEEDS_RESET);
	td_w32(d, R_QUEUE_SEL, 0);
	td_w32(d, R_QUEUE_NUM, 256);
	td_w32(d, R_DESC_LO, 0);
	td_w32(d, R_DESC_HI, 0x10); /* far beyond guest memory */
	td_w32(d, R_QUEUE_READY, 1);
	assert_int_equal(td_r32(d, R_QUEUE_READY), 0);
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void readable_rng_buffer_gets_no_data(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1, 1, QN);
	uint8_t *buf = td_ptr(d, BUF, 16);
	memset(buf, 0, 16);
	td_desc(d, 0, 0, BUF, 16, 0, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	uint32_t id, len;
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(len, 0);
	assert_true(all_zero(buf, 16));
	assert_false(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void cmdline_names_window_and_gsi(void **state)
{
	td *d = *state;
	char buf[64];
	vs_err err = {0};
	assert_int_equal(vs_virtio_cmdline(&d->env, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "virtio_mmio.device=4K@0xd0000000:5");
	assert_int_equal(vs_virtio_cmdline(&d->env, buf, 10, &err), -1);
}

static void overlapping_device_is_refused(void **state)
{
	td *d = *state;
	vs_err err = {0};
	assert_int_equal(vs_virtio_rng_add(&d->env, &err), -1); /* same window as the first */
	assert_non_null(strstr(err.msg, "overlaps"));
}

static void foreign_read(vs_bus_dev *dev, uint64_t off, void *data, unsigned size)
{
	(void)dev, (void)off;
	memset(data, 0x42, size);
}

static void destroy_all_keeps_other_devices(void **state)
{
	td *d = *state;
	vs_bus_dev other = {.name = "other", .base = 0x1000, .len = 0x100, .read = foreign_read};
	vs_err err = {0};
	assert_int_equal(vs_bus_register(&d->bus, &other, &err), 0);
	vs_virtio_env second = d->env;
	second.mmio_base += VS_VIRTIO_MMIO_SIZE;
	assert_int_equal(vs_virtio_rng_add(&second, &err), 0);
	assert_int_equal(d->bus.n_devs, 3);
	vs_virtio_destroy_all(&d->bus);
	assert_int_equal(d->bus.n_devs, 1);
	assert_ptr_equal(d->bus.devs[0], &other);
	uint32_t v = 0;
	assert_int_equal(vs_bus_access(&d->bus, TD_BASE, &v, 4, 0), -1); /* gone */
	d->bus.n_devs = 0;
}

static bool listed(const int *calls, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (calls[i] == nr)
			return true;
	return false;
}

/* The VMM's seccomp jail is built from this list: the calls the devices make. */
static void syscall_list_covers_device_io(void **state)
{
	(void)state;
	size_t n = 0;
	const int *calls = vs_virtio_syscalls(&n);
	assert_true(listed(calls, n, SYS_preadv));
	assert_true(listed(calls, n, SYS_pwritev));
	assert_true(listed(calls, n, SYS_fdatasync));
	assert_true(listed(calls, n, SYS_getrandom));
	assert_true(listed(calls, n, SYS_writev));
	assert_true(listed(calls, n, SYS_readv));
	assert_true(listed(calls, n, SYS_futex));
}

/* Snapshot: the transport and queue state go into a freshly added device,
 * which takes up the ring where the old one left it; frozen, it takes
 * nothing; a state whose ring lies outside guest memory is refused. */
static void snapshot_restores_queues_into_a_new_device(void **state)
{
	td *d = *state;
	assert_int_equal(td_start(d, F_VERSION_1, 1, QN), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	uint32_t id, len;
	td_desc(d, 0, 0, BUF, 32, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	assert_true(td_used(d, 0, &id, &len));
	vs_snap_virtio snap;
	vs_err err = {0};
	vs_virtio_freeze_all(&d->bus, true);
	assert_int_equal(vs_virtio_save(&d->bus, TD_BASE, &snap, &err), 0);
	assert_int_equal(snap.device_id, 4);
	assert_int_equal(snap.vqs[0].last_avail, 1);
	assert_int_equal(snap.vqs[0].used_idx, 1);
	vs_virtio_destroy_all(&d->bus);
	assert_int_equal(vs_virtio_rng_add(&d->env, &err), 0);
	assert_int_equal(vs_virtio_restore(&d->bus, TD_BASE, &snap, &err), 0);
	assert_int_equal(td_r32(d, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	td_desc(d, 0, 1, BUF + 64, 16, D_WRITE, 0);
	td_post(d, 0, 1);
	td_notify(d, 0);
	assert_false(td_used(d, 0, &id, &len)); /* frozen until the VM runs */
	vs_virtio_freeze_all(&d->bus, false);
	td_notify(d, 0);
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 16);
	/* A ring outside guest memory is refused, naming the queue. */
	snap.vqs[0].desc = 1ull << 40;
	vs_virtio_destroy_all(&d->bus);
	assert_int_equal(vs_virtio_rng_add(&d->env, &err), 0);
	assert_int_equal(vs_virtio_restore(&d->bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "virtio-rng: queue 0"));
	/* Another kind of device in that slot is refused too. */
	snap.vqs[0].desc = BUF;
	snap.device_id = 2;
	assert_int_equal(vs_virtio_restore(&d->bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "virtio device 2"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, td_rng_setup, td_rng_teardown)
	const struct CMUnitTest tests[] = {
		T(registers_identify_a_modern_rng),
		T(features_ok_needs_version_1_and_a_subset),
		T(rng_fills_buffers_and_interrupts),
		T(rng_through_indirect_table),
		T(no_interrupt_when_driver_suppresses_it),
		T(nothing_happens_before_driver_ok),
		T(reset_clears_queues_and_interrupt),
		T(bad_queue_size_or_ring_needs_reset),
		T(readable_rng_buffer_gets_no_data),
		T(cmdline_names_window_and_gsi),
		T(overlapping_device_is_refused),
		T(destroy_all_keeps_other_devices),
		T(snapshot_restores_queues_into_a_new_device),
		cmocka_unit_test(syscall_list_covers_device_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
