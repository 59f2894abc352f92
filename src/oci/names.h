/* Name tables shared by the parser, `vessel features` and the engines:
 * capability, rlimit, namespace, seccomp and mount-option names exactly as
 * they are spelled in config.json. */
#ifndef VS_OCI_NAMES_H
#define VS_OCI_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/config.h"

/* "RLIMIT_NOFILE" <-> RLIMIT_*; -1 / NULL if unknown. */
int vs_rlimit_from_name(const char *name);
const char *vs_rlimit_name(int resource);

/* "pid", "network", ... -> kind; -1 if unknown. */
int vs_ns_from_name(const char *name);

/* Seccomp names; -1 / NULL if unknown. */
int vs_seccomp_action_from_name(const char *name);
const char *vs_seccomp_action_name(vs_seccomp_action a);
int vs_seccomp_op_from_name(const char *name);
const char *vs_seccomp_op_name(vs_seccomp_op op);
bool vs_seccomp_arch_known(const char *name);
bool vs_seccomp_flag_known(const char *name);

/* NULL-terminated lists for `vessel features`. */
extern const char *const vs_seccomp_action_names[];
extern const char *const vs_seccomp_op_names[];
extern const char *const vs_seccomp_arch_names[];
extern const char *const vs_seccomp_flag_names[];
extern const char *const vs_hook_names[]; /* indexed by VS_HOOK_* */
/* Every mount option the parser understands (sorted). */
extern const char *const vs_mount_option_names[];

#endif
