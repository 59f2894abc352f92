# Shared helpers for integration tests (bash). Source it, then call
# ok/not_ok/skip or `check NAME CMD...`. Each script cleans up after itself.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VESSEL=${VESSEL:-$ROOT/build/vessel}
VESSEL_ROOTFS=${VESSEL_ROOTFS:-$ROOT/build/rootfs}
TMP=$(mktemp -d /tmp/vessel-test.XXXXXX)
chmod 755 "$TMP" # a user-namespaced container must be able to reach its rootfs
STATE="$TMP/state"
_cleanups=()
trap 'for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1; done; rm -rf "$TMP"' EXIT

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
skip()   { echo "ok - $1 # SKIP ${2:-}"; }
on_exit() { _cleanups=("$1" "${_cleanups[@]}"); }

# check NAME CMD... : passes when CMD exits 0.
check() {
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# vs ARGS... : the runtime with this test's private state dir.
vs() { "$VESSEL" --root "$STATE" "$@"; }

# make_bundle DIR [ARGS...]: bundle with the busybox rootfs (bind-shared,
# read-only config) and a config.json from `vessel spec`, process.args=ARGS.
make_bundle() {
  local dir=$1; shift
  mkdir -p "$dir/rootfs"
  cp -a "$VESSEL_ROOTFS/." "$dir/rootfs/"
  (cd "$dir" && "$VESSEL" spec) || return 1
  if [ $# -gt 0 ]; then
    local args
    args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
    jq_edit "$dir" ".process.args = $args | .process.terminal = false"
  else
    jq_edit "$dir" ".process.terminal = false"
  fi
}

# jq_edit DIR FILTER: rewrite DIR/config.json through jq.
jq_edit() {
  local f="$1/config.json"
  jq "$2" "$f" > "$f.new" && mv "$f.new" "$f"
}
