/* Token buckets (ratelimit.h). Refills are exact: the part of a token not
 * yet earned is kept (rem), so many small refills add up to the same as
 * one large one, and a rate holds however often the device asks. */
#include "vmm/ratelimit.h"

#define NS_PER_MS 1000000ull

bool vs_tbucket_cfg_on(const vs_tbucket_cfg *c)
{
	return c->size && c->refill_ms;
}

bool vs_rl_cfg_on(const vs_rl_cfg *c)
{
	return vs_tbucket_cfg_on(&c->bw) || vs_tbucket_cfg_on(&c->ops);
}

static void bucket_init(vs_tbucket *b, const vs_tbucket_cfg *c, uint64_t now)
{
	*b = (vs_tbucket){.cfg = *c, .on = vs_tbucket_cfg_on(c), .last_ns = now};
	if (b->on) {
		b->budget = (int64_t)c->size;
		b->burst = c->one_time_burst;
	}
}

void vs_rl_init(vs_ratelimit *rl, const vs_rl_cfg *cfg, uint64_t now_ns)
{
	bucket_init(&rl->bw, &cfg->bw, now_ns);
	bucket_init(&rl->ops, &cfg->ops, now_ns);
	rl->throttled = 0;
}

void vs_rl_update_apply(vs_ratelimit *rl, const vs_rl_update *u, uint64_t now_ns)
{
	if (u->bw_change == VS_RL_SET)
		bucket_init(&rl->bw, &u->cfg.bw, now_ns);
	if (u->ops_change == VS_RL_SET)
		bucket_init(&rl->ops, &u->cfg.ops, now_ns);
}

void vs_rl_cfg_apply(vs_rl_cfg *cfg, const vs_rl_update *u)
{
	if (u->bw_change == VS_RL_SET)
		cfg->bw = vs_tbucket_cfg_on(&u->cfg.bw) ? u->cfg.bw : (vs_tbucket_cfg){0};
	if (u->ops_change == VS_RL_SET)
		cfg->ops = vs_tbucket_cfg_on(&u->cfg.ops) ? u->cfg.ops : (vs_tbucket_cfg){0};
}

bool vs_rl_active(const vs_ratelimit *rl)
{
	return rl->bw.on || rl->ops.on;
}

static void refill(vs_tbucket *b, uint64_t now)
{
	if (!b->on || now <= b->last_ns)
		return;
	uint64_t size = b->cfg.size, period = b->cfg.refill_ms * NS_PER_MS;
	unsigned __int128 acc = (unsigned __int128)(now - b->last_ns) * size + b->rem;
	b->last_ns = now;
	unsigned __int128 add = acc / period;
	uint64_t debt = b->budget < 0 ? (uint64_t)-b->budget : 0;
	if (add >= (unsigned __int128)size + debt || b->budget + (int64_t)add >= (int64_t)size) {
		b->budget = (int64_t)size;
		b->rem = 0;
	} else {
		b->budget += (int64_t)add;
		b->rem = (uint64_t)(acc % period);
	}
}

/* What the budget must hold for t tokens once the burst is spent: a
 * request larger than the bucket needs a full bucket. */
static int64_t need(const vs_tbucket *b, uint64_t t)
{
	uint64_t r = t - b->burst;
	return (int64_t)(r < b->cfg.size ? r : b->cfg.size);
}

static bool can(const vs_tbucket *b, uint64_t t)
{
	return !b->on || b->burst >= t || b->budget >= need(b, t);
}

static void take(vs_tbucket *b, uint64_t t)
{
	if (!b->on)
		return;
	if (b->burst >= t) {
		b->burst -= t;
		return;
	}
	t -= b->burst;
	b->burst = 0;
	/* t may be huge (a bogus guest length): the debt is capped at what
	 * the request could at most have been. */
	b->budget -= (int64_t)(t < VS_RL_MAX_TOKENS ? t : VS_RL_MAX_TOKENS);
}

static uint64_t wait_ns(const vs_tbucket *b, uint64_t t)
{
	if (can(b, t))
		return 0;
	unsigned __int128 deficit = (unsigned __int128)(need(b, t) - b->budget);
	unsigned __int128 ns = deficit * (b->cfg.refill_ms * NS_PER_MS);
	ns = ns > b->rem ? ns - b->rem : 0;
	ns = (ns + b->cfg.size - 1) / b->cfg.size;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

bool vs_rl_consume(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	refill(&rl->bw, now_ns);
	refill(&rl->ops, now_ns);
	if (!can(&rl->bw, bytes) || !can(&rl->ops, ops)) {
		rl->throttled++;
		return false;
	}
	take(&rl->bw, bytes);
	take(&rl->ops, ops);
	return true;
}

void vs_rl_charge(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	refill(&rl->bw, now_ns);
	refill(&rl->ops, now_ns);
	take(&rl->bw, bytes);
	take(&rl->ops, ops);
}

uint64_t vs_rl_wait_ns(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	refill(&rl->bw, now_ns);
	refill(&rl->ops, now_ns);
	uint64_t a = wait_ns(&rl->bw, bytes), b = wait_ns(&rl->ops, ops);
	return a > b ? a : b;
}

/* Time until b holds size tokens again (0 if off or full). */
static uint64_t full_ns(const vs_tbucket *b)
{
	if (!b->on || b->budget >= (int64_t)b->cfg.size)
		return 0;
	unsigned __int128 ns = (unsigned __int128)((int64_t)b->cfg.size - b->budget) * (b->cfg.refill_ms * NS_PER_MS);
	ns = ns > b->rem ? ns - b->rem : 0;
	ns = (ns + b->cfg.size - 1) / b->cfg.size;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

uint64_t vs_rl_wake_ns(vs_ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	uint64_t wait = vs_rl_wait_ns(rl, bytes, ops, now_ns);
	uint64_t a = full_ns(&rl->bw), b = full_ns(&rl->ops);
	uint64_t full = !a ? b : !b ? a : a < b ? a : b;
	uint64_t floor = full && full < VS_RL_MIN_WAKE_NS ? full : VS_RL_MIN_WAKE_NS;
	return wait > floor ? wait : floor;
}
