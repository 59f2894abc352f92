#!/usr/bin/env bash
# The microVM part of `make demo` (called by scripts/demo.sh): runs a busybox
# command as a KVM microVM with `vessel vm run` (the Debian kernel from /boot,
# the busybox initramfs of tests/vmhost/mkinitramfs-guest) and prints how long
# the VM took to start, ending with a line "VM_START_MS=<ms>" (from spawning
# the VMM to the guest's first userspace line).
#
# This machine's /dev/kvm cannot boot Linux, so the VM runs inside the nested
# test host (tests/vmhost/run: qemu with TCG, emulated AMD-V). Set
# DEMO_VM_DIRECT=1 on a machine with hardware virtualization to run it here.
#   DEMO_VM_COMMAND  the guest's shell command (default: a greeting and uname -r)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VESSEL=${VESSEL:-$ROOT/build/vessel}
COMMAND=${DEMO_VM_COMMAND:-echo hello from a vessel microVM; uname -r}
MARK="vessel-guest: userspace up"

# ------------------------------------------------ the VM run (nested or direct)
if [ "${1:-}" = --inside ]; then
  source tests/vmhost/initramfs.sh
  vmhost_kernel
  # quiet: only the guest's own lines on the console. What follows "--" is
  # handed to the guest's /init as arguments, which runs them with sh -c.
  echo "\$ vessel vm run --kernel $KERNEL --initrd ${GUEST_INITRD#$ROOT/} --memory 256M --cmdline 'quiet -- $COMMAND'"
  t0=$EPOCHREALTIME t1=""
  rc=0
  while IFS= read -r line; do
    line=${line%$'\r'}
    if [ -z "$t1" ] && [[ "$line" == *"$MARK"* ]]; then t1=$EPOCHREALTIME; continue; fi
    case "$line" in
      "vessel-guest: done"*) ;;
      "demo-vm-exit: "*) rc=${line#demo-vm-exit: } ;;
      "["*"."*"] "*) ;;   # kernel messages that even "quiet" lets through
      *) echo "   guest| $line" ;;
    esac
  done < <("$VESSEL" vm run --kernel "$KERNEL" --initrd "$GUEST_INITRD" --memory 256M \
             --cmdline "quiet -- $COMMAND" < /dev/null 2>&1; echo "demo-vm-exit: $?")
  t2=$EPOCHREALTIME
  ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
  [ -n "$t1" ] || { echo "demo-vm: the guest never reached userspace (vessel exit $rc)" >&2; exit 1; }
  [ "$rc" = 0 ] || { echo "demo-vm: vessel vm run exited with status $rc" >&2; exit 1; }
  echo "   microVM: first userspace line after $(ms "$t0" "$t1") ms, powered off and gone after $(ms "$t0" "$t2") ms"
  echo "VM_START_MS=$(ms "$t0" "$t1")"
  exit 0
fi

# ------------------------------------------------ preparation, then the run
[ -x "$VESSEL" ] || { echo "demo-vm: no $VESSEL; run make first" >&2; exit 1; }
export GUEST_INITRD
GUEST_INITRD=$(tests/vmhost/mkinitramfs-guest)
if [ "${DEMO_VM_DIRECT:-0}" = 1 ]; then
  exec bash scripts/demo-vm.sh --inside
fi
echo "   This host's /dev/kvm cannot boot Linux guests, so the microVM runs inside a nested"
echo "   test host: qemu emulating a CPU with AMD-V (TCG), booted with this machine's / shared"
echo "   read-only. Starting it takes a few seconds; the microVM boot inside then takes 5-30 s"
echo "   because every guest exit goes through the emulated CPU (with hardware virtualization: a second or two)."
t0=$EPOCHREALTIME
tests/vmhost/run --timeout 600 -e GUEST_INITRD -e DEMO_VM_COMMAND="$COMMAND" bash scripts/demo-vm.sh --inside
echo "   (nested host started, ran the microVM and stopped in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"
