/* One error idiom for all of libvessel: a failing function fills a vs_err
 * (errno-style code + a message naming the object and the operation) and
 * returns -1. Front ends decide how to show it. */
#ifndef VS_ERROR_H
#define VS_ERROR_H

#include <stddef.h>

/* Codes beyond errno for failures that have no errno meaning. */
enum {
	VS_EINVAL_CONFIG = 10000, /* config.json or request does not validate */
	VS_ENOTSUP_HOST,          /* the host lacks a feature the request needs */
};

typedef struct vs_err {
	int code;      /* errno value or a VS_E* code; 0 = no error */
	char msg[512]; /* "mount /proc on /rootfs/proc" — without the strerror */
} vs_err;

/* Fill *err (may be NULL) and return -1. */
int vs_fail(vs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing error with more context: "create container x: <old>". */
int vs_wrap(vs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "msg: strerror(code)" into buf; returns buf. */
const char *vs_err_str(const vs_err *err, char *buf, size_t len);

#endif
