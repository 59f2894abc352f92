#include "platform/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 1024

struct vsd_events {
	uint64_t tail;      /* seq of the next event */
	char *line[RING];   /* line[seq % RING] */
	char type[RING][12];
};

int vsd_events_init(vsd *d, vs_err *err)
{
	d->events = calloc(1, sizeof(*d->events));
	return d->events ? 0 : vs_fail(err, ENOMEM, "event ring");
}

void vsd_events_free(vsd *d)
{
	if (!d->events)
		return;
	for (int i = 0; i < RING; i++)
		free(d->events->line[i]);
	free(d->events);
	d->events = NULL;
}

void vsd_event_emit(vsd *d, const char *type, struct json_object *metadata)
{
	char now[40];
	vsd_now(now);
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "timestamp", json_object_new_string(now));
	json_object_object_add(e, "metadata", metadata);
	json_object_object_add(e, "location", json_object_new_string("none"));
	json_object_object_add(e, "project", json_object_new_string("default"));
	const char *s = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);
	char *line = malloc(n + 2);
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		vsd_events *ev = d->events;
		int slot = (int)(ev->tail % RING);
		free(ev->line[slot]);
		ev->line[slot] = line;
		snprintf(ev->type[slot], sizeof(ev->type[slot]), "%s", type);
		ev->tail++;
	}
	json_object_put(e);
	pthread_cond_broadcast(&d->changed);
}

void vsd_event_lifecycle(vsd *d, const char *action, const char *source)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "action", json_object_new_string(action));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "context", json_object_new_object());
	vsd_event_emit(d, "lifecycle", m);
}

uint64_t vsd_events_tail(vsd *d)
{
	return d->events->tail;
}

static bool wanted(const char *types, const char *type)
{
	if (!types || !*types)
		return true;
	size_t n = strlen(type);
	for (const char *p = types; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && !strncmp(p, type, n))
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

int vsd_events_next(vsd *d, uint64_t *next, const char *types, char **line)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&d->lock);
	int rc = 0;
	for (;;) {
		vsd_events *ev = d->events;
		if (d->stopping) {
			rc = -1;
			break;
		}
		/* A reader that fell a whole ring behind skips to the oldest kept. */
		if (ev->tail > RING && *next < ev->tail - RING)
			*next = ev->tail - RING;
		while (*next < ev->tail && !wanted(types, ev->type[*next % RING]))
			(*next)++;
		if (*next < ev->tail) {
			*line = strdup(ev->line[*next % RING]);
			(*next)++;
			rc = *line ? 1 : 0;
			break;
		}
		if (pthread_cond_timedwait(&d->changed, &d->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}
