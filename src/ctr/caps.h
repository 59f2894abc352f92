/* process.capabilities and identity switching. */
#ifndef VS_CTR_CAPS_H
#define VS_CTR_CAPS_H

#include "base/error.h"
#include "oci/config.h"

/* Step 1 (still uid 0, before setuid): drop caps outside the bounding set
 * and set PR_SET_KEEPCAPS so the permitted set survives the uid switch. */
int vs_caps_prepare(const vs_process *p, vs_err *err);
/* Step 2: setgroups/setresgid/setresuid to process.user. */
int vs_caps_switch_user(const vs_process *p, vs_err *err);
/* Step 3 (after the uid switch): capset effective/permitted/inheritable,
 * then raise ambient caps. Without process.capabilities, keeps the full set
 * for uid 0 (runc behaviour) and none for others. */
int vs_caps_apply(const vs_process *p, vs_err *err);

#endif
