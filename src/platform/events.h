/* /1.0/events: every lifecycle and operation event in one ordered ring
 * (sequence numbers), read by any number of streams. Incus's event shape:
 * {type, timestamp, metadata, location, project}. */
#ifndef VSD_EVENTS_H
#define VSD_EVENTS_H

#include <json-c/json.h>
#include <stdint.h>

#include "platform/vsd.h"

int vsd_events_init(vsd *d, vs_err *err);
void vsd_events_free(vsd *d);
/* Emit (lock held; takes metadata). type: "lifecycle" | "operation". */
void vsd_event_emit(vsd *d, const char *type, struct json_object *metadata);
/* A lifecycle event: {action, source, context: {}}. */
void vsd_event_lifecycle(vsd *d, const char *action, const char *source);
/* The sequence number the next event will get (lock held). */
uint64_t vsd_events_tail(vsd *d);
/* Wait (lock NOT held) up to one second for the event *next of a type in
 * types (comma list; NULL or "" = all). 1: *line (malloc'd, ends in '\n')
 * and *next advanced; 0: nothing yet; -1: the daemon is stopping. */
int vsd_events_next(vsd *d, uint64_t *next, const char *types, char **line);

#endif
