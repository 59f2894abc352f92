/* SHA-256 (OpenSSL's libcrypto) as lower-case hex: image and layer
 * fingerprints, the audit chain. */
#ifndef VSD_SHA256_H
#define VSD_SHA256_H

#include <stddef.h>

#include "base/error.h"

#define VSD_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef struct vsd_sha256 vsd_sha256;

void vsd_sha256_hex(const void *data, size_t len, char out[VSD_SHA256_HEX]);
/* Streaming: new, update..., final (frees). */
vsd_sha256 *vsd_sha256_new(void);
void vsd_sha256_update(vsd_sha256 *h, const void *data, size_t len);
void vsd_sha256_final(vsd_sha256 *h, char out[VSD_SHA256_HEX]);
/* The digest of a whole file. */
int vsd_sha256_file(const char *path, char out[VSD_SHA256_HEX], vs_err *err);

#endif
