/* virtio network device (virtio 1.2, 5.1) on a TAP interface. The tap
 * speaks virtio_net_hdr_v1 itself (IFF_VNET_HDR, 12-byte header), so frames
 * move between the tap and guest buffers with one readv/writev and no
 * copy. TX runs on the notifying vCPU thread; RX has its own thread that
 * polls the tap while the guest has posted buffers and otherwise sleeps
 * until the guest notifies the RX queue. Rate limiters (rx and tx, each
 * bytes + frames): a TX frame the buckets cannot pay for stays on the ring
 * and the queue is held; RX is charged after each frame (its size is known
 * only then) and stops while the bucket is in debt. The RX thread's timer
 * takes held queues up again; a vCPU never waits. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/dev/devthread.h"
#include "vmm/dev/devtimer.h"
#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_HDR_LEN 12		  /* virtio_net_hdr_v1, the only header with VERSION_1 */
#define NET_HDR_NUM_BUFFERS_OFF 10
#define RX_Q 0
#define TX_Q 1
#define RX_BATCH 64 /* frames per lock hold, so MMIO is never starved */

struct net_config {
	uint8_t mac[6];
	uint16_t status;
} __attribute__((packed));

typedef struct net_dev {
	vs_vmmio *t;
	int tap; /* non-blocking */
	vs_devthread rx_thread;
	/* Under t->lock from here on. */
	bool wait_tap; /* the RX thread waits for tap frames too */
	vs_ratelimit rx_rl, tx_rl;
	bool rx_held, tx_held; /* a limiter holds the queue until the timer fires */
	vs_devtimer timer;
	vs_dev_stats st;
	vs_vq_chain rx_chain, tx_chain;
	struct iovec rx_iov[VS_VQ_MAX_SIZE + 1];
	uint8_t spill[65536 + NET_HDR_LEN]; /* largest tap frame */
} net_dev;

/* Move frames from the tap into posted RX buffers. Lock held. Returns
 * whether the thread should wait for tap frames (true) or for a kick. */
static bool rx_fill(net_dev *n)
{
	vs_vmmio *t = n->t;
	vs_vq *q = &t->vqs[RX_Q];
	vs_vq_chain *c = &n->rx_chain;
	vs_err err = {0};
	bool pushed = false, wait_tap = false;
	if (!vs_vmmio_running(t) || !q->ready || n->rx_held)
		return false;
	unsigned i;
	for (i = 0; i < RX_BATCH; i++) {
		if (vs_rl_active(&n->rx_rl)) {
			uint64_t now = vs_devtimer_now(), wait = vs_rl_wait_ns(&n->rx_rl, 1, 1, now);
			if (wait) {
				/* In debt from the frames before: frames wait in the tap. */
				n->st.rx_throttled++;
				n->rx_held = true;
				vs_devtimer_arm(&n->timer, vs_rl_wake_ns(&n->rx_rl, 1, 1, now));
				break;
			}
		}
		int got = vs_vq_pop(q, c, &err);
		if (got < 0)
			vs_vmmio_broken(t, &err);
		if (got <= 0)
			break;
		/* Without MRG_RXBUF one chain takes one whole frame (5.1.6.3). */
		if (c->n_out || c->in_len < NET_HDR_LEN) {
			vs_vq_push(q, c->head, 0);
			pushed = true;
			continue;
		}
		/* The tap silently truncates to the buffer; a spill-over segment
		 * shows a frame that did not fit, which is then dropped. */
		memcpy(n->rx_iov, c->iov + c->n_out, c->n_in * sizeof(struct iovec));
		n->rx_iov[c->n_in] = (struct iovec){.iov_base = n->spill, .iov_len = sizeof(n->spill)};
		ssize_t r = readv(n->tap, n->rx_iov, (int)c->n_in + 1);
		if (r < NET_HDR_LEN || (uint64_t)r > c->in_len) {
			/* No frame waiting (EAGAIN), tap trouble or a dropped frame:
			 * keep the buffer for the next one. */
			vs_vq_unpop(q);
			if (r < NET_HDR_LEN) {
				wait_tap = true;
				break;
			}
			continue;
		}
		/* The tap leaves num_buffers alone; the spec wants 1 (5.1.6.4). */
		uint16_t one = 1;
		vs_iov_from_buf(c->iov + c->n_out, c->n_in, NET_HDR_NUM_BUFFERS_OFF, &one, sizeof(one));
		vs_vq_push(q, c->head, (uint32_t)r);
		pushed = true;
		n->st.rx_bytes += (uint64_t)r - NET_HDR_LEN;
		n->st.rx_packets++;
		if (vs_rl_active(&n->rx_rl)) /* the frame is in: pay for it, in debt if need be */
			vs_rl_charge(&n->rx_rl, (uint64_t)r - NET_HDR_LEN, 1, vs_devtimer_now());
	}
	if (i == RX_BATCH)
		wait_tap = true; /* batch used up; more may be waiting, poll again */
	if (pushed)
		vs_vmmio_used(t, RX_Q);
	return wait_tap;
}

static void tx_flush(net_dev *n);

/* The RX thread waits for a kick, for the limiter's timer and, while
 * the guest has buffers posted, for tap frames. If its jail fails, the
 * guest gets no frames. */
static unsigned rx_prepare(vs_vmmio *t, struct pollfd *p, int *timeout_ms)
{
	net_dev *n = t->priv;
	(void)timeout_ms;
	p[0] = (struct pollfd){.fd = n->wait_tap ? n->tap : -1, .events = POLLIN};
	p[1] = (struct pollfd){.fd = n->timer.fd, .events = POLLIN};
	return 2;
}

static void rx_run(vs_vmmio *t, const struct pollfd *p, unsigned np, int polled)
{
	net_dev *n = t->priv;
	(void)np, (void)polled;
	if ((p[1].revents & POLLIN) && vs_devtimer_fired(&n->timer)) {
		bool tx = n->tx_held;
		n->rx_held = n->tx_held = false;
		if (tx)
			tx_flush(n);
	}
	n->wait_tap = rx_fill(n);
}

static const vs_devthread_ops rx_thread_ops = {
	.name = "RX thread",
	.list = VS_DEVTHREAD_VMM_LIST,
	.prepare = rx_prepare,
	.run = rx_run,
};

static void tx_flush(net_dev *n)
{
	vs_vmmio *t = n->t;
	vs_vq *q = &t->vqs[TX_Q];
	vs_vq_chain *c = &n->tx_chain;
	vs_err err = {0};
	int got = 0;
	bool pushed = false;
	if (!vs_vmmio_running(t) || !q->ready)
		return;
	while (!n->tx_held && (got = vs_vq_pop(q, c, &err)) > 0) {
		/* Header + frame, all device-readable; anything else is dropped.
		 * A failed write (tap down, queue full) drops the frame, like a wire. */
		if (!c->n_in && c->out_len > NET_HDR_LEN) {
			uint64_t len = c->out_len - NET_HDR_LEN, now = vs_devtimer_now();
			if (vs_rl_active(&n->tx_rl) && !vs_rl_consume(&n->tx_rl, len, 1, now)) {
				vs_vq_unpop(q);
				n->tx_held = true;
				n->st.tx_throttled++;
				vs_devtimer_arm(&n->timer, vs_rl_wake_ns(&n->tx_rl, len, 1, now));
				break;
			}
			ssize_t r = writev(n->tap, c->iov, (int)c->n_out);
			if (r < 0) {
				n->st.tx_dropped++;
			} else {
				n->st.tx_bytes += len;
				n->st.tx_packets++;
			}
		}
		vs_vq_push(q, c->head, 0);
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, TX_Q);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

static void net_notify(vs_vmmio *t, unsigned q)
{
	net_dev *n = t->priv;
	if (q == TX_Q)
		tx_flush(n); /* returns at once while held: the timer takes it up */
	else
		vs_devthread_kick(&n->rx_thread); /* new RX buffers: let the RX thread look again */
}

static void net_wake(vs_vmmio *t)
{
	net_dev *n = t->priv;
	n->rx_held = n->tx_held = false;
	vs_devthread_kick(&n->rx_thread);
	tx_flush(n); /* a guest with a full TX ring does not notify again */
}

static void net_stats(vs_vmmio *t, vs_dev_stats *out)
{
	*out = ((net_dev *)t->priv)->st;
}

int vs_virtio_net_update(vs_virtio_dev *t, const vs_rl_update *rx, const vs_rl_update *tx, vs_err *err)
{
	if (t->ops->notify != net_notify)
		return vs_fail(err, EINVAL, "%s: not a network device", t->ops->name);
	net_dev *n = t->priv;
	pthread_mutex_lock(&t->lock);
	uint64_t now = vs_devtimer_now();
	if (rx)
		vs_rl_update_apply(&n->rx_rl, rx, now);
	if (tx)
		vs_rl_update_apply(&n->tx_rl, tx, now);
	if (n->rx_held || n->tx_held) /* take the queues up now under the new limits */
		vs_devtimer_arm(&n->timer, 1);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void net_free(net_dev *n)
{
	vs_devthread_stop(&n->rx_thread);
	vs_devtimer_close(&n->timer);
	if (n->tap >= 0)
		close(n->tap);
	free(n);
}

static void net_destroy(vs_vmmio *t)
{
	net_free(t->priv);
}

static const vs_vmmio_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.notify = net_notify,
	.reset = net_wake,
	.driver_ok = net_wake,
	.destroy = net_destroy,
	.stats = net_stats,
};

static int open_tap(net_dev *n, const char *name, vs_err *err)
{
	struct ifreq ifr = {0};
	if (strlen(name) >= sizeof(ifr.ifr_name))
		return vs_fail(err, EINVAL, "virtio-net: tap name %s too long", name);
	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0)
		return vs_fail(err, errno, "virtio-net: open /dev/net/tun");
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap, TUNSETIFF, &ifr) < 0)
		return vs_fail(err, errno, "virtio-net: attach to tap %s", name);
	int hdr = NET_HDR_LEN;
	if (ioctl(n->tap, TUNSETVNETHDRSZ, &hdr) < 0)
		return vs_fail(err, errno, "virtio-net: tap %s: set vnet header size", name);
	/* We offer no offloads, so the tap must hand us plain, complete frames. */
	if (ioctl(n->tap, TUNSETOFFLOAD, 0UL) < 0)
		return vs_fail(err, errno, "virtio-net: tap %s: disable offloads", name);
	return 0;
}

int vs_virtio_net_add(const vs_virtio_env *env, const char *tap_name, const uint8_t mac[6], const vs_rl_cfg *rx,
		      const vs_rl_cfg *tx, vs_virtio_dev **out, vs_err *err)
{
	net_dev *n = calloc(1, sizeof(*n));
	if (!n)
		return vs_fail(err, ENOMEM, "virtio-net: allocate device");
	n->tap = n->timer.fd = -1;
	vs_rl_cfg none = {0};
	uint64_t now = vs_devtimer_now();
	vs_rl_init(&n->rx_rl, rx ? rx : &none, now);
	vs_rl_init(&n->tx_rl, tx ? tx : &none, now);
	if (open_tap(n, tap_name, err) < 0 || vs_devtimer_init(&n->timer, err) < 0) {
		net_free(n);
		return -1;
	}
	vs_vmmio *t = vs_vmmio_new(env, &net_ops, n, sizeof(struct net_config), err);
	if (!t) {
		net_free(n);
		return -1;
	}
	n->t = t;
	t->device_features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS;
	struct net_config cfg = {.status = VIRTIO_NET_S_LINK_UP};
	memcpy(cfg.mac, mac, 6);
	memcpy(t->config, &cfg, sizeof(cfg));
	/* Attach last: once on the bus a vCPU may reach the device. */
	if (vs_devthread_start(&n->rx_thread, t, &rx_thread_ops, env->jail, err) < 0 ||
	    vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_wrap(err, "virtio-net %s", tap_name);
		vs_vmmio_free(t);
		return -1;
	}
	if (out)
		*out = t;
	return 0;
}
