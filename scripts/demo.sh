#!/usr/bin/env bash
# What `make demo` runs after building: a short narrated tour of vessel.
#   1. a bundle from `vessel spec` + the busybox rootfs
#   2. `vessel run` of a busybox command
#   3. a detached container: list, state, exec, ps, kill, delete
#   4. the container-start benchmark, vessel vs runc (bench/container-start)
#   5. the same busybox command as a microVM (scripts/demo-vm.sh, when it is
#      there), and a side-by-side table of start times
# Non-interactive; about a minute without the VM part.
#   DEMO_SKIP_VM=1      skip step 5
#   DEMO_RUNS=N         benchmark runs per runtime (default 20)
#   DEMO_VM_TIMEOUT=S   give up on the microVM after S seconds (default 240)
#   DEMO_VM_SCRIPT=F    the microVM part (default scripts/demo-vm.sh); it should
#                       print a line "VM_START_MS=<milliseconds>"
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VESSEL=$ROOT/build/vessel
ROOTFS=$ROOT/build/rootfs
RUNS=${DEMO_RUNS:-20}
VM_TIMEOUT=${DEMO_VM_TIMEOUT:-240}
VM_SCRIPT=${DEMO_VM_SCRIPT:-scripts/demo-vm.sh}

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' Y=$'\e[33m' N=$'\e[0m'; else B="" D="" G="" Y="" N=""; fi
step() { echo; echo "${B}== $*${N}"; }
say()  { echo "   $*"; }
warn() { echo "   ${Y}$*${N}"; }
# cmd TEXT: print a command line, as a user would type it, before running it.
cmd()  { echo "${D}\$ $*${N}"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (containers need namespaces and cgroups): sudo make demo" >&2; exit 1; }
[ -x "$VESSEL" ] || { echo "demo: no $VESSEL; run make first" >&2; exit 1; }
[ -x "$ROOTFS/bin/busybox" ] || { echo "demo: no busybox rootfs at $ROOTFS; run scripts/setup.sh" >&2; exit 1; }
command -v jq >/dev/null || { echo "demo: jq is missing; run scripts/setup.sh" >&2; exit 1; }

TMP=$(mktemp -d /tmp/vessel-demo.XXXXXX)
STATE=$TMP/state
ID=demo-$$
cleanup() {
  "$VESSEL" --root "$STATE" delete -f "$ID" >/dev/null 2>&1 || true
  "$VESSEL" --root "$STATE" delete -f hello >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
# Every runtime call below uses a private --root, so the demo never sees or
# touches other containers on this machine.
v() { "$VESSEL" --root "$STATE" "$@"; }

echo "${B}vessel demo${N}: one binary, containers (an OCI runtime with runc's command line) and KVM microVMs."
say "$("$VESSEL" --version | head -1), at $VESSEL"
say "(the commands below run as 'vessel --root $STATE ...'; shown as 'vessel ...')"

# --- 1 ----------------------------------------------------------------------
step "1. A bundle: a root filesystem plus config.json"
BUNDLE=$TMP/bundle
mkdir -p "$BUNDLE/rootfs"
cp -a "$ROOTFS/." "$BUNDLE/rootfs/"
say "rootfs: the busybox test root ($(du -sh "$BUNDLE/rootfs" | cut -f1)), copied to $BUNDLE/rootfs"
cmd "cd $BUNDLE && vessel spec"
(cd "$BUNDLE" && "$VESSEL" spec)
jq '.process.terminal = false | .hostname = "vessel-demo"
    | .process.args = ["sh", "-c", "echo \"Hello from a vessel container! I am pid $$ on host $(hostname), and I see $(ls / | wc -l) entries in /.\""]' \
  "$BUNDLE/config.json" > "$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
say "config.json (excerpt, after setting the command and hostname):"
jq -c '{ociVersion, process: {args: .process.args}, hostname, root, namespaces: [.linux.namespaces[].type]}' \
  "$BUNDLE/config.json" | sed 's/^/   /'

# --- 2 ----------------------------------------------------------------------
step "2. Run it: create, start, wait and delete in one command"
cmd "vessel run --bundle $BUNDLE hello"
rc=0; v run --bundle "$BUNDLE" hello || rc=$?
say "${G}exit status $rc${N}; pid 1 in its own pid namespace, its own hostname, busybox's root."

# --- 3 ----------------------------------------------------------------------
step "3. A long-running container: create, start, look at it, exec into it, stop it"
jq '.process.args = ["sleep", "600"]' "$BUNDLE/config.json" > "$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
# Its stdio goes to a log: the container outlives this command.
cmd "vessel create --bundle $BUNDLE $ID"; v create --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/$ID.log" 2>&1 ||
  { cat "$TMP/$ID.log"; exit 1; }
cmd "vessel start $ID"; v start "$ID"
cmd "vessel list"; v list
cmd "vessel state $ID"; v state "$ID" | jq -c '{id, status, pid, bundle}'
cmd "vessel exec $ID sh -c '...'"; v exec "$ID" \
  sh -c 'echo "exec: joined $(hostname) as pid $$; its pid 1 is: $(tr "\0" " " </proc/1/cmdline)"'
cmd "vessel ps $ID"; v ps "$ID"
cmd "vessel kill $ID KILL"; v kill "$ID" KILL
for _ in $(seq 50); do [ "$(v state "$ID" | jq -r .status)" = stopped ] && break; sleep 0.1; done
say "status now: $(v state "$ID" | jq -r .status)"
cmd "vessel delete $ID"; v delete "$ID"
cmd "vessel list"; v list

# --- 4 ----------------------------------------------------------------------
step "4. How fast does a container start? vessel vs runc, same bundle, $RUNS runs each"
say "(bench/container-start: 'run' of busybox /bin/true, create to delete; 'make bench' runs 50)"
bench_rc=0
bash bench/container-start -n "$RUNS" --json "$TMP/bench.json" || bench_rc=$?
[ "$bench_rc" = 0 ] || warn "the benchmark reported a problem (exit $bench_rc), see above"
ctr_ms="" runc_ms=""
if [ -s "$TMP/bench.json" ]; then
  ctr_ms=$(jq -r '.vessel.median_ms' "$TMP/bench.json")
  runc_ms=$(jq -r '.runc.median_ms' "$TMP/bench.json")
fi

# --- 5 ----------------------------------------------------------------------
vm_ms="" vm_note=""
step "5. The same busybox command as a KVM microVM"
if [ "${DEMO_SKIP_VM:-0}" = 1 ]; then
  vm_note="skipped (DEMO_SKIP_VM=1)"
elif [ ! -f "$VM_SCRIPT" ]; then
  vm_note="skipped ($VM_SCRIPT is not there yet)"
else
  say "($VM_SCRIPT: this host's KVM cannot boot Linux guests, so it runs"
  say " vessel vm run inside a nested test host; up to ${VM_TIMEOUT}s)"
  vm_rc=0
  timeout --kill-after=10 "$VM_TIMEOUT" bash "$VM_SCRIPT" </dev/null 2>&1 | tee "$TMP/vm.log" || vm_rc=$?
  # The VM demo's start time: a "VM_START_MS=<ms>" line, else the last
  # "<number> ms" on a line that mentions "start".
  vm_ms=$(sed -n 's/^VM_START_MS=\([0-9.][0-9.]*\).*/\1/p' "$TMP/vm.log" | tail -1)
  [ -n "$vm_ms" ] || vm_ms=$(grep -i start "$TMP/vm.log" | grep -oE '[0-9]+(\.[0-9]+)? ?ms' | tail -1 | grep -oE '^[0-9.]+' || true)
  if [ "$vm_rc" != 0 ]; then
    vm_note="failed (exit $vm_rc)"; vm_ms=""
    [ "$vm_rc" != 124 ] || vm_note="failed (timed out after ${VM_TIMEOUT}s)"
  elif [ -z "$vm_ms" ]; then
    vm_note="ran, but printed no start time"
  fi
fi
[ -n "$vm_note" ] && say "microVM: $vm_note"

# --- table -------------------------------------------------------------------
step "Start time, side by side (busybox command, median)"
row() { printf '   %-34s %12s\n' "$1" "$2"; }
ms() { [ -n "$1" ] && [ "$1" != null ] && printf '%.1f ms' "$1" || echo "${2:-n/a}"; }
row "workload" "start time"
row "----------------------------------" "------------"
row "container, vessel run" "$(ms "$ctr_ms")"
row "container, runc run (same bundle)" "$(ms "$runc_ms")"
row "microVM, vessel vm run" "$(ms "$vm_ms" "${vm_note:-n/a}")"
echo
say "Next: 'make test' runs the whole suite; 'make bench' the full benchmark;"
say "podman and containerd use vessel as-is: podman --runtime $VESSEL run ..."
exit 0
