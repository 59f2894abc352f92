/* Images: a rootfs tarball, or an OCI image (an OCI image layout archive
 * or a docker-archive, as `podman save` writes), unpacked into
 * content-addressed layer directories <root>/layers/<sha256> (the sha256
 * of the layer tarball), so images and instances share one copy. */
#ifndef VSD_IMAGES_H
#define VSD_IMAGES_H

#include <json-c/json.h>

#include "platform/vsd.h"

/* Import file (kept by the caller; what names it in messages) under
 * alias (NULL: none). Runs without the lock (an operation's work); fp
 * gets the fingerprint. Nothing is stored on error. */
int vsd_image_import(vsd *d, const char *file, const char *what, const char *alias, char fp[65], vs_err *err);
/* Pull ref ("[http[s]://]host[:port]/repo[:tag|@digest]") from a registry
 * and import it, as vsd_image_import. */
int vsd_image_pull(vsd *d, const char *ref, const char *alias, char fp[65], vs_err *err);
/* Resolve an alias or a fingerprint (or a unique prefix of >= 12 hex
 * digits) to a fingerprint (lock held). ENOENT if none. */
int vsd_image_resolve(vsd *d, const char *ref, char fp[65], vs_err *err);
/* The image object (lock held), NULL if unknown. */
struct json_object *vsd_image_json(vsd *d, const char *fp);
/* Delete (lock held): EBUSY while an instance uses it. Unused layers go too. */
int vsd_image_delete(vsd *d, const char *fp, vs_err *err);
/* The image's layer directories top first, as overlayfs lowerdir wants
 * ("a:b:c"), and its config ({command, env, cwd}) (lock held). */
int vsd_image_lower(vsd *d, const char *fp, char **lower, struct json_object **config, vs_err *err);
/* Remove layer dirs no image references and leftovers in <root>/tmp (at start). */
void vsd_images_gc(vsd *d);

#endif
