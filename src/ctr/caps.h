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
 * for uid 0 (runc behaviour) and none for others. `held_until_exec` caps
 * stay in the effective and permitted sets on top of those, for the caller's
 * last steps (CAP_SYS_ADMIN to load seccomp without no_new_privs): execve
 * computes the new permitted set from the inheritable, bounding and ambient
 * sets and the file's caps only, so what is held here does not outlive it. */
int vs_caps_apply(const vs_process *p, uint64_t held_until_exec, vs_err *err);

#endif
