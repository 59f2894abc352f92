/* The platform devices on the handle: the socket device (vsock) and the
 * memory balloon, configured before boot; the balloon's target and
 * statistics period change while the VM runs. Same locking as vmm.c:
 * every call under the handle's mutex. */
#include <errno.h>
#include <string.h>

#include "vmm/dev/virtio.h"
#include "vmm/vmm_int.h"

#define MIB_PAGES 256u /* 4 KiB pages per MiB */

static int not_started(vs_vmm *m, const char *what, vs_err *err)
{
	if (m->state == VS_VMM_NOT_STARTED)
		return 0;
	return vs_fail(err, VS_EINVAL_CONFIG, "set %s: not possible after the VM has started", what);
}

int vs_vmm_set_vsock(vs_vmm *m, const vs_vmm_vsock *v, vs_err *err)
{
	/* CIDs 0-2 are the hypervisor, local and host; -1U is "any". */
	if (v->guest_cid < 3 || v->guest_cid == UINT32_MAX)
		return vs_fail(err, VS_EINVAL_CONFIG, "vsock: guest_cid %u: must be 3..%u", v->guest_cid, UINT32_MAX - 1);
	size_t n = strnlen(v->uds_path, sizeof(v->uds_path));
	if (n == 0 || n == sizeof(v->uds_path))
		return vs_fail(err, VS_EINVAL_CONFIG, "vsock: uds_path must be 1..%d bytes", VS_VMM_UDS_MAX - 1);
	if (!memchr(v->id, 0, sizeof(v->id)))
		return vs_fail(err, VS_EINVAL_CONFIG, "vsock: vsock_id longer than %d bytes", VS_VMM_ID_MAX - 1);
	pthread_mutex_lock(&m->mu);
	int r = not_started(m, "the vsock device", err);
	if (r == 0) {
		m->spec.vsock = *v;
		m->spec.vsock.on = true;
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

static int check_amount(const vs_vmm *m, uint32_t mib, vs_err *err)
{
	if ((uint64_t)mib << 20 > m->spec.mem_size)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon: amount_mib %u is more than the guest's %llu MiB", mib,
			       (unsigned long long)(m->spec.mem_size >> 20));
	return 0;
}

int vs_vmm_set_balloon(vs_vmm *m, const vs_vmm_balloon *b, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = not_started(m, "the balloon device", err);
	if (r == 0)
		r = check_amount(m, b->amount_mib, err);
	if (r == 0) {
		m->spec.balloon = *b;
		m->spec.balloon.on = true;
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

static int have_balloon(vs_vmm *m, vs_err *err)
{
	if (!m->spec.balloon.on)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon: no balloon device is configured");
	if (m->state == VS_VMM_STOPPED)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon: the VM has stopped");
	return 0;
}

int vs_vmm_balloon_target(vs_vmm *m, uint32_t amount_mib, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = have_balloon(m, err);
	if (r == 0)
		r = check_amount(m, amount_mib, err);
	if (r == 0) {
		m->spec.balloon.amount_mib = amount_mib;
		if (m->balloon)
			vs_balloon_set_target(m->balloon, amount_mib * MIB_PAGES);
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_balloon_interval(vs_vmm *m, uint32_t seconds, vs_err *err)
{
	pthread_mutex_lock(&m->mu);
	int r = have_balloon(m, err);
	uint32_t cur = m->spec.balloon.stats_interval_s;
	if (r == 0 && m->state == VS_VMM_NOT_STARTED)
		r = vs_fail(err, VS_EINVAL_CONFIG, "balloon statistics: the VM has not started (set stats_polling_interval_s with PUT /balloon)");
	if (r == 0 && cur != seconds && (!cur || !seconds))
		r = vs_fail(err, VS_EINVAL_CONFIG, "balloon statistics: cannot be turned %s after boot",
			    cur ? "off" : "on");
	if (r == 0) {
		m->spec.balloon.stats_interval_s = seconds;
		if (m->balloon)
			vs_balloon_set_interval(m->balloon, seconds);
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

int vs_vmm_balloon_get(vs_vmm *m, vs_vmm_balloon_stats *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	int r = m->spec.balloon.on ? 0 : vs_fail(err, VS_EINVAL_CONFIG, "balloon: no balloon device is configured");
	if (r == 0) {
		out->cfg = m->spec.balloon;
		out->target_pages = m->spec.balloon.amount_mib * MIB_PAGES;
		if (m->balloon) {
			vs_balloon_info i;
			vs_balloon_get(m->balloon, &i);
			out->target_pages = i.target_pages;
			out->actual_pages = i.actual_pages;
			memcpy(out->stats, i.stats, sizeof(out->stats));
			out->have = i.have;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}
