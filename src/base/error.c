#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vs_fail(vs_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

int vs_wrap(vs_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* A message that no longer fits says so rather than ending mid-word unseen. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >= (int)sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	return -1;
}

const char *vs_err_str(const vs_err *err, char *buf, size_t len)
{
	if (err->code == 0 || err->code == VS_EINVAL_CONFIG)
		snprintf(buf, len, "%s", err->msg);
	else if (err->code == VS_ENOTSUP_HOST)
		snprintf(buf, len, "%s: not supported on this host", err->msg);
	else
		snprintf(buf, len, "%s: %s", err->msg, strerror(err->code));
	return buf;
}
