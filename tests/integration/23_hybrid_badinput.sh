#!/usr/bin/env bash
# VM-isolated containers, what any host can check (no KVM needed): bad flags
# and missing files are refused with a message naming them, commands not
# built yet for VM isolation say so, and a failed start leaves no state.
# The containers themselves run in tests/integration/vm/hybrid.sh.
source "$(dirname "$0")/../lib.sh"
B=$TMP/bundle
make_bundle "$B" echo hello || { not_ok "hybrid bad input: make the bundle"; exit 0; }

# refused NAME RC WANT ARGS...: vessel ARGS exits RC saying WANT.
refused() {
  local name=$1 want_rc=$2 want=$3 out rc; shift 3
  out=$(timeout 60 "$VESSEL" --root "$STATE" "$@" </dev/null 2>&1); rc=$?
  if [ "$rc" = "$want_rc" ] && grep -qF -- "$want" <<<"$out"; then ok "$name"
  else not_ok "$name (want $want_rc '$want', got $rc: $out)"; fi
}
refused "hybrid: --isolation takes container or vm" 2 "--isolation must be container or vm, not 'kvm'" \
  --isolation kvm run -b "$B" x
refused "hybrid: --vm-memory below the minimum" 1 "--vm-memory: 3 MiB is less than the 16 MiB a guest needs" \
  --isolation vm run -b "$B" --vm-memory 3 x
refused "hybrid: --vm-memory that is not a size" 2 "--vm-memory 12Q: not a size" --isolation vm run -b "$B" --vm-memory 12Q x
refused "hybrid: --vm-cpus 0" 2 "--vm-cpus 0: must be 1..32" --isolation vm run -b "$B" --vm-cpus 0 x
refused "hybrid: a missing --vm-initrd is named" 1 "open initrd /nonexistent/initrd: No such file" \
  --isolation vm run -b "$B" --vm-initrd /nonexistent/initrd x
refused "hybrid: a missing --vm-kernel is named" 1 "open kernel /nonexistent/vmlinuz-1: No such file" \
  --isolation vm run -b "$B" --vm-kernel /nonexistent/vmlinuz-1 --vm-initrd /etc/hostname x
refused "hybrid: update is not there yet with VM isolation, and says so" 2 "update: not yet supported with VM isolation" \
  --isolation vm update x
refused "hybrid: create --console-socket is refused clearly (no terminal yet)" 2 "--console-socket is not supported with VM isolation" \
  --isolation vm create -b "$B" --console-socket /tmp/nothing x
refused "hybrid: create with a bad --vm-cpus says so" 2 "--vm-cpus 0: must be 1..32" --isolation vm create -b "$B" --vm-cpus 0 x
refused "hybrid: a failed create names the missing initrd" 1 "open initrd /nonexistent/initrd: No such file" \
  --isolation vm create -b "$B" --vm-initrd /nonexistent/initrd x
check "hybrid: ... and leaves no state, no keeper, no VMM" test -z "$(ls -A "$STATE" 2>/dev/null)"
refused "hybrid: a bundle without config.json is named" 1 "config.json" --isolation vm run -b "$TMP" --vm-initrd /etc/hostname x
refused "hybrid: a container id with a slash is refused before it names a path" 1 "../escape" \
  --isolation vm run -b "$B" --vm-initrd /etc/hostname ../escape
check "hybrid: ... and nothing is made outside the state dir" test ! -e "$TMP/escape"
check "hybrid: failed starts leave no state" test -z "$(ls -A "$STATE" 2>/dev/null)"
# An id that is already there is refused before anything is built.
mkdir -p "$STATE/taken"
refused "hybrid: an existing container id is refused" 1 "container taken already exists" --isolation vm run -b "$B" --vm-initrd /etc/hostname taken
check "hybrid: ... and its state is left alone" test -d "$STATE/taken"
# A state dir whose state.json says VM isolation, with no keeper: every
# command treats it as stopped, and delete removes it all.
mkdir -p "$STATE/ghost"
printf '{"ociVersion":"1.2.0","id":"ghost","pid":0,"bundle":"%s","rootfs":"%s/rootfs","created":"2026-01-01T00:00:00Z","owner":"","annotations":{"io.vessel.isolation":"vm"}}' \
  "$B" "$B" >"$STATE/ghost/state.json"
cp "$B/config.json" "$STATE/ghost/config.json"
touch "$STATE/ghost/rootfs.ext4" "$STATE/ghost/vsock_1024"
check "hybrid: a VM container without its keeper is stopped" grep -q '"status": "stopped"' <(vs state ghost 2>&1)
refused "hybrid: start of a stopped VM container is refused" 1 "start container ghost: it is stopped, not created" start ghost
refused "hybrid: kill of a stopped VM container is refused" 1 "kill container ghost: it is not running" kill ghost KILL
refused "hybrid: exec into a stopped VM container is refused" 1 "container ghost is stopped, not running" exec ghost true
refused "hybrid: ps of a stopped VM container is refused" 1 "container ghost is stopped, not running" ps ghost
refused "hybrid: pause of a stopped VM container is refused" 1 "pause container ghost: it is stopped" pause ghost
check "hybrid: delete removes a stopped VM container's files" vs delete ghost
check "hybrid: ... all of them" test ! -e "$STATE/ghost"
jq_edit "$B" '.process.terminal = true'
refused "hybrid: process.terminal is refused clearly (not there yet)" 1 "process.terminal: a terminal is not supported with VM isolation yet" \
  --isolation vm run -b "$B" --vm-initrd /etc/hostname t
