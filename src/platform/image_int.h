/* Inside the image store: the layer set an import builds, shared by the
 * import (images.c) and the OCI / docker-archive reader (image_oci.c). */
#ifndef VSD_IMAGE_INT_H
#define VSD_IMAGE_INT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "platform/sha256.h"
#include "platform/vsd.h"

#define MAX_LAYERS 128

typedef struct vsd_layer_set {
	char digest[MAX_LAYERS][VSD_SHA256_HEX];
	bool fresh[MAX_LAYERS]; /* unpacked by this import: removed if it fails */
	int n;
} vsd_layer_set;

/* Unpack one layer file (fd) as layers/<digest> unless it is there. */
int vsd_layer_add(vsd *d, int fd, const char *digest, unsigned flags, vsd_layer_set *ls, vs_err *err);
/* The layers and config ({command, env, cwd}) of an unpacked OCI layout or
 * docker-archive in dir; fp gets the config blob's digest. */
int vsd_image_oci(vsd *d, const char *dir, bool docker, vsd_layer_set *ls, char fp[65], struct json_object **cfg,
		  vs_err *err);

#endif
