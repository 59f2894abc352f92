/* The token bucket (src/vmm/ratelimit.c) on a fake clock: starts full,
 * refills at size per refill_ms exactly (however finely the time is cut),
 * one-time burst spent first and never refilled, both buckets or neither,
 * requests larger than the bucket, waits, live updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/ratelimit.h"

#define MS 1000000ull
#define S (1000 * MS)

static vs_rl_cfg bw(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (vs_rl_cfg){.bw = {size, burst, refill_ms}};
}

static void test_unlimited(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = {0};
	vs_rl_init(&rl, &c, 0);
	assert_false(vs_rl_active(&rl));
	for (int i = 0; i < 1000; i++)
		assert_true(vs_rl_consume(&rl, 1ull << 40, 1, 0));
	/* size 0 or refill 0: no limit either (as Firecracker). */
	c = bw(0, 0, 100);
	vs_rl_init(&rl, &c, 0);
	assert_false(vs_rl_active(&rl));
	c = bw(100, 0, 0);
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 1000, 1, 0));
	assert_int_equal(rl.throttled, 0);
}

static void test_starts_full_then_refills(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = bw(1000, 0, 100); /* 10000 tokens/s */
	vs_rl_init(&rl, &c, 5 * S);
	assert_true(vs_rl_consume(&rl, 1000, 1, 5 * S));
	assert_false(vs_rl_consume(&rl, 1, 1, 5 * S));
	assert_int_equal(rl.throttled, 1);
	/* 10 ms = 100 tokens. */
	assert_int_equal(vs_rl_wait_ns(&rl, 100, 1, 5 * S), 10 * MS);
	assert_false(vs_rl_consume(&rl, 100, 1, 5 * S + 10 * MS - 1));
	assert_true(vs_rl_consume(&rl, 100, 1, 5 * S + 10 * MS));
	/* Never more than size, however long it waits. */
	assert_false(vs_rl_consume(&rl, 1001, 1, 1000 * S) && vs_rl_consume(&rl, 1, 1, 1000 * S));
}

static void test_exact_rate_with_tiny_steps(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = bw(3, 0, 1000); /* 3 tokens/s: 1/3 s per token, no integer ns */
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 3, 1, 0));
	/* Refill every 1 us for 10 s, taking a token whenever one is there. */
	uint64_t got = 0;
	for (uint64_t t = 1000; t <= 10 * S; t += 1000)
		while (vs_rl_consume(&rl, 1, 1, t))
			got++;
	assert_int_equal(got, 30);
}

static void test_one_time_burst(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = bw(100, 500, 1000);
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 550, 1, 0)); /* 500 burst + 50 budget */
	assert_true(vs_rl_consume(&rl, 50, 1, 0));
	assert_false(vs_rl_consume(&rl, 1, 1, 0));
	/* The burst does not come back, the budget does. */
	assert_true(vs_rl_consume(&rl, 100, 1, 10 * S));
	assert_false(vs_rl_consume(&rl, 1, 1, 10 * S));
}

static void test_both_or_neither(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = {.bw = {1000, 0, 1000}, .ops = {2, 0, 1000}};
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 10, 1, 0));
	assert_true(vs_rl_consume(&rl, 10, 1, 0));
	/* ops empty: the bytes must not be taken either. */
	assert_false(vs_rl_consume(&rl, 900, 1, 0));
	assert_int_equal(rl.bw.budget, 980);
	/* 500 ms: one op back. */
	assert_int_equal(vs_rl_wait_ns(&rl, 10, 1, 0), 500 * MS);
	assert_true(vs_rl_consume(&rl, 900, 1, 500 * MS));
}

static void test_larger_than_bucket(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = bw(1000, 0, 1000); /* 1000/s */
	vs_rl_init(&rl, &c, 0);
	/* 4000 > size: goes through on a full bucket, leaves 3000 of debt. */
	assert_true(vs_rl_consume(&rl, 4000, 1, 0));
	assert_false(vs_rl_consume(&rl, 4000, 1, 3 * S));
	assert_int_equal(vs_rl_wait_ns(&rl, 4000, 1, 3 * S), 1 * S);
	assert_true(vs_rl_consume(&rl, 4000, 1, 4 * S));
	/* A bogus huge length cannot wrap the budget around. */
	assert_true(vs_rl_consume(&rl, UINT64_MAX, 1, 100 * S));
	assert_false(vs_rl_consume(&rl, 1, 1, 101 * S));
	assert_true(vs_rl_wait_ns(&rl, 1, 1, 101 * S) > 0);
}

static void test_update(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = {.bw = {100, 0, 1000}, .ops = {5, 0, 1000}}, stored = c;
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 100, 1, 0));
	assert_false(vs_rl_consume(&rl, 1, 1, 0));
	/* Replace bw with a bigger (full) bucket, keep ops. */
	vs_rl_update u = {.bw_change = VS_RL_SET, .cfg.bw = {1000, 0, 1000}};
	vs_rl_update_apply(&rl, &u, 0);
	vs_rl_cfg_apply(&stored, &u);
	assert_true(vs_rl_consume(&rl, 1000, 1, 0));
	assert_int_equal(stored.bw.size, 1000);
	assert_int_equal(stored.ops.size, 5);
	assert_int_equal(rl.ops.budget, 3);
	/* Remove both: a zero config. */
	u = (vs_rl_update){.bw_change = VS_RL_SET, .ops_change = VS_RL_SET};
	vs_rl_update_apply(&rl, &u, 0);
	vs_rl_cfg_apply(&stored, &u);
	assert_false(vs_rl_active(&rl));
	assert_false(vs_rl_cfg_on(&stored));
	assert_true(vs_rl_consume(&rl, 1ull << 40, 1000, 0));
}

static void test_wake_batches(void **st)
{
	(void)st;
	vs_ratelimit rl;
	vs_rl_cfg c = bw(131072, 0, 125); /* 1 MiB/s, 125 ms to fill */
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 131072, 1, 0));
	/* One 1514-byte frame would be due in 1.4 ms: sleep for a batch. */
	assert_true(vs_rl_wait_ns(&rl, 1514, 1, 0) < 2 * MS);
	assert_int_equal(vs_rl_wake_ns(&rl, 1514, 1, 0), VS_RL_MIN_WAKE_NS);
	/* Never past the time the bucket is full (tokens would be lost). */
	vs_rl_cfg fast = bw(1000, 0, 5);
	vs_rl_init(&rl, &fast, 0);
	assert_true(vs_rl_consume(&rl, 1000, 1, 0));
	assert_int_equal(vs_rl_wake_ns(&rl, 1, 1, 0), 5 * MS);
	/* A long wait stays what it is. */
	vs_rl_init(&rl, &c, 0);
	assert_true(vs_rl_consume(&rl, 131072 * 4, 1, 0));
	assert_int_equal(vs_rl_wake_ns(&rl, 1, 1, 0), vs_rl_wait_ns(&rl, 1, 1, 0));
	assert_true(vs_rl_wake_ns(&rl, 1, 1, 0) > 125 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_starts_full_then_refills),
		cmocka_unit_test(test_exact_rate_with_tiny_steps),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_both_or_neither),
		cmocka_unit_test(test_larger_than_bucket),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_wake_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
