#!/usr/bin/env bash
# The config parsers under libFuzzer (ASan+UBSan; tests/fuzz/fuzz_config.c):
# the seed corpus replays cleanly, then ~30 s of fuzzing finds no crash, leak
# or undefined behaviour.
source "$(dirname "$0")/../lib.sh"
fuzz_check "config" fuzz_config "$ROOT/tests/fuzz/corpus" "$ROOT/tests/fuzz/config.dict"
