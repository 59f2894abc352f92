/* OCI hooks: run with the container state JSON on stdin, honouring timeouts.
 * A failing prestart/createRuntime/createContainer/startContainer hook fails
 * the operation; poststart/poststop failures are logged as warnings only. */
#ifndef VS_CTR_HOOKS_H
#define VS_CTR_HOOKS_H

#include <stddef.h>

#include "base/error.h"
#include "oci/config.h"

int vs_hooks_run(const vs_config *cfg, int kind, const char *state_json, vs_err *err);

#endif
