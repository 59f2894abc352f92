/* Runtime log: runc's --log / --log-format / --debug. JSON lines carry
 * "level", "msg" and "time" as containerd's shim expects. */
#ifndef VS_LOG_H
#define VS_LOG_H

#include <stdbool.h>

typedef enum { VS_LOG_DEBUG, VS_LOG_INFO, VS_LOG_WARN, VS_LOG_ERROR } vs_log_level;

/* path NULL = stderr. json selects the JSON line format. */
int vs_log_open(const char *path, bool json, bool debug);
void vs_log(vs_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Also hand every message (before the debug filter) to fn, e.g. the VMM
 * API's logger; NULL removes it. fn may run on any thread. */
typedef void (*vs_log_hook_fn)(void *opaque, vs_log_level lvl, const char *msg);
void vs_log_set_hook(vs_log_hook_fn fn, void *opaque);
/* The fd logs go to (for passing to hooks or children); -1 if none. */
int vs_log_fd(void);
/* In a process about to enter a container: close a log file (a host fd);
 * later messages are dropped. Logging to stderr stays as it is. */
void vs_log_drop_file(void);

#define vs_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)
#define vs_info(...) vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_warn(...) vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_error(...) vs_log(VS_LOG_ERROR, __VA_ARGS__)

#endif
