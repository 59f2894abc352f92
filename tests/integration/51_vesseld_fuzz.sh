#!/usr/bin/env bash
# vesseld's request router under libFuzzer (ASan+UBSan): any method, path,
# query and body gets a well-formed envelope, never a crash or a leak.
source "$(dirname "$0")/../lib.sh"
fuzz_check "vesseld API" fuzz_vsd_api "$ROOT/tests/fuzz/corpus_vsd" "$ROOT/tests/fuzz/vsd.dict"
