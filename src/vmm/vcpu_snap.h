/* A vCPU's whole KVM state into a snapshot and back (vcpu_snap.c). */
#ifndef VS_VMM_VCPU_SNAP_H
#define VS_VMM_VCPU_SNAP_H

#include "vmm/snapfile.h"
#include "vmm/vcpu.h"

/* The vCPU must be out of KVM_RUN with no I/O pending. */
int vs_vcpu_save(vs_vcpu *v, vs_snapw *w, vs_err *err);
/* Into a vCPU just created (vs_vcpu_create) that never ran. */
int vs_vcpu_restore(vs_vcpu *v, const vs_snap *s, vs_err *err);

#endif
