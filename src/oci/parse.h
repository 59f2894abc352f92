/* Internal to src/oci: the section parsers config.c stitches together and
 * the small JSON helpers they share. `where` is always the JSON path of the
 * object being read ("" at the top), so every message names the field. */
#ifndef VS_OCI_PARSE_H
#define VS_OCI_PARSE_H

#include <json-c/json.h>

#include "base/error.h"
#include "base/json.h"
#include "oci/config.h"

#define VS_OCI_PATH 256

/* "where.key" (or "key" when where is empty) into buf; returns buf. */
const char *vs_oci_path(char *buf, const char *where, const char *key);
/* "where[i]" into buf; returns buf. */
const char *vs_oci_path_idx(char *buf, const char *where, size_t i);

/* Integers with range checks: absent -> *present=false (present may be NULL
 * only when the caller does not care). */
int vs_oci_int(struct json_object *obj, const char *key, const char *where, int64_t min, int64_t max,
	       int64_t *out, bool *present, vs_err *err);
int vs_oci_uint(struct json_object *obj, const char *key, const char *where, uint64_t max, uint64_t *out,
		bool *present, vs_err *err);
int vs_oci_u32(struct json_object *obj, const char *key, const char *where, uint32_t *out, bool *present,
	       vs_err *err);

/* A uid or gid: 0..VS_OCI_ID_MAX. (uid_t)-1 means "leave unchanged" to
 * setresuid and would keep the process root; runc refuses the top half too. */
#define VS_OCI_ID_MAX 2147483647u
int vs_oci_id(struct json_object *obj, const char *key, const char *where, uint32_t *out, bool *present,
	      vs_err *err);

/* Element i of arr must be an object; path is "where[i]". */
int vs_oci_elem_obj(struct json_object *arr, size_t i, const char *where, struct json_object **out,
		    vs_err *err);
/* Object of string values (annotations, sysctl, unified) -> vs_kv array. */
int vs_oci_kv(struct json_object *obj, const char *key, const char *where, vs_kv **out, size_t *n,
	      vs_err *err);
void vs_oci_kv_free(vs_kv *kv, size_t n);
/* Reject strings (and keys) with embedded NUL bytes anywhere in the tree:
 * C strings would silently truncate them. */
int vs_oci_check_nul(struct json_object *obj, const char *where, vs_err *err);
/* Free a strv and reset the count. */
void vs_oci_strv_clear(char ***v, size_t *n);

/* Sections. Each fills its part of the struct; on error the caller frees
 * whatever was filled with the matching clear function. */
int vs_oci_parse_process(struct json_object *obj, const char *where, vs_process *p, vs_err *err);
/* process.ioPriority, process.scheduler, process.execCPUAffinity. */
int vs_oci_parse_sched(struct json_object *obj, const char *where, vs_process *p, vs_err *err);
int vs_oci_parse_mounts(struct json_object *arr, const char *where, vs_config *cfg, vs_err *err);
void vs_oci_mount_clear(vs_mount *m);
int vs_oci_mount_options(vs_mount *m, const char *where, vs_err *err);
/* "rslave" -> MS_SLAVE|MS_REC; -1 if not a propagation name. */
int vs_oci_propagation(const char *name, unsigned long *out);
int vs_oci_parse_hooks(struct json_object *obj, const char *where, vs_config *cfg, vs_err *err);
void vs_oci_hooks_clear(vs_config *cfg);
/* uidMappings/gidMappings arrays (linux.* and per-mount). */
int vs_oci_id_maps(struct json_object *obj, const char *key, const char *where, struct vs_id_map **out,
		   size_t *n, vs_err *err);
int vs_oci_parse_linux(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err);
/* timeOffsets, personality, intelRdt, netDevices (linux_misc.c). */
int vs_oci_parse_linux_misc(struct json_object *obj, const char *where, vs_linux *lx, vs_err *err);
void vs_oci_linux_clear(vs_linux *lx);
int vs_oci_parse_resources(struct json_object *obj, const char *where, vs_resources *r, vs_err *err);
int vs_oci_parse_seccomp(struct json_object *obj, const char *where, vs_seccomp *s, vs_err *err);
void vs_oci_seccomp_clear(vs_seccomp *s);
/* Rules that span sections (hostname needs a UTS namespace, ...). */
int vs_oci_validate(const vs_config *cfg, vs_err *err);

/* Allocate and fill an array of `size`-byte elements with `fn`, one per
 * object in obj[key]; *n counts the elements started, for cleanup. */
typedef int (*vs_oci_elem_fn)(struct json_object *o, const char *where, void *elem, vs_err *err);
int vs_oci_array(struct json_object *obj, const char *key, const char *where, size_t size, vs_oci_elem_fn fn,
		 void **out, size_t *n, vs_err *err);

#endif
