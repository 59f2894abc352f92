/* Firecracker's logger and metrics over the engine (obs.h). Log lines are
 * Firecracker's: "<time> [<id>:<thread>[:<LEVEL>][:<file>:<line>]] <msg>".
 * Metrics are one JSON object per line, each counter the change since
 * the previous line (Firecracker's counters reset on every flush). Both
 * files are opened non-blocking: a FIFO nobody reads drops lines (counted
 * in "logger": missed_log_count / missed_metrics_count), never the VMM. */
#include "vmm/api/obs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api/fc_body.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void engine_message(void *opaque, vs_log_level lvl, const char *msg)
{
	static const vs_fc_level map[] = {VS_FC_LOG_DEBUG, VS_FC_LOG_INFO, VS_FC_LOG_WARN, VS_FC_LOG_ERROR};
	vs_fc_log(opaque, map[lvl], "vmm", NULL, 0, "%s", msg);
}

vs_fc_obs *vs_fc_obs_new(const char *instance_id)
{
	vs_fc_obs *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	snprintf(o->id, sizeof(o->id), "%s", instance_id);
	pthread_mutex_init(&o->mu, NULL);
	o->log_fd = o->metrics_fd = -1;
	o->level = VS_FC_LOG_INFO;
	return o;
}

void vs_fc_obs_free(vs_fc_obs *o, vs_vmm *m)
{
	if (!o)
		return;
	vs_log_set_hook(NULL, NULL);
	if (m && o->metrics_fd >= 0)
		vs_fc_flush_metrics(o, m, NULL);
	if (o->log_fd >= 0)
		close(o->log_fd);
	if (o->metrics_fd >= 0)
		close(o->metrics_fd);
	json_object_put(o->mmds);
	json_object_put(o->mmds_config);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

/* A file or a FIFO for appending lines. A FIFO without a reader yet
 * refuses O_WRONLY|O_NONBLOCK (ENXIO); O_RDWR opens it at once. */
static int open_sink(const char *what, const char *path, int *out, vs_err *err)
{
	int fl = O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	int fd = open(path, O_WRONLY | O_CREAT | fl, 0600);
	if (fd < 0 && errno == ENXIO)
		fd = open(path, O_RDWR | fl);
	if (fd < 0)
		return vs_fail(err, errno, "%s: open %s", what, path);
	*out = fd;
	return 0;
}

static const char *const level_names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};

int vs_fc_logger(vs_fc_obs *o, struct json_object *body, vs_err *err)
{
	static const char *const known[] = {"log_path", "level", "show_level", "show_log_origin", "module", NULL};
	const char *w = "logger", *path = NULL, *level = NULL, *module = NULL;
	bool show_level = false, show_origin = false;
	if (vs_fc_only_keys(body, w, known, err) < 0 || vs_fc_get_str(body, w, "log_path", false, &path, err) < 0 ||
	    vs_fc_get_str(body, w, "level", false, &level, err) < 0 ||
	    vs_fc_get_bool(body, w, "show_level", false, &show_level, err) < 0 ||
	    vs_fc_get_bool(body, w, "show_log_origin", false, &show_origin, err) < 0 ||
	    vs_fc_get_str(body, w, "module", false, &module, err) < 0)
		return -1;
	vs_fc_level lvl = VS_FC_LOG_INFO;
	if (level) {
		unsigned i = 0;
		while (i < 6 && strcasecmp(level, level_names[i]))
			i++;
		if (i == 6)
			return vs_fail(err, VS_EINVAL_CONFIG, "logger: level \"%.32s\" is not one of Error, Warning, "
				       "Info, Debug, Trace, Off", level);
		lvl = (vs_fc_level)i;
	}
	if (module && strlen(module) >= sizeof(o->module))
		return vs_fail(err, VS_EINVAL_CONFIG, "logger: module longer than %zu bytes", sizeof(o->module) - 1);
	int fd = -1;
	if (path && open_sink("logger", path, &fd, err) < 0)
		return -1;
	pthread_mutex_lock(&o->mu);
	if (fd >= 0) {
		if (o->log_fd >= 0)
			close(o->log_fd);
		o->log_fd = fd;
	}
	o->level = lvl;
	o->show_level = show_level;
	o->show_origin = show_origin;
	snprintf(o->module, sizeof(o->module), "%s", module ? module : "");
	pthread_mutex_unlock(&o->mu);
	vs_log_set_hook(engine_message, o);
	return 0;
}

void vs_fc_log(vs_fc_obs *o, vs_fc_level lvl, const char *module, const char *file, int line, const char *fmt, ...)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	if (o->log_fd < 0 || lvl > o->level || lvl == VS_FC_LOG_OFF ||
	    (o->module[0] && strncmp(module, o->module, strlen(o->module)))) {
		pthread_mutex_unlock(&o->mu);
		return;
	}
	char buf[2048];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	static const char *const upper[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%09ld [%s:%s", now.tv_nsec, o->id,
			      strcmp(module, "vmm") ? "fc_api" : "fc_vmm");
	if (o->show_level && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s", upper[lvl]);
	if (o->show_origin && file && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s:%d", file, line);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "] ");
	va_list ap;
	va_start(ap, fmt);
	if (n < sizeof(buf))
		n += (size_t)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	/* One line, whatever the message holds. */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (write(o->log_fd, buf, n) != (ssize_t)n)
		o->missed_logs++;
	pthread_mutex_unlock(&o->mu);
}

int vs_fc_metrics(vs_fc_obs *o, struct json_object *body, vs_err *err)
{
	static const char *const known[] = {"metrics_path", NULL};
	const char *path;
	if (vs_fc_only_keys(body, "metrics", known, err) < 0 ||
	    vs_fc_get_str(body, "metrics", "metrics_path", true, &path, err) < 0)
		return -1;
	if (o->metrics_fd >= 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "metrics: already initialized");
	if (open_sink("metrics", path, &o->metrics_fd, err) < 0)
		return -1;
	o->next_flush_ns = mono_ns() + VS_FC_METRICS_PERIOD_MS * 1000000ull;
	return 0;
}

/* Firecracker's resource names in its *_api_requests counters. */
static const char *const res_names[VS_FC_RES_N] = {
	"instance_info", "vmm_version", "machine_cfg", "actions", "boot_source", "drive", "network",
	"logger", "metrics", "mmds", "vm", "vm_config", "vsock", "other",
};

static unsigned resource(const char *p)
{
	static const char *const prefix[] = {"/", "/version", "/machine-config", "/actions", "/boot-source",
					     "/drives/", "/network-interfaces/", "/logger", "/metrics", "/mmds",
					     "/vm", "/vm/config", "/vsock"};
	for (unsigned i = 1; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		size_t n = strlen(prefix[i]);
		if (!strncmp(p, prefix[i], n) && (prefix[i][n - 1] == '/' || !p[n] || (i == 9 && p[n] == '/')))
			return i;
	}
	return strcmp(p, "/") ? 13 : 0;
}

void vs_fc_count_request(vs_fc_obs *o, vs_http_method method, const char *path, bool failed)
{
	if (!o || (unsigned)method > 2)
		return;
	uint64_t *c = o->req[method][resource(path)];
	c[0]++;
	if (failed)
		c[1]++;
}

static void add(struct json_object *o, const char *k, uint64_t now, uint64_t before)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)(now - before)));
}

static struct json_object *requests_json(vs_fc_obs *o, unsigned method)
{
	struct json_object *j = json_object_new_object();
	char k[64];
	for (unsigned r = 0; r < 14; r++) {
		snprintf(k, sizeof(k), "%s_count", res_names[r]);
		add(j, k, o->req[method][r][0], o->prev_req[method][r][0]);
		snprintf(k, sizeof(k), "%s_fails", res_names[r]);
		add(j, k, o->req[method][r][1], o->prev_req[method][r][1]);
	}
	return j;
}

#define F(k) add(j, #k, d->k, p->k)
static struct json_object *block_json(const vs_dev_stats *d, const vs_dev_stats *p)
{
	struct json_object *j = json_object_new_object();
	F(read_bytes), F(write_bytes), F(read_count), F(write_count), F(flush_count);
	add(j, "execute_fails", d->io_errors, p->io_errors);
	add(j, "rate_limiter_throttled_events", d->throttled, p->throttled);
	add(j, "update_count", d->config_changes, p->config_changes);
	return j;
}

static struct json_object *net_json(const vs_dev_stats *d, const vs_dev_stats *p)
{
	struct json_object *j = json_object_new_object();
	add(j, "rx_bytes_count", d->rx_bytes, p->rx_bytes);
	add(j, "rx_packets_count", d->rx_packets, p->rx_packets);
	add(j, "tx_bytes_count", d->tx_bytes, p->tx_bytes);
	add(j, "tx_packets_count", d->tx_packets, p->tx_packets);
	add(j, "tx_fails", d->tx_dropped, p->tx_dropped);
	add(j, "rx_rate_limiter_throttled", d->rx_throttled, p->rx_throttled);
	add(j, "tx_rate_limiter_throttled", d->tx_throttled, p->tx_throttled);
	return j;
}
#undef F

static void sum(vs_dev_stats *a, const vs_dev_stats *b)
{
	uint64_t *x = (uint64_t *)a;
	const uint64_t *y = (const uint64_t *)b;
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		x[i] += y[i];
}

int vs_fc_flush_metrics(vs_fc_obs *o, vs_vmm *m, vs_err *err)
{
	if (o->metrics_fd < 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "actions: FlushMetrics: the metrics system is not initialized "
			       "(PUT /metrics first)");
	vs_vmm_metrics *now = malloc(sizeof(*now));
	if (!now)
		return vs_fail(err, ENOMEM, "flush metrics");
	vs_vmm_metrics_of(m, now);
	struct json_object *j = json_object_new_object();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(j, "utc_timestamp_ms", json_object_new_int64((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_object_add(j, "get_api_requests", requests_json(o, VS_HTTP_GET));
	json_object_object_add(j, "put_api_requests", requests_json(o, VS_HTTP_PUT));
	json_object_object_add(j, "patch_api_requests", requests_json(o, VS_HTTP_PATCH));
	vs_dev_stats blk = {0}, blk_prev = {0}, net = {0}, net_prev = {0};
	for (unsigned i = 0; i < now->n_devs; i++) {
		const vs_dev_stats *d = &now->devs[i].st, zero = {0};
		/* The same device as last time, or one new since (a PUT before boot). */
		const vs_dev_stats *p = i < o->prev.n_devs && !strcmp(o->prev.devs[i].id, now->devs[i].id) &&
						o->prev.devs[i].kind == now->devs[i].kind
					    ? &o->prev.devs[i].st : &zero;
		bool b = now->devs[i].kind == VS_VMM_DEV_BLOCK;
		char k[VS_VMM_ID_MAX + 8];
		snprintf(k, sizeof(k), "%s_%s", b ? "block" : "net", now->devs[i].id);
		json_object_object_add(j, k, b ? block_json(d, p) : net_json(d, p));
		sum(b ? &blk : &net, d);
		sum(b ? &blk_prev : &net_prev, p);
	}
	json_object_object_add(j, "block", block_json(&blk, &blk_prev));
	json_object_object_add(j, "net", net_json(&net, &net_prev));
	struct json_object *v = json_object_new_object();
	add(v, "exit_io_in", now->exit_io_in, o->prev.exit_io_in);
	add(v, "exit_io_out", now->exit_io_out, o->prev.exit_io_out);
	add(v, "exit_mmio_read", now->exit_mmio_read, o->prev.exit_mmio_read);
	add(v, "exit_mmio_write", now->exit_mmio_write, o->prev.exit_mmio_write);
	json_object_object_add(j, "vcpu", v);
	struct json_object *lg = json_object_new_object();
	pthread_mutex_lock(&o->mu);
	json_object_object_add(lg, "missed_log_count", json_object_new_int64((int64_t)o->missed_logs));
	pthread_mutex_unlock(&o->mu);
	json_object_object_add(lg, "missed_metrics_count", json_object_new_int64((int64_t)o->missed_metrics));
	json_object_object_add(lg, "metrics_fails", json_object_new_int64(0));
	json_object_object_add(j, "logger", lg);
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	char *line = malloc(n + 1);
	int r = 0;
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		if (write(o->metrics_fd, line, n + 1) != (ssize_t)(n + 1))
			o->missed_metrics++;
		free(line);
	} else {
		r = vs_fail(err, ENOMEM, "flush metrics");
	}
	json_object_put(j);
	o->prev = *now;
	memcpy(o->prev_req, o->req, sizeof(o->req));
	o->flushes++;
	o->next_flush_ns = mono_ns() + VS_FC_METRICS_PERIOD_MS * 1000000ull;
	free(now);
	return r;
}

int vs_fc_obs_timeout_ms(vs_fc_obs *o)
{
	if (!o || o->metrics_fd < 0)
		return -1;
	uint64_t now = mono_ns();
	return now >= o->next_flush_ns ? 0 : (int)((o->next_flush_ns - now) / 1000000 + 1);
}

void vs_fc_obs_tick(vs_fc_obs *o, vs_vmm *m)
{
	if (o && o->metrics_fd >= 0 && mono_ns() >= o->next_flush_ns)
		vs_fc_flush_metrics(o, m, NULL);
}
