#!/usr/bin/env bash
# The config parsers under libFuzzer (ASan+UBSan): the seed corpus replays
# cleanly, then ~30 s of fuzzing finds no crash, leak or undefined behaviour.
source "$(dirname "$0")/../lib.sh"

FUZZER="$ROOT/build-fuzz/fuzz_config"
CORPUS="$ROOT/tests/fuzz/corpus"
SECONDS_TO_FUZZ=${VESSEL_FUZZ_SECONDS:-30}

if ! command -v clang >/dev/null; then
  skip "fuzzer builds" "clang not installed"; exit 0
fi
if make -s -C "$ROOT" fuzz >"$TMP/build.log" 2>&1; then ok "fuzzer builds (make fuzz)"
else not_ok "fuzzer builds (make fuzz)"; sed 's/^/# /' "$TMP/build.log"; exit 0; fi

# Report a libFuzzer run: the sanitizer's summary and the input that broke it.
report() {
  grep -E "ERROR|SUMMARY|#[0-9]+ 0x.* in vs_" "$1" | head -15 | sed 's/^/# /'
  ls "$TMP"/art-* 2>/dev/null | sed 's/^/# input: /'
}

if "$FUZZER" -runs=0 -artifact_prefix="$TMP/art-" "$CORPUS" >"$TMP/replay.log" 2>&1; then
  ok "seed corpus replays cleanly ($(ls "$CORPUS" | wc -l) inputs)"
else not_ok "seed corpus replays cleanly"; report "$TMP/replay.log"; fi

mkdir -p "$TMP/work"
if "$FUZZER" -max_total_time="$SECONDS_TO_FUZZ" -timeout=10 -rss_limit_mb=2048 \
     -dict="$ROOT/tests/fuzz/config.dict" -artifact_prefix="$TMP/art-" \
     "$TMP/work" "$CORPUS" >"$TMP/fuzz.log" 2>&1; then
  ok "fuzzing for ${SECONDS_TO_FUZZ}s finds nothing ($(grep -o 'Done [0-9]* runs' "$TMP/fuzz.log"))"
else
  not_ok "fuzzing for ${SECONDS_TO_FUZZ}s finds nothing"; report "$TMP/fuzz.log"
  # Keep the input for a regression seed.
  mkdir -p "$ROOT/build-fuzz/crashes" && cp "$TMP"/art-* "$ROOT/build-fuzz/crashes/" 2>/dev/null
fi
