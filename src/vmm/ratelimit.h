/* Firecracker's rate limiter: two token buckets per direction, one counting
 * bytes (bandwidth) and one counting requests (ops). A bucket holds up to
 * `size` tokens, refills from empty to full in `refill_ms`, starts full, and
 * has a one-time burst on top that is spent first and never comes back.
 * size == 0 or refill_ms == 0 means no limit.
 *
 * Pure logic: the caller passes the time (CLOCK_MONOTONIC ns), so the unit
 * tests drive it with a fake clock. Not thread-safe: the device's lock
 * guards it. */
#ifndef VS_VMM_RATELIMIT_H
#define VS_VMM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct vs_tbucket_cfg {
	uint64_t size;           /* tokens; 0 = no limit */
	uint64_t one_time_burst; /* extra tokens, spent first, not refilled */
	uint64_t refill_ms;      /* time from empty to full; 0 = no limit */
} vs_tbucket_cfg;

typedef struct vs_rl_cfg {
	vs_tbucket_cfg bw;  /* bytes */
	vs_tbucket_cfg ops; /* requests */
} vs_rl_cfg;

/* A live change (PATCH): each bucket is kept, replaced (a new, full
 * bucket), or removed (a config with size or refill_ms 0). */
typedef enum { VS_RL_KEEP = 0, VS_RL_SET } vs_rl_change;
typedef struct vs_rl_update {
	vs_rl_change bw_change, ops_change;
	vs_rl_cfg cfg;
} vs_rl_update;

typedef struct vs_tbucket {
	vs_tbucket_cfg cfg;
	bool on;
	int64_t budget;   /* may go below 0 after a request larger than size */
	uint64_t burst;   /* what is left of one_time_burst */
	uint64_t last_ns; /* time of the last refill */
	uint64_t rem;     /* refill remainder, in token * ns units / size */
} vs_tbucket;

typedef struct vs_ratelimit {
	vs_tbucket bw, ops;
	uint64_t throttled; /* requests that had to wait */
} vs_ratelimit;

/* Largest accepted size, burst and refill time: keeps the arithmetic exact. */
#define VS_RL_MAX_TOKENS (1ull << 50)
#define VS_RL_MAX_REFILL_MS (1ull << 32)

bool vs_tbucket_cfg_on(const vs_tbucket_cfg *c);
bool vs_rl_cfg_on(const vs_rl_cfg *c);
void vs_rl_init(vs_ratelimit *rl, const vs_rl_cfg *cfg, uint64_t now_ns);
void vs_rl_update_apply(vs_ratelimit *rl, const vs_rl_update *u, uint64_t now_ns);
/* Apply an update to a stored configuration as well (what GET shows). */
void vs_rl_cfg_apply(vs_rl_cfg *cfg, const vs_rl_update *u);
bool vs_rl_active(const vs_ratelimit *rl);

/* Take `bytes` from the bandwidth bucket and `ops` from the ops bucket,
 * both or neither. A request larger than a bucket's size goes through
 * once that bucket is full and leaves it in debt, so the long-run rate
 * holds for any request size. On failure counts one throttled event. */
bool vs_rl_consume(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);
/* Take them unconditionally (what already happened: a received frame),
 * going into debt if need be; later requests wait until it is paid. */
void vs_rl_charge(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);
/* Nanoseconds until vs_rl_consume(bytes, ops) could succeed (0: now). */
uint64_t vs_rl_wait_ns(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);
/* How long a held queue should sleep: the wait above, but at least
 * VS_RL_MIN_WAKE_NS (or until a bucket is full, if sooner), so that a
 * wake-up pays for a batch of requests, not one small frame each time. */
#define VS_RL_MIN_WAKE_NS 20000000ull
uint64_t vs_rl_wake_ns(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);

#endif
