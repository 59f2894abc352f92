#include "base/log.h"

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static bool log_json;
static bool log_debug;
static vs_log_hook_fn _Atomic log_hook;
static void *_Atomic log_hook_opaque;
static atomic_int log_hook_users; /* hook calls in flight */

void vs_log_set_hook(vs_log_hook_fn fn, void *opaque)
{
	log_hook = NULL;
	/* Whoever still runs the old hook is done with its opaque before we
	 * return (the caller may free it). */
	while (atomic_load(&log_hook_users))
		sched_yield();
	log_hook_opaque = opaque;
	log_hook = fn;
}

int vs_log_open(const char *path, bool json, bool debug)
{
	log_json = json;
	log_debug = debug;
	if (path && *path) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		log_fd = fd;
	}
	return 0;
}

int vs_log_fd(void) { return log_fd; }

void vs_log_drop_file(void)
{
	if (log_fd > 2)
		close(log_fd);
	if (log_fd != 2)
		log_fd = -1;
}

static const char *level_name(vs_log_level lvl)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	return names[lvl];
}

/* JSON-escape src into dst (always NUL-terminated). */
static void json_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 7 < len; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(dst + o, len - o, "\\u%04x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = 0;
}

void vs_log(vs_log_level lvl, const char *fmt, ...)
{
	atomic_fetch_add(&log_hook_users, 1);
	vs_log_hook_fn hook = log_hook;
	void *opaque = log_hook_opaque;
	if (!hook)
		atomic_fetch_sub(&log_hook_users, 1);
	if (lvl == VS_LOG_DEBUG && !log_debug && !hook)
		return;
	char msg[1024], line[2560];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (hook) {
		hook(opaque, lvl, msg);
		atomic_fetch_sub(&log_hook_users, 1);
	}
	if (lvl == VS_LOG_DEBUG && !log_debug)
		return;

	char ts[40];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", now.tv_nsec);

	int len;
	if (log_json) {
		char esc[2048];
		json_escape(esc, sizeof(esc), msg);
		len = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			       level_name(lvl), esc, ts);
	} else if (log_fd == 2) {
		len = snprintf(line, sizeof(line), "vessel: %s%s\n",
			       lvl == VS_LOG_WARN ? "warning: " : "", msg);
	} else {
		len = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", ts, level_name(lvl), msg);
	}
	if (len > (int)sizeof(line))
		len = sizeof(line);
	if (log_fd >= 0 && write(log_fd, line, (size_t)len) < 0) {
		/* nowhere left to report a failing log */
	}
}
