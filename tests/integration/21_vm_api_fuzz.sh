#!/usr/bin/env bash
# The API socket's HTTP parser and Firecracker routes under libFuzzer
# (ASan+UBSan; tests/fuzz/fuzz_http.c): the seed corpus replays cleanly, then
# ~30 s of fuzzing finds no crash, leak or undefined behaviour. No KVM needed.
source "$(dirname "$0")/../lib.sh"

FUZZER="$ROOT/build-fuzz/fuzz_http"
CORPUS="$ROOT/tests/fuzz/corpus_http"
SECONDS_TO_FUZZ=${VESSEL_FUZZ_SECONDS:-30}

if ! command -v clang >/dev/null; then
  not_ok "API fuzzer builds: clang not installed (scripts/setup.sh installs it)"; exit 0
fi
if make -s -C "$ROOT" build-fuzz/fuzz_http >"$TMP/build.log" 2>&1; then ok "API fuzzer builds (make fuzz)"
else not_ok "API fuzzer builds (make fuzz)"; sed 's/^/# /' "$TMP/build.log"; exit 0; fi

report() {
  grep -E "ERROR|SUMMARY|#[0-9]+ 0x.* in vs_" "$1" | head -15 | sed 's/^/# /'
  ls "$TMP"/art-* 2>/dev/null | sed 's/^/# input: /'
}

if "$FUZZER" -runs=0 -artifact_prefix="$TMP/art-" "$CORPUS" >"$TMP/replay.log" 2>&1; then
  ok "API seed corpus replays cleanly ($(ls "$CORPUS" | wc -l) inputs)"
else not_ok "API seed corpus replays cleanly"; report "$TMP/replay.log"; fi

mkdir -p "$TMP/work"
if "$FUZZER" -max_total_time="$SECONDS_TO_FUZZ" -timeout=10 -rss_limit_mb=2048 \
     -dict="$ROOT/tests/fuzz/http.dict" -artifact_prefix="$TMP/art-" \
     "$TMP/work" "$CORPUS" >"$TMP/fuzz.log" 2>&1; then
  ok "API fuzzing for ${SECONDS_TO_FUZZ}s finds nothing ($(grep -o 'Done [0-9]* runs' "$TMP/fuzz.log"))"
else
  not_ok "API fuzzing for ${SECONDS_TO_FUZZ}s finds nothing"; report "$TMP/fuzz.log"
  mkdir -p "$ROOT/build-fuzz/crashes" && cp "$TMP"/art-* "$ROOT/build-fuzz/crashes/" 2>/dev/null
fi
