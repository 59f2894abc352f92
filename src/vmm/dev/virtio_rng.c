/* virtio entropy device (virtio 1.2, 5.4): fills guest-writable buffers
 * from getrandom(). Requests are handled on the notifying vCPU thread. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_RNG 4
/* Per request; the device may return fewer bytes than the buffer holds. */
#define RNG_MAX_PER_REQUEST (64 * 1024)

typedef struct rng_dev {
	vs_vq_chain chain; /* scratch, used under the transport lock */
} rng_dev;

static uint32_t fill_random(const vs_vq_chain *c)
{
	size_t done = 0;
	for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < RNG_MAX_PER_REQUEST; i++) {
		size_t want = c->iov[i].iov_len;
		if (want > RNG_MAX_PER_REQUEST - done)
			want = RNG_MAX_PER_REQUEST - done;
		size_t got = 0;
		while (got < want) {
			ssize_t n = getrandom((char *)c->iov[i].iov_base + got, want - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return (uint32_t)(done + got);
			got += (size_t)n;
		}
		done += got;
	}
	return (uint32_t)done;
}

static void rng_notify(vs_vmmio *t, unsigned qi)
{
	rng_dev *r = t->priv;
	vs_vq *q = &t->vqs[qi];
	vs_err err = {0};
	int got;
	bool pushed = false;
	while ((got = vs_vq_pop(q, &r->chain, &err)) > 0) {
		/* Only device-writable buffers make sense here; answer others with 0 bytes. */
		uint32_t len = r->chain.n_out ? 0 : fill_random(&r->chain);
		vs_vq_push(q, r->chain.head, len);
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, qi);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

static void rng_destroy(vs_vmmio *t)
{
	free(t->priv);
}

static const vs_vmmio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int vs_virtio_rng_add(const vs_virtio_env *env, vs_err *err)
{
	rng_dev *r = calloc(1, sizeof(*r));
	if (!r)
		return vs_fail(err, ENOMEM, "virtio-rng: allocate device");
	vs_vmmio *t = vs_vmmio_new(env, &rng_ops, r, 0, err);
	if (!t) {
		free(r);
		return -1;
	}
	if (vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_vmmio_free(t);
		return -1;
	}
	return 0;
}
