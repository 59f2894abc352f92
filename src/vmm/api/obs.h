/* The API's own state for what Firecracker calls observability and
 * metadata: the logger (PUT /logger), the metrics (PUT /metrics, the
 * FlushMetrics action, and a flush every 60 s), and the MMDS data store
 * (PUT|PATCH|GET /mmds, PUT /mmds/config; mmds.c). The engine gives
 * counters and messages; this formats them. Files are opened by the API
 * thread (its jail allows opening for this, src/vmm/jail.c). */
#ifndef VS_VMM_API_OBS_H
#define VS_VMM_API_OBS_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "base/log.h"
#include "vmm/api/http.h"
#include "vmm/api/fc.h"
#include "vmm/vmm.h"

#define VS_FC_METRICS_PERIOD_MS 60000
#define VS_FC_MMDS_MAX VS_HTTP_MAX_BODY /* Firecracker's data store limit */

/* Firecracker's levels; a line is written when its level <= the logger's. */
typedef enum { VS_FC_LOG_OFF, VS_FC_LOG_ERROR, VS_FC_LOG_WARN, VS_FC_LOG_INFO, VS_FC_LOG_DEBUG, VS_FC_LOG_TRACE } vs_fc_level;

enum { VS_FC_RES_N = 16 };

struct vs_fc_obs {
	char id[VS_VMM_ID_MAX];
	pthread_mutex_t mu; /* the logger may be used by any thread (engine messages) */
	int log_fd;
	vs_fc_level level;
	bool show_level, show_origin;
	char module[128];
	uint64_t missed_logs;
	/* Metrics: API thread only. */
	int metrics_fd;
	uint64_t next_flush_ns;
	uint64_t missed_metrics, flushes;
	vs_vmm_metrics prev;                  /* what the last flush reported: lines carry deltas */
	uint64_t req[3][VS_FC_RES_N][2];      /* [method][resource][count, fails] */
	uint64_t prev_req[3][VS_FC_RES_N][2];
	/* MMDS: API thread only. */
	struct json_object *mmds;
	struct json_object *mmds_config;
};

vs_fc_obs *vs_fc_obs_new(const char *instance_id);
/* Flushes the metrics a last time (if m), stops taking engine messages. */
void vs_fc_obs_free(vs_fc_obs *o, vs_vmm *m);

int vs_fc_logger(vs_fc_obs *o, struct json_object *body, vs_err *err);
int vs_fc_metrics(vs_fc_obs *o, struct json_object *body, vs_err *err);
/* One JSON line of counters since the last flush. */
int vs_fc_flush_metrics(vs_fc_obs *o, vs_vmm *m, vs_err *err);
/* For the API thread's poll: ms until the periodic flush (-1: none), and the flush when due. */
int vs_fc_obs_timeout_ms(vs_fc_obs *o);
void vs_fc_obs_tick(vs_fc_obs *o, vs_vmm *m);
void vs_fc_count_request(vs_fc_obs *o, vs_http_method method, const char *path, bool failed);
void vs_fc_log(vs_fc_obs *o, vs_fc_level lvl, const char *module, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define VS_FC_LOG(o, lvl, ...) vs_fc_log((o), (lvl), "api_server", __FILE__, __LINE__, __VA_ARGS__)

/* mmds.c */
int vs_fc_mmds_put(vs_fc_obs *o, struct json_object *body, bool patch, vs_err *err);
struct json_object *vs_fc_mmds_get(vs_fc_obs *o);
int vs_fc_mmds_config(vs_fc_obs *o, vs_vmm *m, struct json_object *body, vs_err *err);

#endif
