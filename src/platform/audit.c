#include "platform/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* Lines longer than this are refused on reading: no entry we write comes near. */
#define LINE_MAX_LEN 16384

void vsd_audit_head_init(vsd_audit_head *h)
{
	h->seq = 0;
	memset(h->hash, '0', 64);
	h->hash[64] = '\0';
}

int vsd_audit_append(const char *path, vsd_audit_head *head, const vsd_audit_entry *e, vs_err *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[48];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	size_t wl = strlen(when);
	snprintf(when + wl, sizeof(when) - wl, ".%06ldZ", ts.tv_nsec / 1000);

	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)head->seq + 1));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	json_object_object_add(o, "method", json_object_new_string(e->method));
	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "summary", json_object_new_string(e->summary ? e->summary : ""));
	json_object_object_add(o, "result", json_object_new_string(e->result ? e->result : ""));
	json_object_object_add(o, "prev", json_object_new_string(head->hash));
	size_t len;
	const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	char *line = malloc(len + 1);
	if (!line) {
		json_object_put(o);
		return vs_fail(err, ENOMEM, "audit entry");
	}
	memcpy(line, text, len);
	line[len] = '\n';
	char hash[VSD_SHA256_HEX];
	vsd_sha256_hex(line, len, hash);
	json_object_put(o);

	int rc = -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		vs_fail(err, errno, "open audit log %s", path);
	} else if (write(fd, line, len + 1) != (ssize_t)(len + 1)) {
		vs_fail(err, errno ? errno : EIO, "append to audit log %s", path);
	} else if (fdatasync(fd) < 0) {
		vs_fail(err, errno, "fdatasync audit log %s", path);
	} else {
		head->seq++;
		memcpy(head->hash, hash, VSD_SHA256_HEX);
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

/* Walk the chain; out gets the head it ends at. */
static int walk(const char *path, vsd_audit_head *out, vs_err *err)
{
	vsd_audit_head_init(out);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : vs_fail(err, errno, "open audit log %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		uint64_t want = out->seq + 1;
		if (line[n - 1] != '\n' || n > LINE_MAX_LEN) {
			rc = vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: entry %llu: truncated or oversized line",
				     path, (unsigned long long)want);
			break;
		}
		struct json_object *o = json_tokener_parse(line);
		struct json_object *seq = o ? json_object_object_get(o, "seq") : NULL;
		const char *prev = o ? json_object_get_string(json_object_object_get(o, "prev")) : NULL;
		if (!o || !seq || !prev) {
			json_object_put(o);
			rc = vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: entry %llu: not an audit entry", path,
				     (unsigned long long)want);
			break;
		}
		uint64_t got = (uint64_t)json_object_get_int64(seq);
		bool prev_ok = !strcmp(prev, out->hash);
		json_object_put(o);
		if (got != want) {
			rc = vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: entry %llu found where %llu belongs: an entry was removed or reordered",
				     path, (unsigned long long)got, (unsigned long long)want);
			break;
		}
		if (!prev_ok) {
			rc = vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: entry %llu: prev does not match the hash of entry %llu: an entry was edited",
				     path, (unsigned long long)want, (unsigned long long)out->seq);
			break;
		}
		vsd_sha256_hex(line, (size_t)n - 1, out->hash);
		out->seq = want;
	}
	free(line);
	fclose(f);
	return rc;
}

int vsd_audit_scan(const char *path, vsd_audit_head *out, vs_err *err)
{
	return walk(path, out, err);
}

int vsd_audit_verify(const char *path, const vsd_audit_head *head, uint64_t *entries, vs_err *err)
{
	vsd_audit_head got;
	if (walk(path, &got, err) < 0)
		return -1;
	*entries = got.seq;
	if (got.seq < head->seq)
		return vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: %llu entries, the recorded head is entry %llu: entries were removed",
			       path, (unsigned long long)got.seq, (unsigned long long)head->seq);
	if (got.seq > head->seq)
		return vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: %llu entries, the recorded head is entry %llu: entries were added",
			       path, (unsigned long long)got.seq, (unsigned long long)head->seq);
	if (strcmp(got.hash, head->hash))
		return vs_fail(err, VS_EINVAL_CONFIG, "audit log %s: entry %llu does not match the recorded head: it was edited",
			       path, (unsigned long long)got.seq);
	return 0;
}
