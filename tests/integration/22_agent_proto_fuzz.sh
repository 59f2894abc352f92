#!/usr/bin/env bash
# What a guest agent sends the host (hybrid/proto.c's checks and the host's
# session, tests/fuzz/fuzz_agent_proto.c) under libFuzzer with ASan+UBSan:
# the seed corpus replays cleanly, then ~30 s of fuzzing finds no crash,
# leak, undefined behaviour or hang. No KVM needed.
source "$(dirname "$0")/../lib.sh"
fuzz_check "agent protocol" fuzz_agent_proto "$ROOT/tests/fuzz/corpus_agent" "$ROOT/tests/fuzz/agent.dict"
