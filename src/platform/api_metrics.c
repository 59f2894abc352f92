/* GET /1.0/metrics: Prometheus text format, per instance CPU, memory and
 * pids from its cgroup (through `vessel events --stats`, the runtime's
 * reading of the cgroup files), and the lifecycle phases' latency
 * histograms (phases.c). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/db.h"
#include "platform/envelope.h"
#include "platform/instance.h"
#include "platform/phases.h"
#include "platform/runtime.h"

typedef struct buf {
	char *s;
	size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
}

struct json_object *vsd_api_metrics(vsd *d, vsd_req *r)
{
	if (strcmp(r->method, "GET"))
		return vsd_env_error(405, "method not allowed");
	buf b = {0};
	put(&b, "# HELP vessel_instance_running Whether the instance runs (1) or not (0).\n"
		"# TYPE vessel_instance_running gauge\n");
	struct {
		char name[72];
		int code;
	} *list = NULL;
	int n = 0;
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM instances WHERE phase = 'ready' ORDER BY name", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		void *g = realloc(list, sizeof(*list) * (size_t)(n + 1));
		if (!g)
			break;
		list = g;
		snprintf(list[n].name, sizeof(list[n].name), "%s", (const char *)sqlite3_column_text(st, 0));
		int pid;
		vsd_inst_status(d, list[n].name, &list[n].code, &pid);
		put(&b, "vessel_instance_running{name=\"%s\",type=\"container\"} %d\n", list[n].name, list[n].code == 103);
		n++;
	}
	sqlite3_finalize(st);
	static const char *const help[] = {
		"# HELP vessel_cpu_seconds_total CPU time the instance used.\n# TYPE vessel_cpu_seconds_total counter\n",
		"# HELP vessel_memory_usage_bytes Memory the instance uses now.\n# TYPE vessel_memory_usage_bytes gauge\n",
		"# HELP vessel_memory_limit_bytes The instance's memory limit.\n# TYPE vessel_memory_limit_bytes gauge\n",
		"# HELP vessel_pids The instance's processes.\n# TYPE vessel_pids gauge\n",
	};
	static const char *const metric[] = {"vessel_cpu_seconds_total", "vessel_memory_usage_bytes",
					     "vessel_memory_limit_bytes", "vessel_pids"};
	double val[4][n ? n : 1];
	bool have[n ? n : 1];
	for (int i = 0; i < n; i++) {
		have[i] = false;
		if (list[i].code == 102)
			continue;
		const char *args[] = {"events", "--stats", list[i].name, NULL};
		char *out = NULL;
		if (vsd_rt(d, NULL, &out, NULL, args) < 0)
			continue;
		struct json_object *o = out ? json_tokener_parse(out) : NULL, *data = o ? json_object_object_get(o, "data") : NULL;
		free(out);
		if (!data) {
			json_object_put(o);
			continue;
		}
		struct json_object *mem = json_object_object_get(json_object_object_get(data, "memory"), "usage");
		val[0][i] = (double)json_object_get_int64(json_object_object_get(json_object_object_get(json_object_object_get(data, "cpu"), "usage"), "total")) / 1e9;
		val[1][i] = (double)json_object_get_int64(json_object_object_get(mem, "usage"));
		val[2][i] = (double)json_object_get_int64(json_object_object_get(mem, "limit"));
		val[3][i] = (double)json_object_get_int64(json_object_object_get(json_object_object_get(data, "pids"), "current"));
		have[i] = true;
		json_object_put(o);
	}
	for (int m = 0; m < 4; m++) {
		put(&b, "%s", help[m]);
		for (int i = 0; i < n; i++)
			if (have[i])
				put(&b, "%s{name=\"%s\",type=\"container\"} %.17g\n", metric[m], list[i].name, val[m][i]);
	}
	free(list);
	char *phases = vsd_phase_prom();
	put(&b, "%s", phases ? phases : "");
	free(phases);
	r->text = b.s;
	return vsd_env_sync(NULL);
}
