/* Live migration, the destination side (vs_vmm_incoming). The stream is
 * read through migstream.c's one parser into a memfd laid out as a
 * snapshot's memory file; its state file then goes through the snapshot
 * restore (the same checks as --restore) with that memfd mapped shared.
 * Only when the guest runs does the source hear "running". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/migsock.h"
#include "vmm/migstream.h"
#include "vmm/vmm_int.h"

#define IO_MS 60000

typedef struct rx_ctx {
	vs_mig_io io;
	int memfd;
	uint8_t *map;
	uint64_t size;
} rx_ctx;

static uint8_t *mem_fn(void *arg, uint64_t size, vs_err *err)
{
	rx_ctx *c = arg;
	if (vs_vmm_check_memory(size, "the incoming guest's memory", err) < 0)
		return NULL;
	c->memfd = memfd_create("vessel-guest-memory", MFD_CLOEXEC);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)size) < 0) {
		vs_fail(err, errno, "%s: create %llu bytes of guest memory", c->io.what, (unsigned long long)size);
		return NULL;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, c->memfd, 0);
	if (p == MAP_FAILED) {
		vs_fail(err, errno, "%s: map %llu bytes of guest memory", c->io.what, (unsigned long long)size);
		return NULL;
	}
	c->map = p;
	c->size = size;
	return p;
}

static uint64_t us_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000ll + (int64_t)(b->tv_nsec - a->tv_nsec);
	return ns > 0 ? (uint64_t)ns / 1000 : 0;
}

typedef struct in_req {
	vs_mig_rx rx;
	int memfd;
	const char *what;
} in_req;

static int restore_fn(vs_vmm *m, void *arg, vs_err *err)
{
	in_req *q = arg;
	vs_vmm_snap_files f = {.state_fd = -1, .mem_fd = q->memfd, .state_path = q->what, .mem_path = q->what};
	snap_req s = {.f = &f, .resume = true, .state_buf = q->rx.state, .state_len = q->rx.state_len};
	return vs_vmm_restore_locked(m, &s, err);
}

static void reply(vs_mig_io *io, const vs_err *e, uint64_t restore_us)
{
	uint8_t f[VS_MIG_FRAME];
	char msg[VS_MIG_MAX_MSG];
	size_t n = 0;
	if (e) {
		vs_err_str(e, msg, sizeof(msg));
		n = strlen(msg);
	}
	vs_mig_put_frame(f, e ? VS_MIG_ERROR : VS_MIG_RUNNING, (uint32_t)n, e ? 0 : restore_us);
	vs_err ignore;
	io->timeout_ms = 2000; /* best effort: the source may be gone */
	if (vs_mig_send(io, f, sizeof(f), &ignore) == 0 && n)
		vs_mig_send(io, msg, n, &ignore);
}

int vs_vmm_incoming(vs_vmm *m, int fd, const char *what, vs_vmm_mig_stats *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->dest, sizeof(out->dest), "%s", what);
	pthread_mutex_lock(&m->mu);
	int r = 0;
	if (m->state != VS_VMM_NOT_STARTED || m->have_boot || m->spec.n_devs)
		r = vs_fail(err, VS_EINVAL_CONFIG, "incoming migration: the stream describes the machine (nothing may "
			    "be configured or started before)");
	pthread_mutex_unlock(&m->mu);
	if (r < 0)
		return -1;
	char w[VS_MIG_ADDR_MAX + 32];
	snprintf(w, sizeof(w), "migration from %s", what);
	rx_ctx c = {.io = {.fd = fd, .cancel_fd = m->sigfd, .timeout_ms = IO_MS, .what = w}, .memfd = -1};
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vs_fail(err, errno, "%s: make the socket non-blocking", w);
	struct timespec t0, t1, tend;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	in_req q = {.memfd = -1, .what = w};
	r = vs_mig_recv(vs_mig_read, mem_fn, &c, w, &q.rx, err);
	clock_gettime(CLOCK_MONOTONIC, &tend);
	if (c.map)
		munmap(c.map, c.size); /* the restore maps the memfd itself */
	if (r == 0) {
		q.memfd = c.memfd;
		/* The signalfd is the VMM's from now on. */
		c.io.cancel_fd = -1;
		r = vs_vmm_call(m, restore_fn, &q, "incoming migration", err);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->rounds = (uint32_t)(q.rx.rounds ? q.rx.rounds - 1 : 0);
	out->pages = q.rx.pages, out->zero_pages = q.rx.zero_pages, out->bytes = c.io.got;
	out->state_bytes = q.rx.state_len;
	out->total_us = us_between(&t0, &t1);
	out->state = r == 0 ? VS_MIG_COMPLETED : VS_MIG_FAILED;
	reply(&c.io, r == 0 ? NULL : err, us_between(&tend, &t1));
	vs_mig_rx_free(&q.rx);
	if (c.memfd >= 0)
		close(c.memfd);
	return r;
}
