#!/usr/bin/env bash
# The API socket's HTTP parser and Firecracker routes under libFuzzer
# (ASan+UBSan; tests/fuzz/fuzz_http.c): the seed corpus replays cleanly, then
# ~30 s of fuzzing finds no crash, leak or undefined behaviour. No KVM needed.
source "$(dirname "$0")/../lib.sh"
fuzz_check "API" fuzz_http "$ROOT/tests/fuzz/corpus_http" "$ROOT/tests/fuzz/http.dict"
# The snapshot state file parser (tests/fuzz/fuzz_snapshot.c): what
# PUT /snapshot/load and --restore read before any machine exists.
fuzz_check "snapshot" fuzz_snapshot "$ROOT/tests/fuzz/corpus_snapshot" "$ROOT/tests/fuzz/snapshot.dict"
# The live migration stream reader (tests/fuzz/fuzz_migstream.c): what
# `vm run --incoming` reads from the network before any machine exists.
fuzz_check "migration stream" fuzz_migstream "$ROOT/tests/fuzz/corpus_migstream" "$ROOT/tests/fuzz/migstream.dict"
