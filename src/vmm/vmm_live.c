/* A running machine's live side: Firecracker's PATCHes of drives and
 * network interfaces (a new backing file, new rate limiters) and the
 * counters the metrics are made of. The lifecycle is vmm.c. */
#include <stdio.h>
#include <string.h>

#include "vmm/dev/virtio.h"
#include "vmm/vmm_int.h"

int vs_vmm_check_rl(const char *what, const char *id, const vs_rl_cfg *c, vs_err *err)
{
	const vs_tbucket_cfg *b[2] = {&c->bw, &c->ops};
	for (int i = 0; i < 2; i++)
		if (b[i]->size > VS_RL_MAX_TOKENS || b[i]->one_time_burst > VS_RL_MAX_TOKENS ||
		    b[i]->refill_ms > VS_RL_MAX_REFILL_MS)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s %s: rate limiter %s bucket: size and one_time_burst "
				       "at most %llu, refill_time at most %llu ms", what, id, i ? "ops" : "bandwidth",
				       VS_RL_MAX_TOKENS, VS_RL_MAX_REFILL_MS);
	return 0;
}

int vs_vmm_update_device(vs_vmm *m, vs_vmm_dev_kind kind, const char *id, const char *path,
			 const vs_rl_update *rl, const vs_rl_update *tx_rl, vs_err *err)
{
	const char *what = kind == VS_VMM_DEV_BLOCK ? "drive" : "network interface";
	pthread_mutex_lock(&m->mu);
	int r = 0;
	unsigned i = 0;
	if (m->state != VS_VMM_RUNNING && m->state != VS_VMM_PAUSED)
		r = vs_fail(err, VS_EINVAL_CONFIG, "update %s %s: only possible while the VM runs (it is %s)", what, id,
			    m->state == VS_VMM_NOT_STARTED ? "not started" : "stopped");
	for (; r == 0 && i < m->spec.n_devs; i++)
		if (m->spec.devs[i].kind == kind && !strcmp(m->spec.devs[i].id, id))
			break;
	if (r == 0 && (i == m->spec.n_devs || !m->devh[i]))
		r = vs_fail(err, VS_EINVAL_CONFIG, "update %s %s: no such device", what, id);
	vs_vmm_device *d = r == 0 ? &m->spec.devs[i] : NULL;
	vs_rl_cfg nrl = d ? d->rl : (vs_rl_cfg){0}, ntx = d ? d->tx_rl : (vs_rl_cfg){0};
	if (rl)
		vs_rl_cfg_apply(&nrl, rl);
	if (tx_rl)
		vs_rl_cfg_apply(&ntx, tx_rl);
	if (r == 0 && (vs_vmm_check_rl(what, id, &nrl, err) < 0 || vs_vmm_check_rl(what, id, &ntx, err) < 0))
		r = -1;
	if (r == 0 && path && (!*path || strlen(path) >= sizeof(d->path)))
		r = vs_fail(err, VS_EINVAL_CONFIG, "update %s %s: path_on_host must be 1..%zu bytes", what, id,
			    sizeof(d->path) - 1);
	if (r == 0 && kind == VS_VMM_DEV_BLOCK)
		r = vs_virtio_blk_update(m->devh[i], rl, path, err);
	else if (r == 0)
		r = vs_virtio_net_update(m->devh[i], rl, tx_rl, err);
	if (r == 0) {
		d->rl = nrl;
		d->tx_rl = ntx;
		if (path)
			memcpy(d->path, path, strlen(path) + 1);
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

void vs_vmm_metrics_of(vs_vmm *m, vs_vmm_metrics *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	out->n_devs = m->spec.n_devs;
	for (unsigned i = 0; i < m->spec.n_devs; i++) {
		out->devs[i].kind = m->spec.devs[i].kind;
		memcpy(out->devs[i].id, m->spec.devs[i].id, sizeof(out->devs[i].id));
		if (m->built && m->devh[i])
			vs_virtio_stats_of(m->devh[i], &out->devs[i].st);
	}
	for (unsigned i = 0; m->built && i < m->made; i++) {
		const vs_vcpu *v = &m->vcpus[i];
		out->exit_io_in += atomic_load_explicit(&v->n_io_in, memory_order_relaxed);
		out->exit_io_out += atomic_load_explicit(&v->n_io_out, memory_order_relaxed);
		out->exit_mmio_read += atomic_load_explicit(&v->n_mmio_read, memory_order_relaxed);
		out->exit_mmio_write += atomic_load_explicit(&v->n_mmio_write, memory_order_relaxed);
	}
	pthread_mutex_unlock(&m->mu);
}

