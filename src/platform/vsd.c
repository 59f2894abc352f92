/* Small shared pieces of vsd.h. */
#include "platform/vsd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/fs.h"
#include "platform/db.h"

int vsd_path(const vsd *d, char *buf, size_t len, vs_err *err, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return vs_fail(err, ENAMETOOLONG, "path under %s", d->root);
	return vs_path_fmt(buf, len, err, "%s/%s", d->root, rel);
}

void vsd_now(char out[40])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

void vsd_uuid(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int vsd_busy_take(vsd *d, const char *name)
{
	for (int i = 0; i < d->nbusy; i++)
		if (!strcmp(d->busy[i], name))
			return -1;
	char **n = realloc(d->busy, sizeof(char *) * (size_t)(d->nbusy + 2));
	if (!n)
		return -1;
	d->busy = n;
	d->busy[d->nbusy++] = strdup(name);
	d->busy[d->nbusy] = NULL;
	return 0;
}

void vsd_busy_drop(vsd *d, const char *name)
{
	for (int i = 0; i < d->nbusy; i++) {
		if (strcmp(d->busy[i], name))
			continue;
		free(d->busy[i]);
		d->busy[i] = d->busy[--d->nbusy];
		d->busy[d->nbusy] = NULL;
		return;
	}
}

int vsd_audit_record(vsd *d, const vsd_audit_entry *e, vs_err *err)
{
	if (vsd_audit_append(d->audit_path, &d->audit, e, err) < 0)
		return -1;
	/* Seq and hash in one row: a crash never leaves a head that pairs the
	 * new seq with the old hash. */
	char head[96];
	snprintf(head, sizeof(head), "%llu %s", (unsigned long long)d->audit.seq, d->audit.hash);
	const char *a[] = {head};
	return vsd_db_do(d->db, "save audit head", err,
			 "INSERT INTO meta VALUES ('audit_head', ?1) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
			 1, a);
}
