/* Live migration, the source side (vs_vmm_migrate; the stream format is
 * migstream.h, the destination migrate_recv.c). The work runs on the
 * migration thread, started and jailed (its own list) with the vCPUs:
 * pre-copy rounds read KVM's dirty log and send pages while the guest
 * runs; the pause and the device/vCPU state are handed to the VMM (owner)
 * thread, as a snapshot is. Until the destination says "running", any
 * failure resumes the guest as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/jail.h"
#include "vmm/migsock.h"
#include "vmm/migstream.h"
#include "vmm/vmm_int.h"

#define PAGE 4096ull
#define CONNECT_MS 10000
#define IO_MS 30000     /* no progress on the socket for this long: give up */
#define REPLY_MS 120000 /* the destination builds and resumes the machine */

struct vs_mig {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ready, quit, req, done;
	int jail_rc;
	vs_err jail_err;
	vs_vmm_mig_params p;
	vs_mig_addr addr;
	vs_vmm_mig_stats st; /* the current or last migration */
	int rc;
	vs_err err;
	uint64_t *bits[VS_GMEM_MAX_REGIONS]; /* pages still to send, per region */
	bool was_tracking;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static size_t words_of(const vs_gmem_region *r)
{
	return (r->size / PAGE + 63) / 64;
}

/* OR the pages dirtied since the last call (KVM's log: the guest's
 * writes; the VMM's own: device writes) into g->bits; their count. */
static int take_dirty(vs_vmm *m, struct vs_mig *g, uint64_t *count, vs_err *err)
{
	*count = 0;
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++) {
		const vs_gmem_region *r = &m->vm.mem.regions[i];
		size_t words = words_of(r);
		uint64_t *log = calloc(words, sizeof(uint64_t));
		if (!log)
			return vs_fail(err, ENOMEM, "migrate: allocate the dirty bitmap");
		if (vs_vm_dirty_log(&m->vm, i, log, err) < 0) {
			free(log);
			return -1;
		}
		for (size_t w = 0; w < words; w++) {
			g->bits[i][w] |= log[w] | atomic_exchange(&r->dirty[w], 0);
			*count += (uint64_t)__builtin_popcountll(g->bits[i][w]);
		}
		free(log);
	}
	return 0;
}

static bool zero_page(const uint8_t *p)
{
	static const uint8_t zero[PAGE];
	return !memcmp(p, zero, PAGE);
}

static int send_frame(vs_mig_io *io, uint32_t type, uint32_t n, uint64_t a, vs_err *err)
{
	uint8_t f[VS_MIG_FRAME];
	vs_mig_put_frame(f, type, n, a);
	return vs_mig_send(io, f, sizeof(f), err);
}

/* The pages of region i that are set in g->bits (all = every page, zero
 * ones skipped: the destination's memory starts zeroed), cleared as sent:
 * runs of up to VS_MIG_MAX_RUN pages, zero pages as ZERO frames. */
static int send_region(vs_vmm *m, struct vs_mig *g, unsigned i, bool all, vs_mig_io *io, vs_err *err)
{
	const vs_gmem_region *r = &m->vm.mem.regions[i];
	uint64_t pages = r->size / PAGE, p = 0;
	uint64_t *bits = g->bits[i];
	while (p < pages) {
		if (!all && !bits[p / 64]) {
			p = (p / 64 + 1) * 64;
			continue;
		}
		if (!all && !((bits[p / 64] >> (p % 64)) & 1)) {
			p++;
			continue;
		}
		if (atomic_load(&m->vm.stop) != VS_STOP_NONE)
			return vs_fail(err, ECANCELED, "%s: the VM stopped", io->what);
		bool zero = zero_page(r->host + p * PAGE);
		uint64_t start = p;
		while (p < pages && (all || ((bits[p / 64] >> (p % 64)) & 1)) && (zero || p - start < VS_MIG_MAX_RUN) &&
		       p - start < (1u << 30) && zero_page(r->host + p * PAGE) == zero) {
			bits[p / 64] &= ~(1ull << (p % 64));
			p++;
		}
		uint32_t n = (uint32_t)(p - start);
		if (zero && all) {
			g->st.zero_pages += n;
			continue;
		}
		if (send_frame(io, zero ? VS_MIG_ZERO : VS_MIG_PAGES, n, r->gpa + start * PAGE, err) < 0 ||
		    (!zero && vs_mig_send(io, r->host + start * PAGE, n * PAGE, err) < 0))
			return -1;
		if (zero)
			g->st.zero_pages += n;
		else
			g->st.pages += n;
	}
	return 0;
}

static int send_pages(vs_vmm *m, struct vs_mig *g, bool all, vs_mig_io *io, vs_err *err)
{
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++)
		if (send_region(m, g, i, all, io, err) < 0)
			return -1;
	g->st.bytes = io->sent;
	return 0;
}

/* ---- on the owner thread, mu held ---- */

static int pause_fn(vs_vmm *m, void *arg, vs_err *err)
{
	(void)arg;
	if (m->state != VS_VMM_RUNNING)
		return vs_fail(err, VS_EINVAL_CONFIG, "migrate: the VM is no longer running");
	vs_vmm_pause_locked(m);
	return 0;
}

static int resume_fn(vs_vmm *m, void *arg, vs_err *err)
{
	(void)arg, (void)err;
	vs_vmm_resume_locked(m);
	/* The dirty log was read: a diff snapshot needs a new full base. */
	m->snap_base = false;
	return 0;
}

typedef struct final_req {
	bool was_tracking;
	uint8_t *buf;
	size_t len;
} final_req;

/* Pause, then the state as a snapshot has it: the machine is described
 * as the user made it (tracking only if it was on before). */
static int final_fn(vs_vmm *m, void *arg, vs_err *err)
{
	final_req *q = arg;
	if (pause_fn(m, NULL, err) < 0)
		return -1;
	vs_snapw w;
	vs_snapw_init(&w);
	bool t = m->vm.track_dirty;
	m->vm.track_dirty = q->was_tracking;
	int r = vs_vmm_save_state(m, &w, err);
	m->vm.track_dirty = t;
	if (r < 0) {
		vs_snapw_free(&w);
		return -1;
	}
	return vs_snapw_finish(&w, &q->buf, &q->len, err);
}

/* ---- the migration thread ---- */

static int precopy(vs_vmm *m, struct vs_mig *g, vs_mig_io *io, vs_err *err)
{
	uint8_t h[VS_MIG_HEADER];
	uint64_t n;
	vs_mig_put_header(h, m->spec.mem_size);
	/* Round 0: the log is cleared first, so round 1 sends what changed since. */
	uint64_t t = now_us(), sent = io->sent;
	if (take_dirty(m, g, &n, err) < 0 || vs_mig_send(io, h, sizeof(h), err) < 0 || send_pages(m, g, true, io, err) < 0 ||
	    send_frame(io, VS_MIG_ROUND, 0, 0, err) < 0)
		return -1;
	uint32_t max_rounds = g->p.max_rounds ? g->p.max_rounds : 30, since_min = 0;
	double budget_us = (double)g->st.max_downtime_ms * 1000, best = -1;
	for (uint32_t round = 1;; round++) {
		/* Bytes per microsecond of the last round (at least 1 byte). */
		uint64_t dt = now_us() - t, bytes = io->sent - sent;
		double bw = (double)(bytes ? bytes : 1) / (double)(dt ? dt : 1);
		if (take_dirty(m, g, &n, err) < 0)
			return -1;
		g->st.last_dirty_pages = n;
		/* The pages' share of the downtime: aim at a tenth of the budget
		 * (shorter rounds leave a smaller set dirty); settle for half of
		 * it once the set stops shrinking; the rest is the state, the
		 * destination's restore and its answer. */
		double est = (double)(n * PAGE) / bw;
		since_min = best < 0 || est < best ? 0 : since_min + 1;
		best = since_min ? best : est;
		if (est <= budget_us / 10 || (est <= budget_us / 2 && since_min >= 3) || round > max_rounds)
			return 0;
		t = now_us(), sent = io->sent;
		if (send_pages(m, g, false, io, err) < 0 || send_frame(io, VS_MIG_ROUND, 0, round, err) < 0)
			return -1;
		g->st.rounds = round;
	}
}

static int stop_and_copy(vs_vmm *m, struct vs_mig *g, vs_mig_io *io, vs_err *err)
{
	final_req q = {.was_tracking = g->was_tracking};
	uint64_t t = now_us(), n;
	if (vs_vmm_call(m, final_fn, &q, "migrate", err) < 0)
		return -1;
	g->st.state_bytes = q.len;
	int r = take_dirty(m, g, &n, err);
	if (r == 0) {
		g->st.last_dirty_pages = n;
		r = send_pages(m, g, false, io, err);
	}
	if (r == 0 && (r = send_frame(io, VS_MIG_STATE, 0, q.len, err)) == 0)
		r = vs_mig_send(io, q.buf, q.len, err);
	free(q.buf);
	if (r == 0)
		r = send_frame(io, VS_MIG_END, 0, 0, err);
	g->st.bytes = io->sent;
	g->st.downtime_source_us = now_us() - t;
	io->timeout_ms = REPLY_MS;
	if (r == 0)
		r = vs_mig_read_reply(vs_mig_read, io, io->what, &g->st.dest_restore_us, err);
	g->st.downtime_us = now_us() - t;
	return r;
}

static int run(vs_vmm *m, struct vs_mig *g, vs_err *err)
{
	char what[VS_MIG_ADDR_MAX + 16];
	snprintf(what, sizeof(what), "migrate to %s", g->addr.text);
	uint64_t t0 = now_us();
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++)
		if (!(g->bits[i] = calloc(words_of(&m->vm.mem.regions[i]), sizeof(uint64_t))))
			return vs_fail(err, ENOMEM, "%s: allocate the dirty bitmap", what);
	int fd = vs_mig_connect(&g->addr, CONNECT_MS, err);
	if (fd < 0)
		return -1;
	vs_mig_io io = {.fd = fd, .cancel_fd = -1, .cancel = &m->vm.stop, .timeout_ms = IO_MS, .what = what};
	g->was_tracking = m->vm.track_dirty;
	bool turned_on = false;
	int r = 0;
	if (!g->was_tracking) {
		/* Logging switched on with the guest and its devices still. */
		r = vs_vmm_call(m, pause_fn, NULL, "migrate", err);
		if (r == 0) {
			r = vs_vm_track_dirty(&m->vm, err);
			turned_on = r == 0;
			vs_err e2;
			vs_vmm_call(m, resume_fn, NULL, "migrate", &e2);
		}
	}
	if (r == 0)
		r = precopy(m, g, &io, err);
	if (r == 0)
		r = stop_and_copy(m, g, &io, err);
	close(fd);
	g->st.total_us = now_us() - t0;
	if (r == 0) {
		char why[VS_MIG_ADDR_MAX + 16];
		snprintf(why, sizeof(why), "migrated to %s", g->addr.text);
		vs_vmm_stop(m, 0, why);
		return 0;
	}
	/* Whatever happened, the guest goes on here, as it was. */
	vs_err e2;
	if (turned_on)
		vs_vm_untrack_dirty(&m->vm, &e2);
	if (atomic_load(&m->vm.stop) == VS_STOP_NONE)
		vs_vmm_call(m, resume_fn, NULL, "migrate", &e2);
	return -1;
}

static void *mig_main(void *arg)
{
	vs_vmm *m = arg;
	struct vs_mig *g = m->mig;
	vs_err jerr = {0};
	int jr = m->jail_on ? vs_jail_apply_migrate(&jerr) : 0;
	pthread_mutex_lock(&g->mu);
	g->jail_rc = jr, g->jail_err = jerr, g->ready = true;
	pthread_cond_broadcast(&g->cv);
	while (jr == 0) {
		while (!g->quit && !g->req)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->quit)
			break;
		g->req = false;
		pthread_mutex_unlock(&g->mu);
		vs_err e = {0};
		int r = run(m, g, &e);
		pthread_mutex_lock(&g->mu);
		for (unsigned i = 0; i < VS_GMEM_MAX_REGIONS; i++)
			free(g->bits[i]), g->bits[i] = NULL;
		g->rc = r, g->err = e, g->done = true;
		g->st.state = r == 0 ? VS_MIG_COMPLETED : VS_MIG_FAILED;
		if (r < 0)
			vs_err_str(&e, g->st.error, sizeof(g->st.error));
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int vs_mig_thread_start(vs_vmm *m, vs_err *err)
{
	struct vs_mig *g = calloc(1, sizeof(*g));
	if (!g)
		return vs_fail(err, ENOMEM, "allocate the migration thread's state");
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	m->mig = g;
	int e = pthread_create(&g->thread, NULL, mig_main, m);
	if (e)
		return vs_fail(err, e, "start the migration thread");
	g->started = true;
	pthread_mutex_lock(&g->mu);
	while (!g->ready)
		pthread_cond_wait(&g->cv, &g->mu);
	int r = g->jail_rc;
	if (r < 0 && err)
		*err = g->jail_err;
	pthread_mutex_unlock(&g->mu);
	return r < 0 ? vs_wrap(err, "migration thread") : 0;
}

void vs_mig_thread_stop(vs_vmm *m)
{
	struct vs_mig *g = m->mig;
	if (!g)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->mu);
		g->quit = true;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thread, NULL);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
	m->mig = NULL;
}

int vs_vmm_migrate(vs_vmm *m, const vs_vmm_mig_params *p, vs_vmm_mig_stats *out, vs_err *err)
{
	vs_mig_addr a;
	memset(out, 0, sizeof(*out));
	if (!memchr(p->dest, 0, sizeof(p->dest)) || vs_mig_addr_parse(p->dest, &a, err) < 0)
		return -1;
	if (p->max_downtime_ms > 60000 || p->max_rounds > 1000)
		return vs_fail(err, VS_EINVAL_CONFIG, "migrate: max_downtime_ms at most 60000, max_rounds at most 1000");
	pthread_mutex_lock(&m->mu);
	struct vs_mig *g = m->mig;
	int r = 0;
	if (m->state != VS_VMM_RUNNING || !g)
		r = vs_fail(err, VS_EINVAL_CONFIG, "migrate: the VM must be running (it is %s)",
			    m->state == VS_VMM_PAUSED ? "paused" : m->state == VS_VMM_NOT_STARTED ? "not started" : "stopped");
	pthread_mutex_unlock(&m->mu);
	if (r < 0)
		return -1;
	pthread_mutex_lock(&g->mu);
	if (g->st.state == VS_MIG_ACTIVE) {
		pthread_mutex_unlock(&g->mu);
		return vs_fail(err, EBUSY, "migrate: a migration to %s is in progress", g->st.dest);
	}
	g->p = *p;
	g->addr = a;
	memset(&g->st, 0, sizeof(g->st));
	g->st.state = VS_MIG_ACTIVE;
	g->st.max_downtime_ms = p->max_downtime_ms ? p->max_downtime_ms : 300;
	snprintf(g->st.dest, sizeof(g->st.dest), "%s", a.text);
	g->req = true, g->done = false;
	pthread_cond_broadcast(&g->cv);
	while (!g->done)
		pthread_cond_wait(&g->cv, &g->mu);
	r = g->rc;
	if (r < 0 && err)
		*err = g->err;
	*out = g->st;
	pthread_mutex_unlock(&g->mu);
	return r;
}

void vs_vmm_migrate_status(vs_vmm *m, vs_vmm_mig_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	struct vs_mig *g = m->mig;
	if (g) {
		pthread_mutex_lock(&g->mu);
		*out = g->st;
		pthread_mutex_unlock(&g->mu);
	}
	pthread_mutex_unlock(&m->mu);
}
