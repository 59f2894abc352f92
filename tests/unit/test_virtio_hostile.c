/* Hostile drivers against the split virtqueue code (through the entropy
 * device): every broken chain or ring must end in DEVICE_NEEDS_RESET plus a
 * configuration-change interrupt, with nothing put on the used ring and no
 * host access outside guest memory (ASan watches), and a reset must bring
 * the device back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/log.h"
#include "unit/virtio_driver.h"

#define BUF TD_DATA
#define QN 16

/* Post the hostile chain at head 0 (already written), notify, expect the
 * device to refuse it: NEEDS_RESET, config interrupt, nothing used. Then
 * check a reset brings the device back. */
static void expect_needs_reset(td *d, uint16_t head)
{
	td_post(d, 0, head);
	td_notify(d, 0);
	uint32_t id, len;
	assert_false(td_used(d, 0, &id, &len));
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);
	assert_true(td_r32(d, R_ISR) & 2);
	assert_int_equal(td_irq(d), 1);
	/* Further notifies are ignored until reset. */
	td_notify(d, 0);
	/* Recovery: reset and a good request works again. */
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	assert_int_equal(td_irq(d), 0);
	td_desc(d, 0, 0, BUF, 8, D_WRITE, 0);
	td_post(d, 0, 0);
	td_notify(d, 0);
	assert_true(td_used(d, 0, &id, &len));
	assert_int_equal(len, 8);
}

static void hostile_descriptor_loop(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF, 8, D_WRITE | D_NEXT, 1);
	td_desc(d, 0, 1, BUF, 8, D_WRITE | D_NEXT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_next_out_of_range(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF, 8, D_WRITE | D_NEXT, QN);
	expect_needs_reset(d, 0);
}

static void hostile_head_out_of_range(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	expect_needs_reset(d, 0xffff);
}

static void hostile_address_beyond_memory(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, TD_MEM_SIZE, 8, D_WRITE, 0);
	expect_needs_reset(d, 0);
}

static void hostile_address_in_mmio_hole(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, TD_BASE, 8, D_WRITE, 0);
	expect_needs_reset(d, 0);
}

static void hostile_address_plus_len_overflows(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, UINT64_MAX - 4, 64, D_WRITE, 0);
	expect_needs_reset(d, 0);
}

static void hostile_len_4gib(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF, 0xffffffffu, D_WRITE, 0);
	expect_needs_reset(d, 0);
}

static void hostile_avail_idx_runs_ahead(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF, 8, D_WRITE, 0);
	uint16_t *avail = td_ptr(d, d->q[0].avail, 4);
	avail[1] = QN + 1;
	td_notify(d, 0);
	uint32_t id, len;
	assert_false(td_used(d, 0, &id, &len));
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void hostile_indirect_table_out_of_range(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, TD_MEM_SIZE - 16, 64, D_INDIRECT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_indirect_entry_out_of_range(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	uint64_t table = BUF + 0x8000;
	td_desc_at(d, table, 0, BUF, 8, D_WRITE | D_NEXT, 2); /* table has 2 entries */
	td_desc(d, 0, 0, table, 32, D_INDIRECT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_nested_indirect(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	uint64_t table = BUF + 0x8000;
	td_desc_at(d, table, 0, table, 16, D_INDIRECT, 0);
	td_desc(d, 0, 0, table, 16, D_INDIRECT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_indirect_without_negotiation(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1, 1, QN);
	uint64_t table = BUF + 0x8000;
	td_desc_at(d, table, 0, BUF, 8, D_WRITE, 0);
	td_desc(d, 0, 0, table, 16, D_INDIRECT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_indirect_bad_length(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF + 0x8000, 20, D_INDIRECT, 0);
	expect_needs_reset(d, 0);
}

static void hostile_readable_after_writable(void **state)
{
	td *d = *state;
	td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
	td_desc(d, 0, 0, BUF, 8, D_WRITE | D_NEXT, 1);
	td_desc(d, 0, 1, BUF + 64, 8, 0, 0);
	expect_needs_reset(d, 0);
}

/* Deterministic pseudo-random tables (fixed seed): whatever the guest
 * writes, each notify either completes chains inside guest memory or marks
 * the device NEEDS_RESET; ASan catches any host access outside. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 4) {
	case 0: return BUF + rnd() % 0x10000;
	case 1: return TD_MEM_SIZE - rnd() % 0x1000;
	case 2: return rnd();
	default: return BUF + 0x8000; /* a plausible indirect table */
	}
}

static void random_chains_are_contained(void **state)
{
	td *d = *state;
	int broken = 0, completed = 0;
	vs_log_open("/dev/null", false, false); /* thousands of expected warnings */
	for (int round = 0; round < 3000; round++) {
		td_start(d, F_VERSION_1 | F_INDIRECT, 1, QN);
		for (unsigned i = 0; i < QN; i++)
			td_desc(d, 0, i, rnd_addr(), (uint32_t)(rnd() % 4 ? rnd() % 0x2000 : rnd()),
				(uint16_t)(rnd() % 8), (uint16_t)(rnd() % (QN + 2)));
		for (unsigned i = 0; i < 8; i++)
			td_desc_at(d, BUF + 0x8000, i, rnd_addr(), (uint32_t)(rnd() % 0x2000), (uint16_t)(rnd() % 8),
				   (uint16_t)(rnd() % 10));
		unsigned posts = 1 + (unsigned)(rnd() % 4);
		for (unsigned i = 0; i < posts; i++)
			td_post(d, 0, (uint16_t)(rnd() % (QN + 1)));
		td_notify(d, 0);
		uint32_t id, len, used = 0;
		while (td_used(d, 0, &id, &len)) {
			assert_true(id < QN);
			used++;
		}
		assert_true(used <= posts);
		if (td_r32(d, R_STATUS) & S_NEEDS_RESET)
			broken++;
		else
			assert_int_equal(used, posts);
		completed += (int)used;
	}
	/* Both outcomes occur, so the test exercises both paths. */
	assert_true(broken > 0);
	assert_true(completed > 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, td_rng_setup, td_rng_teardown)
	const struct CMUnitTest tests[] = {
		T(hostile_descriptor_loop),
		T(hostile_next_out_of_range),
		T(hostile_head_out_of_range),
		T(hostile_address_beyond_memory),
		T(hostile_address_in_mmio_hole),
		T(hostile_address_plus_len_overflows),
		T(hostile_len_4gib),
		T(hostile_avail_idx_runs_ahead),
		T(hostile_indirect_table_out_of_range),
		T(hostile_indirect_entry_out_of_range),
		T(hostile_nested_indirect),
		T(hostile_indirect_without_negotiation),
		T(hostile_indirect_bad_length),
		T(hostile_readable_after_writable),
		T(random_chains_are_contained), /* last: it silences the log */
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
