/* The HTTP side: libmicrohttpd on a Unix socket vesseld binds itself
 * (mode 0660, owner root), one thread per connection, the peer's uid from
 * SO_PEERCRED. Every mutating request is audited with its result. */
#ifndef VSD_HTTP_H
#define VSD_HTTP_H

#include "platform/vsd.h"

typedef struct vsd_http vsd_http;

vsd_http *vsd_http_start(vsd *d, vs_err *err);
void vsd_http_stop(vsd_http *h);

#endif
