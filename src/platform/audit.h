/* The audit log: one JSON line per mutating request, each carrying the
 * sha256 of the line before it ("prev"; 64 zeros for the first), so an
 * edited or removed line breaks the chain. The head (last seq and the hash
 * of the last line) is kept apart from the file (vesseld: in SQLite), so
 * removing the newest lines is caught too. */
#ifndef VSD_AUDIT_H
#define VSD_AUDIT_H

#include <stdint.h>

#include "base/error.h"
#include "platform/sha256.h"

typedef struct vsd_audit_head {
	uint64_t seq;              /* entries so far */
	char hash[VSD_SHA256_HEX]; /* of the last line; zeros when empty */
} vsd_audit_head;

typedef struct vsd_audit_entry {
	long long uid;             /* peer uid (SO_PEERCRED), -1 if unknown */
	const char *method, *path; /* "POST", "/1.0/instances" */
	const char *summary;       /* what was asked, short ("create c1 from busybox") */
	const char *result;        /* "202", "400 instance name ...: ..." */
} vsd_audit_entry;

void vsd_audit_head_init(vsd_audit_head *h);
/* Append e as entry head->seq + 1 (O_APPEND, fdatasync) and advance head. */
int vsd_audit_append(const char *path, vsd_audit_head *head, const vsd_audit_entry *e, vs_err *err);
/* Check the whole chain against head; *entries gets the count read. Fails
 * naming the first bad line. A missing file is an empty log. */
int vsd_audit_verify(const char *path, const vsd_audit_head *head, uint64_t *entries, vs_err *err);
/* Read the chain's own head, whatever the stored one says (after a crash
 * between the append and saving the head). Fails if the chain is broken. */
int vsd_audit_scan(const char *path, vsd_audit_head *out, vs_err *err);

#endif
