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

# fuzz_check LABEL NAME CORPUS DICT: build build-fuzz/NAME (libFuzzer, ASan+UBSan),
# replay the seed corpus, then fuzz for VESSEL_FUZZ_SECONDS (30) seconds.
# A crashing input is kept in build-fuzz/crashes/ for a regression seed.
fuzz_check() {
  local label=$1 name=$2 corpus=$3 dict=$4 secs=${VESSEL_FUZZ_SECONDS:-30}
  local fuzzer=$ROOT/build-fuzz/$name
  command -v clang >/dev/null || { not_ok "$label fuzzer builds: clang not installed (scripts/setup.sh installs it)"; return; }
  if make -s -C "$ROOT" "build-fuzz/$name" >"$TMP/build.log" 2>&1; then ok "$label fuzzer builds"
  else not_ok "$label fuzzer builds"; sed 's/^/# /' "$TMP/build.log"; return; fi
  _fuzz_report() {
    grep -E "ERROR|SUMMARY|#[0-9]+ 0x.* in vs_" "$1" | head -15 | sed 's/^/# /'
    ls "$TMP"/art-* 2>/dev/null | sed 's/^/# input: /'
  }
  if "$fuzzer" -runs=0 -artifact_prefix="$TMP/art-" "$corpus" >"$TMP/replay.log" 2>&1; then
    ok "$label seed corpus replays cleanly ($(ls "$corpus" | wc -l) inputs)"
  else not_ok "$label seed corpus replays cleanly"; _fuzz_report "$TMP/replay.log"; fi
  mkdir -p "$TMP/work-$name"
  if "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -dict="$dict" \
       -artifact_prefix="$TMP/art-" "$TMP/work-$name" "$corpus" >"$TMP/fuzz.log" 2>&1; then
    ok "$label fuzzing for ${secs}s finds nothing ($(grep -o 'Done [0-9]* runs' "$TMP/fuzz.log"))"
  else
    not_ok "$label fuzzing for ${secs}s finds nothing"; _fuzz_report "$TMP/fuzz.log"
    mkdir -p "$ROOT/build-fuzz/crashes" && cp "$TMP"/art-* "$ROOT/build-fuzz/crashes/" 2>/dev/null
  fi
}
