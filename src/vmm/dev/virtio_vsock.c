/* virtio-vsock (virtio 1.2, 5.10) with Firecracker's host side: guest
 * streams are bridged to AF_UNIX streams. The host connects to uds_path and
 * writes "CONNECT <port>\n" to reach guest port <port> (answered "OK
 * <host port>\n" once the guest accepts); a guest connecting to host port P
 * reaches whoever listens on "<uds_path>_<P>".
 *
 * Everything but the queue notification runs on the device's own thread
 * (its own seccomp list, vs_jail_apply_vsock): it accepts and reads host
 * sockets, takes the guest's packets off TX and fills RX. Guest packets
 * pass vs_vsock_check() first. The host never holds more than VSOCK_BUF
 * bytes per connection (the credit we give the guest; a guest that sends
 * beyond it is reset), never more than VSOCK_MAX_CONNS connections, and
 * reads a host socket only as far as the guest's credit allows.
 *
 * Guest-visible state is vsock_state (the CID); connections are host
 * resources, not carried over by a snapshot, as with Firecracker: the
 * restored device sends the guest VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * (5.10.6.7) once it runs, so the guest drops the connections it had. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vmm/dev/devthread.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/vsock_conn.h"

#define VIRTIO_ID_VSOCK 19
#define RX_Q 0
#define TX_Q 1
#define EV_Q 2
#define BATCH 64 /* packets per lock hold, so MMIO is never starved */
#define EVENT_TRANSPORT_RESET 0

struct vsock_config {
	uint64_t guest_cid;
} __attribute__((packed));

typedef struct vsock_dev {
	vs_vmmio *t;
	vs_vsock_host h;       /* connections and host sockets (vsock_conn.c, vsock_rx.c) */
	vs_devthread thread;
	bool reset;            /* under t->lock, as the next two */
	bool reset_event;      /* restored: TRANSPORT_RESET to send */
	bool more;             /* the thread has packets waiting: poll again at once */
	vs_vq_chain chain;
} vsock_dev;
_Static_assert(VS_VSOCK_POLL_MAX <= VS_DEVTHREAD_MAX_FDS, "the vsock thread's descriptors");

/* One guest packet off TX. */
static void tx_one(vsock_dev *v, const vs_vq_chain *c)
{
	uint8_t raw[VS_VSOCK_HDR_LEN];
	if (c->n_in || vs_iov_to_buf(c->iov, c->n_out, 0, raw, sizeof(raw)) != sizeof(raw))
		return; /* no header: nobody to answer */
	vs_vsock_hdr h;
	vs_vsock_hdr_decode(raw, &h);
	const char *why;
	vs_vsock_verdict verdict = vs_vsock_check(&h, c->out_len, v->h.state.guest_cid, &why);
	if (verdict == VS_VSOCK_PKT_RST)
		vs_vsock_host_rst(&v->h, &h);
	if (verdict != VS_VSOCK_PKT_OK)
		return;
	struct iovec data[VS_VQ_MAX_SIZE];
	int n = vs_iov_slice(c->iov, c->n_out, VS_VSOCK_HDR_LEN, h.len, data, VS_VQ_MAX_SIZE);
	if (n < 0 && h.len) { /* the data cannot be named: never pass on what was not read */
		vs_vsock_host_rst(&v->h, &h);
		return;
	}
	vs_vsock_host_packet(&v->h, &h, data, n < 0 ? 0 : (unsigned)n);
}

static void tx_drain(vsock_dev *v)
{
	vs_vmmio *t = v->t;
	vs_vq *q = &t->vqs[TX_Q];
	vs_err err = {0};
	int got = 0;
	bool pushed = false;
	for (unsigned i = 0; i < BATCH && (got = vs_vq_pop(q, &v->chain, &err)) > 0; i++) {
		tx_one(v, &v->chain);
		vs_vq_push(q, v->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, TX_Q);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

/* Packets for the guest into posted RX buffers. Returns whether more are
 * waiting that did not fit this round (buffers there, batch used up). */
static bool rx_fill(vsock_dev *v)
{
	vs_vmmio *t = v->t;
	vs_vq *q = &t->vqs[RX_Q];
	vs_vq_chain *c = &v->chain;
	vs_err err = {0};
	bool pushed = false, more = false;
	for (unsigned i = 0;; i++) {
		if (i == BATCH) {
			more = true;
			break;
		}
		int got = vs_vq_pop(q, c, &err);
		if (got < 0)
			vs_vmmio_broken(t, &err);
		if (got <= 0)
			break;
		/* A buffer the device cannot write a header into goes back empty. */
		if (c->n_out || c->in_len < VS_VSOCK_HDR_LEN) {
			vs_vq_push(q, c->head, 0);
			pushed = true;
			continue;
		}
		uint32_t len = vs_vsock_host_next(&v->h, c->iov, c->n_in);
		if (!len) {
			vs_vq_unpop(q);
			break;
		}
		vs_vq_push(q, c->head, len);
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, RX_Q);
	return more;
}

/* The transport reset event into the guest's first event buffer; without
 * one, it waits for the guest to post one (vsock_notify wakes us). */
static void send_reset_event(vsock_dev *v)
{
	vs_vmmio *t = v->t;
	vs_vq *q = &t->vqs[EV_Q];
	vs_vq_chain *c = &v->chain;
	vs_err err = {0};
	if (!q->ready)
		return;
	/* A buffer too small to hold it goes back empty: try the next. */
	for (unsigned i = 0; v->reset_event && i < BATCH; i++) {
		int got = vs_vq_pop(q, c, &err);
		if (got < 0)
			vs_vmmio_broken(t, &err);
		if (got <= 0)
			return;
		uint8_t ev[4] = {EVENT_TRANSPORT_RESET, 0, 0, 0}; /* struct virtio_vsock_event: le32 id */
		bool fits = !c->n_out && c->in_len >= sizeof(ev);
		if (fits)
			vs_iov_from_buf(c->iov, c->n_in, 0, ev, sizeof(ev));
		vs_vq_push(q, c->head, fits ? sizeof(ev) : 0);
		vs_vmmio_used(t, EV_Q);
		v->reset_event = !fits;
	}
}

/* The thread (its own seccomp list; should that fail it ends and the
 * device stays silent) waits for a kick and on the host sockets. */
static unsigned vsock_prepare(vs_vmmio *t, struct pollfd *p, int *timeout_ms)
{
	vsock_dev *v = t->priv;
	unsigned n = vs_vsock_host_pollfds(&v->h, p);
	*timeout_ms = v->more ? 0 : vs_vsock_host_timeout(&v->h);
	return n;
}

static void vsock_run(vs_vmmio *t, const struct pollfd *p, unsigned n, int polled)
{
	vsock_dev *v = t->priv;
	(void)polled;
	if (v->reset) {
		vs_vsock_host_drop_all(&v->h);
		v->reset = false;
	}
	vs_vsock_host_events(&v->h, p, n);
	vs_vsock_host_expire(&v->h);
	v->more = false;
	if (vs_vmmio_running(t)) {
		if (v->reset_event)
			send_reset_event(v);
		tx_drain(v);
		v->more = rx_fill(v) || vs_vq_has_avail(&t->vqs[TX_Q]);
	}
}

static const vs_devthread_ops vsock_thread_ops = {
	.name = "vsock thread",
	.list = VS_DEVTHREAD_VSOCK_LIST,
	.prepare = vsock_prepare,
	.run = vsock_run,
};

static void vsock_notify(vs_vmmio *t, unsigned q)
{
	/* TX packets and new RX buffers are the thread's; event buffers wait
	 * for an event (only a restore sends one). */
	vsock_dev *v = t->priv;
	if (q != EV_Q || v->reset_event)
		vs_devthread_kick(&v->thread);
}

static void vsock_reset(vs_vmmio *t)
{
	vsock_dev *v = t->priv;
	v->reset = true; /* the thread closes the host sockets it polls */
	v->reset_event = false;
	vs_devthread_kick(&v->thread);
}

static void vsock_driver_ok(vs_vmmio *t)
{
	vs_devthread_kick(&((vsock_dev *)t->priv)->thread);
}

static void vsock_free(vsock_dev *v)
{
	vs_devthread_stop(&v->thread);
	vs_vsock_host_fini(&v->h);
	free(v);
}

static void vsock_destroy(vs_vmmio *t)
{
	vsock_free(t->priv);
}

/* Snapshots hold the CID only (le64); restore checks it is this device's
 * (built from the snapshot's description) and queues the reset event. */
static size_t vsock_save(vs_vmmio *t, uint8_t *buf, size_t cap)
{
	vsock_dev *v = t->priv;
	if (cap < sizeof(v->h.state.guest_cid))
		return 0;
	memcpy(buf, &v->h.state.guest_cid, sizeof(v->h.state.guest_cid));
	return sizeof(v->h.state.guest_cid);
}

static int vsock_restore(vs_vmmio *t, const uint8_t *buf, size_t len, vs_err *err)
{
	vsock_dev *v = t->priv;
	uint64_t cid;
	if (len != sizeof(cid))
		return vs_fail(err, EINVAL, "virtio-vsock: %zu bytes of device state, expected %zu", len, sizeof(cid));
	memcpy(&cid, buf, sizeof(cid));
	if (cid != v->h.state.guest_cid)
		return vs_fail(err, EINVAL, "virtio-vsock: the state is for guest CID %llu, the device has %llu",
			       (unsigned long long)cid, (unsigned long long)v->h.state.guest_cid);
	v->reset_event = true; /* sent once the device runs (the VM resumed) */
	vs_devthread_kick(&v->thread);
	return 0;
}

static const vs_vmmio_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.notify = vsock_notify,
	.reset = vsock_reset,
	.driver_ok = vsock_driver_ok,
	.destroy = vsock_destroy,
	.save = vsock_save,
	.restore = vsock_restore,
};

int vs_virtio_vsock_add(const vs_virtio_env *env, uint64_t guest_cid, const char *uds_path, vs_err *err)
{
	vsock_dev *v = calloc(1, sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "virtio-vsock: allocate device");
	if (vs_vsock_host_init(&v->h, guest_cid, uds_path, err) < 0) {
		vsock_free(v);
		return -1;
	}
	vs_vmmio *t = vs_vmmio_new(env, &vsock_ops, v, sizeof(struct vsock_config), err);
	if (!t) {
		vsock_free(v);
		return -1;
	}
	v->t = t;
	struct vsock_config cfg = {.guest_cid = guest_cid};
	memcpy(t->config, &cfg, sizeof(cfg));
	if (vs_devthread_start(&v->thread, t, &vsock_thread_ops, env->jail, err) < 0 ||
	    vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_vmmio_free(t);
		return -1;
	}
	return 0;
}
