/* /dev inside the container: the runtime-spec default devices, linux.devices,
 * and the standard symlinks. Inside a user namespace mknod is not allowed, so
 * host device nodes are bind-mounted instead (as runc does). */
#ifndef VS_CTR_DEVICES_H
#define VS_CTR_DEVICES_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/config.h"

int vs_devices_setup(int rootfd, const vs_config *cfg, bool in_userns, vs_err *err);

#endif
