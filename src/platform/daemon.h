/* vesseld's life: open the root, recover, serve until SIGTERM/SIGINT. */
#ifndef VSD_DAEMON_H
#define VSD_DAEMON_H

#include "platform/vsd.h"

/* Runs until a signal asks it to stop; instances keep running after. */
int vsd_serve(const vsd_opts *o, vs_err *err);

#endif
