#include "platform/health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vsd_health_defaults(vsd_health *h)
{
	memset(h, 0, sizeof(*h));
	h->interval_ms = 30000;
	h->timeout_ms = 30000;
	h->retries = 3;
	snprintf(h->path, sizeof(h->path), "/");
}

int vsd_parse_duration_ms(const char *s, long *ms, vs_err *err)
{
	if (!s || *s < '0' || *s > '9')
		return vs_fail(err, VS_EINVAL_CONFIG, "duration \"%.32s\": expected a number with ms, s, m or h", s ? s : "");
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double mult = !strcmp(end, "ms") ? 1 : !strcmp(end, "s") || !*end ? 1000 : !strcmp(end, "m") ? 60000
		    : !strcmp(end, "h") ? 3600000 : -1;
	if (errno || mult < 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "duration \"%.32s\": expected a number with ms, s, m or h", s);
	double r = v * mult;
	if (r < 1 || r > 86400000.0)
		return vs_fail(err, VS_EINVAL_CONFIG, "duration \"%.32s\": must be 1ms to 24h", s);
	*ms = (long)r;
	return 0;
}

static int parse_port(const char *s, unsigned *port, const char **rest)
{
	char *end;
	errno = 0;
	unsigned long p = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || errno || p < 1 || p > 65535)
		return -1;
	*port = (unsigned)p;
	*rest = end;
	return 0;
}

int vsd_health_parse_check(const char *s, vsd_health *h, vs_err *err)
{
	const char *rest = NULL;
	if (!strncmp(s, "exec:", 5)) {
		char buf[sizeof(h->line)], *argv[VSD_HEALTH_ARGS + 1];
		if (strlen(s + 5) >= sizeof(h->line))
			return vs_fail(err, VS_EINVAL_CONFIG, "health check: the command is longer than %zu bytes",
				       sizeof(h->line) - 1);
		h->kind = VSD_HEALTH_EXEC;
		snprintf(h->line, sizeof(h->line), "%s", s + 5);
		int n = vsd_health_argv(h, buf, sizeof(buf), argv);
		if (n <= 0)
			return vs_fail(err, VS_EINVAL_CONFIG, "health check \"%.40s\": exec: needs a command of 1 to %d words",
				       s, VSD_HEALTH_ARGS);
		return 0;
	}
	bool http = !strncmp(s, "http:", 5);
	if (!http && strncmp(s, "tcp:", 4))
		return vs_fail(err, VS_EINVAL_CONFIG, "health check \"%.40s\": expected exec:CMD, tcp:PORT or http:PORT[/PATH]", s);
	if (parse_port(s + (http ? 5 : 4), &h->port, &rest) < 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "health check \"%.40s\": the port must be 1 to 65535", s);
	h->kind = http ? VSD_HEALTH_HTTP : VSD_HEALTH_TCP;
	if (!http && *rest)
		return vs_fail(err, VS_EINVAL_CONFIG, "health check \"%.40s\": tcp: takes only a port", s);
	if (http && *rest) {
		if (*rest != '/' || strlen(rest) >= sizeof(h->path) || strpbrk(rest, " \r\n\t"))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "health check \"%.40s\": the path must start with / and hold no spaces (at most %zu bytes)",
				       s, sizeof(h->path) - 1);
		snprintf(h->path, sizeof(h->path), "%s", rest);
	}
	return 0;
}

int vsd_health_argv(const vsd_health *h, char *buf, size_t len, char **argv)
{
	snprintf(buf, len, "%s", h->line);
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == VSD_HEALTH_ARGS)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}

const char *vsd_health_status_name(vsd_health_status s)
{
	return s == VSD_HEALTH_HEALTHY ? "healthy" : s == VSD_HEALTH_UNHEALTHY ? "unhealthy" : "starting";
}

bool vsd_health_step(vsd_health_state *s, const vsd_health *h, bool ok, long since_start_ms)
{
	if (ok) {
		s->fails = 0;
		s->status = VSD_HEALTH_HEALTHY;
		return false;
	}
	if (since_start_ms < h->start_period_ms && s->status == VSD_HEALTH_STARTING)
		return false;
	s->fails++;
	if (s->fails < h->retries || s->status == VSD_HEALTH_UNHEALTHY)
		return false;
	s->status = VSD_HEALTH_UNHEALTHY;
	return true;
}
