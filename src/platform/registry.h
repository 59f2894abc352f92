/* Pulling an image from an OCI registry (distribution API v2) with
 * libcurl: the manifest (an index or manifest list resolved to
 * linux/amd64), the config and the layers, anonymous bearer tokens when
 * the registry asks (WWW-Authenticate), every digest verified while
 * downloading. The result is an OCI image layout in a directory, which
 * the importer reads as it reads an oci-archive. */
#ifndef VSD_REGISTRY_H
#define VSD_REGISTRY_H

#include "base/error.h"

typedef struct vsd_ref {
	char base[512]; /* "https://registry.example:5000" */
	char repo[256]; /* "library/busybox" */
	char ref[128];  /* tag, or "sha256:<hex>" */
} vsd_ref;

/* "[http[s]://]host[:port]/repo[:tag|@sha256:hex]" (https when no
 * scheme; tag "latest" when none). Pure. */
int vsd_ref_parse(const char *s, vsd_ref *r, vs_err *err);
/* Download r into dir (an existing empty directory) as an OCI layout. */
int vsd_registry_pull(const vsd_ref *r, const char *dir, vs_err *err);

#endif
