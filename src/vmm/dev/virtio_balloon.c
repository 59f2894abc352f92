/* virtio memory balloon (virtio 1.2, 5.5). The host sets a target
 * (num_pages); the guest gives pages back on the inflate queue, and each is
 * returned to the host at once with madvise(MADV_DONTNEED) (guest RAM is
 * private anonymous memory: the VMM's RSS falls, and a page the guest
 * touches again after deflating faults in zeroed). Deflating needs no
 * host work (F_MUST_TELL_HOST is not offered). With statistics, the device
 * holds the guest's stats buffer and hands it back every
 * stats_interval_s seconds (from its own small thread) to get fresh ones.
 * Inflate/deflate run on the notifying vCPU thread. All guest-visible
 * state is balloon_state, which holds no pointers. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/dev/devthread.h"
#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_BALLOON 5
#define F_STATS_VQ 1
#define F_DEFLATE_ON_OOM 2
#define INFLATE_Q 0
#define DEFLATE_Q 1
#define STATS_Q 2
#define PAGE 4096ull /* VIRTIO_BALLOON_PFN_SHIFT 12, whatever the guest's page size */
#define STAT_LEN 10  /* le16 tag, le64 value */
/* Linux sends 256 PFNs per buffer; a longer one only costs the guest's
 * own vCPU time, so read no more than this of it. */
#define MAX_PFNS 4096u
#define MAX_STATS 64u

struct balloon_config {
	uint32_t num_pages, actual;
} __attribute__((packed));

typedef struct balloon_state {
	uint32_t target_pages, actual_pages;
	uint32_t stats_interval_s;
	bool deflate_on_oom, stats_vq;
	bool stats_held;    /* the device holds the guest's stats buffer */
	uint16_t stats_head;
	uint16_t have;
	uint64_t stats[VS_BALLOON_N_STATS];
} balloon_state;

struct vs_balloon {
	vs_vmmio *t;
	balloon_state st;
	vs_devthread thread; /* with a statistics queue only */
	vs_vq_chain chain;
};

/* Give the pages of one inflate buffer back to the host, a run of
 * contiguous host pages per madvise. PFNs outside guest RAM are skipped. */
static void release(vs_balloon *b, const vs_vq_chain *c)
{
	uint8_t *run = NULL;
	size_t run_len = 0;
	uint64_t end = c->out_len < MAX_PFNS * 4ull ? c->out_len : MAX_PFNS * 4ull;
	for (uint64_t off = 0; off + 4 <= end; off += 4) {
		uint32_t pfn;
		vs_iov_to_buf(c->iov, c->n_out, off, &pfn, 4);
		uint8_t *p = vs_gmem_ptr(b->t->mem, (uint64_t)pfn * PAGE, PAGE, NULL);
		if (p && run && p == run + run_len) {
			run_len += PAGE;
			continue;
		}
		if (run)
			madvise(run, run_len, MADV_DONTNEED);
		run = p;
		run_len = p ? PAGE : 0;
	}
	if (run)
		madvise(run, run_len, MADV_DONTNEED);
}

static void read_stats(vs_balloon *b, const vs_vq_chain *c)
{
	uint64_t end = c->out_len < MAX_STATS * STAT_LEN ? c->out_len : MAX_STATS * STAT_LEN;
	for (uint64_t off = 0; off + STAT_LEN <= end; off += STAT_LEN) {
		uint8_t raw[STAT_LEN];
		vs_iov_to_buf(c->iov, c->n_out, off, raw, STAT_LEN);
		uint16_t tag = (uint16_t)(raw[0] | raw[1] << 8);
		uint64_t v = 0;
		for (int i = 9; i >= 2; i--)
			v = v << 8 | raw[i];
		if (tag < VS_BALLOON_N_STATS) { /* unknown tags are ignored (5.5.6.3) */
			b->st.stats[tag] = v;
			b->st.have |= (uint16_t)(1u << tag);
		}
	}
}

static void balloon_notify(vs_vmmio *t, unsigned qi)
{
	vs_balloon *b = t->priv;
	vs_vq *q = &t->vqs[qi];
	vs_err err = {0};
	bool pushed = false;
	int got;
	while ((got = vs_vq_pop(q, &b->chain, &err)) > 0) {
		if (qi == STATS_Q) {
			if (b->st.stats_held) /* a second buffer: give the old one back */
				vs_vq_push(q, b->st.stats_head, 0), pushed = true;
			read_stats(b, &b->chain);
			b->st.stats_held = true;
			b->st.stats_head = b->chain.head;
			continue;
		}
		if (qi == INFLATE_Q)
			release(b, &b->chain);
		vs_vq_push(q, b->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, qi);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

static void balloon_config_write(vs_vmmio *t, unsigned off, const void *data, unsigned size)
{
	vs_balloon *b = t->priv;
	/* Only `actual` is the driver's to write. */
	if (off != offsetof(struct balloon_config, actual) || size != 4)
		return;
	memcpy(&t->config[off], data, 4);
	memcpy(&b->st.actual_pages, data, 4);
}

/* Linux posts its first statistics buffer (and may post PFNs) before it
 * sets DRIVER_OK, when notifications are not taken: look at every queue. */
static void balloon_driver_ok(vs_vmmio *t)
{
	for (unsigned q = 0; q < 3; q++)
		if (t->vqs[q].ready)
			balloon_notify(t, q);
}

static void balloon_reset(vs_vmmio *t)
{
	vs_balloon *b = t->priv;
	b->st.stats_held = false;
	b->st.actual_pages = 0;
	memset(&t->config[offsetof(struct balloon_config, actual)], 0, 4);
}

/* Every interval: hand the stats buffer back so the guest refills it. A
 * kick (new interval) starts the wait again. */
static unsigned stats_prepare(vs_vmmio *t, struct pollfd *p, int *timeout_ms)
{
	vs_balloon *b = t->priv;
	(void)p;
	*timeout_ms = b->st.stats_interval_s ? (int)b->st.stats_interval_s * 1000 : -1;
	return 0;
}

static void stats_run(vs_vmmio *t, const struct pollfd *p, unsigned n, int polled)
{
	vs_balloon *b = t->priv;
	(void)p, (void)n;
	if (polled == 0 && b->st.stats_held && vs_vmmio_running(t) && t->vqs[STATS_Q].ready) {
		b->st.stats_held = false;
		vs_vq_push(&t->vqs[STATS_Q], b->st.stats_head, 0);
		vs_vmmio_used(t, STATS_Q);
	}
}

static const vs_devthread_ops stats_thread_ops = {
	.name = "statistics thread",
	.list = VS_DEVTHREAD_VMM_LIST,
	.prepare = stats_prepare,
	.run = stats_run,
};

static void balloon_destroy(vs_vmmio *t)
{
	vs_balloon *b = t->priv;
	vs_devthread_stop(&b->thread);
	free(b);
}

/* Snapshots: balloon_state in a fixed little-endian layout. Inflated
 * pages need nothing: they are zero, so absent from the memory file. */
typedef struct balloon_snap {
	uint32_t target_pages, actual_pages, stats_interval_s;
	uint8_t deflate_on_oom, stats_vq, stats_held, pad;
	uint16_t stats_head, have;
	uint32_t pad2;
	uint64_t stats[VS_BALLOON_N_STATS];
} balloon_snap;
_Static_assert(sizeof(balloon_snap) <= VS_SNAP_DEV_STATE_MAX, "balloon snapshot state");

static uint64_t ram_bytes(const vs_gmem *m)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < m->n_regions; i++)
		n += m->regions[i].size;
	return n;
}

static size_t balloon_save(vs_vmmio *t, uint8_t *buf, size_t cap)
{
	const balloon_state *st = &((vs_balloon *)t->priv)->st;
	balloon_snap o = {.target_pages = st->target_pages, .actual_pages = st->actual_pages,
			  .stats_interval_s = st->stats_interval_s, .deflate_on_oom = st->deflate_on_oom,
			  .stats_vq = st->stats_vq, .stats_held = st->stats_held, .stats_head = st->stats_head,
			  .have = st->have};
	memcpy(o.stats, st->stats, sizeof(o.stats));
	if (cap < sizeof(o))
		return 0;
	memcpy(buf, &o, sizeof(o));
	return sizeof(o);
}

/* The device was built from the snapshot's configuration: what it cannot
 * change (its features) must agree; the rest is bounded by guest RAM and
 * the restored queues. `actual` is the guest's to write, any value. */
static int balloon_restore(vs_vmmio *t, const uint8_t *buf, size_t len, vs_err *err)
{
	vs_balloon *b = t->priv;
	balloon_snap o;
	if (len != sizeof(o))
		return vs_fail(err, EINVAL, "virtio-balloon: %zu bytes of device state, expected %zu", len, sizeof(o));
	memcpy(&o, buf, sizeof(o));
	const vs_vq *sq = &t->vqs[STATS_Q];
	bool bad = (uint64_t)o.target_pages * PAGE > ram_bytes(t->mem) || o.deflate_on_oom != b->st.deflate_on_oom ||
		   o.stats_vq != b->st.stats_vq || o.stats_held > 1 || (o.stats_held && (!o.stats_vq || !sq->ready)) ||
		   (o.stats_held && o.stats_head >= sq->num) || (o.have & ~((1u << VS_BALLOON_N_STATS) - 1)) ||
		   (o.stats_interval_s && !o.stats_vq) || (!o.stats_interval_s && o.stats_vq);
	if (bad)
		return vs_fail(err, EINVAL, "virtio-balloon: device state out of range or not this device's");
	b->st = (balloon_state){.target_pages = o.target_pages, .actual_pages = o.actual_pages,
				.stats_interval_s = o.stats_interval_s, .deflate_on_oom = o.deflate_on_oom,
				.stats_vq = o.stats_vq, .stats_held = o.stats_held, .stats_head = o.stats_head,
				.have = o.have};
	memcpy(b->st.stats, o.stats, sizeof(o.stats));
	struct balloon_config c = {.num_pages = o.target_pages, .actual = o.actual_pages};
	memcpy(t->config, &c, sizeof(c));
	vs_devthread_kick(&b->thread); /* the statistics thread picks up the period */
	return 0;
}

static const vs_vmmio_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.num_queues = 3,
	.notify = balloon_notify,
	.reset = balloon_reset,
	.driver_ok = balloon_driver_ok,
	.config_write = balloon_config_write,
	.destroy = balloon_destroy,
	.save = balloon_save,
	.restore = balloon_restore,
};

void vs_balloon_set_target(vs_balloon *b, uint32_t pages)
{
	pthread_mutex_lock(&b->t->lock);
	b->st.target_pages = pages;
	memcpy(&b->t->config[offsetof(struct balloon_config, num_pages)], &pages, 4);
	vs_vmmio_config_changed(b->t);
	pthread_mutex_unlock(&b->t->lock);
}

void vs_balloon_set_interval(vs_balloon *b, uint32_t seconds)
{
	pthread_mutex_lock(&b->t->lock);
	b->st.stats_interval_s = seconds;
	pthread_mutex_unlock(&b->t->lock);
	vs_devthread_kick(&b->thread); /* the thread picks up the new period */
}

void vs_balloon_get(vs_balloon *b, vs_balloon_info *out)
{
	pthread_mutex_lock(&b->t->lock);
	*out = (vs_balloon_info){.target_pages = b->st.target_pages, .actual_pages = b->st.actual_pages,
				 .stats_interval_s = b->st.stats_interval_s, .have = b->st.have};
	memcpy(out->stats, b->st.stats, sizeof(out->stats));
	pthread_mutex_unlock(&b->t->lock);
}

vs_balloon *vs_virtio_balloon_add(const vs_virtio_env *env, const vs_balloon_config *cfg, vs_err *err)
{
	vs_balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return vs_fail(err, ENOMEM, "virtio-balloon: allocate device"), NULL;
	b->st = (balloon_state){.target_pages = cfg->target_pages, .stats_interval_s = cfg->stats_interval_s,
				.deflate_on_oom = cfg->deflate_on_oom, .stats_vq = cfg->stats_interval_s > 0};
	vs_vmmio *t = vs_vmmio_new(env, &balloon_ops, b, sizeof(struct balloon_config), err);
	if (!t) {
		free(b);
		return NULL;
	}
	b->t = t;
	t->device_features = (b->st.stats_vq ? 1ULL << F_STATS_VQ : 0) |
			     (cfg->deflate_on_oom ? 1ULL << F_DEFLATE_ON_OOM : 0);
	struct balloon_config c = {.num_pages = cfg->target_pages};
	memcpy(t->config, &c, sizeof(c));
	if ((b->st.stats_vq && vs_devthread_start(&b->thread, t, &stats_thread_ops, env->jail, err) < 0) ||
	    vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_vmmio_free(t);
		return NULL;
	}
	return b;
}
