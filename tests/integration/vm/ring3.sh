#!/usr/bin/env bash
# Ring-3 test guests under `vessel vm run` (tests/guests): UART output and
# input, i8042 reset, exit statuses, a triple fault, a hostile port/MMIO
# fuzzer, SIGTERM, start-up statistics. Run by 20_vm_ring3.sh where there is
# a usable /dev/kvm (directly, or in the nested test host), with the guests
# already built in $GUESTS.
source "$(dirname "$0")/../../lib.sh"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"
G=$GUESTS

# UART output and input, then i8042 reset -> exit 0.
out=$(printf 'shout\n' | timeout 60 "$VESSEL" vm run --ring3 "$G/hello.bin" 2>&1); rc=$?
check "guest output reaches stdout" grep -q "hello from ring 3" <<<"$out"
check "stdin reaches the guest's UART" grep -q "SHOUT" <<<"$out"
if [ "$rc" = 0 ]; then ok "i8042 reset exits 0"; else not_ok "i8042 reset exits 0 (got $rc)"; fi
check "guest sees the memory size asked for" bash -c "printf '\n' | timeout 60 '$VESSEL' vm run --memory 64M --ring3 '$G/hello.bin' | grep -q 'ram=0000000004000000'"

# The guest's chosen status comes back (debug-exit port).
printf '7' | timeout 60 "$VESSEL" vm run --ring3 "$G/hello.bin" >/dev/null 2>&1; rc=$?
if [ "$rc" = 7 ]; then ok "guest exit status is returned"; else not_ok "guest exit status is returned (got $rc)"; fi

# --console none: the guest runs (and crashes, see below), nothing printed.
out=$(timeout 60 "$VESSEL" vm run --console none --ring3 "$G/crash.bin" </dev/null 2>/dev/null); rc=$?
if [ "$rc" = 4 ] && [ -z "$out" ]; then ok "--console none discards output"; else not_ok "--console none discards output (rc $rc)"; fi

# A guest that crashes the CPU (triple fault) -> status 4 and a message.
timeout 60 "$VESSEL" vm run --ring3 "$G/crash.bin" </dev/null >"$TMP/crash.out" 2>&1; rc=$?
if [ "$rc" = 4 ] && grep -q "triple fault" "$TMP/crash.out"; then ok "guest crash exits 4 with a message"
else not_ok "guest crash exits 4 with a message (got $rc)"; cat "$TMP/crash.out"; fi

# A hostile guest hammering every port and MMIO window cannot crash the VMM.
truncate -s 1M "$TMP/fuzz.img"
timeout 300 "$VESSEL" vm run --ring3 "$G/portfuzz.bin" --disk "$TMP/fuzz.img" </dev/null >"$TMP/fuzz.out" 2>&1; rc=$?
if [ "$rc" = 42 ] && grep -q "portfuzz survived" "$TMP/fuzz.out"; then ok "port/MMIO fuzzing guest does not crash the VMM"
else not_ok "port/MMIO fuzzing guest does not crash the VMM (got $rc)"; tail -5 "$TMP/fuzz.out"; fi

# SIGTERM stops a running guest cleanly: status 128+15, terminal untouched.
mkfifo "$TMP/in"
"$VESSEL" vm run --ring3 "$G/hello.bin" <"$TMP/in" >"$TMP/term.out" 2>&1 &
pid=$!
exec 9>"$TMP/in"
on_exit "kill $pid"
for _ in $(seq 600); do grep -q "hello from ring 3" "$TMP/term.out" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"; rc=$?
exec 9>&-
if [ "$rc" = 143 ]; then ok "SIGTERM stops the VM with status 143"; else not_ok "SIGTERM stops the VM with status 143 (got $rc)"; fi

# Start-up statistics for the benchmark.
out=$(printf '\n' | VESSEL_VM_STATS=1 timeout 60 "$VESSEL" vm run --ring3 "$G/hello.bin" 2>&1 >/dev/null)
check "VESSEL_VM_STATS prints start-up CPU time and RSS" grep -qE 'startup_cpu_us=[0-9]+ .*vmm_rss_kib=[0-9]+' <<<"$out"

