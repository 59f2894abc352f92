/* Helper processes vesseld runs for networks (dnsmasq), watched by the
 * supervisor and respawned with the restart backoff. */
#include "platform/sup_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

void sup_svc_watch(vsd_sup *s, const pending *p)
{
	service *v = NULL;
	for (int i = 0; i < s->nsvc && !v; i++)
		if (!strcmp(s->svc[i].key, p->name))
			v = &s->svc[i];
	if (!v) {
		service *g = realloc(s->svc, sizeof(*g) * (size_t)(s->nsvc + 1));
		if (!g)
			return;
		s->svc = g;
		v = &s->svc[s->nsvc++];
		memset(v, 0, sizeof(*v));
		snprintf(v->key, sizeof(v->key), "%s", p->name);
		v->pidfd = -1;
	}
	sup_close_watched(s, &v->pidfd);
	v->respawn = p->respawn;
	v->respawn_at = 0;
	v->started_ms = sup_now_ms();
	if ((v->pidfd = sup_pidfd_open(p->svc_pid)) >= 0)
		sup_watch(s, v->pidfd);
}

void sup_svc_died(vsd_sup *s, service *v)
{
	int code = sup_reap(v->pidfd);
	sup_close_watched(s, &v->pidfd);
	long long now = sup_now_ms();
	if (now - v->started_ms >= VSD_BACKOFF_RESET_MS)
		v->consecutive = 0;
	long delay = vsd_restart_backoff_ms(v->consecutive++);
	v->respawn_at = now + delay;
	vs_warn("supervisor: %s exited (%d): respawning in %ld ms", v->key, code, delay);
}

long long sup_svc_timers(vsd_sup *s, long long now, long long next)
{
	for (int i = 0; i < s->nsvc; i++) {
		service *v = &s->svc[i];
		if (v->respawn_at && v->respawn_at <= now) {
			v->respawn_at = 0;
			v->respawn(s->d, v->key);
		}
		if (v->respawn_at && (next < 0 || v->respawn_at < next))
			next = v->respawn_at;
	}
	return next;
}

void vsd_sup_service(vsd *d, const char *key, pid_t pid, vsd_sup_respawn_fn respawn)
{
	if (!d->sup || pid <= 0)
		return;
	pending it = {.svc_pid = pid, .respawn = respawn};
	snprintf(it.name, sizeof(it.name), "%s", key);
	sup_push_item(d->sup, &it);
}
