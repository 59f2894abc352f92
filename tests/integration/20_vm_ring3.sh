#!/usr/bin/env bash
# microVM engine through `vessel vm run`, with ring-3 test guests (they run
# natively even where KVM cannot boot a kernel) and `vessel check`.
source "$(dirname "$0")/../lib.sh"

if ! bash "$ROOT/tests/guests/build.sh" "$TMP/guests" >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log"; not_ok "build ring-3 test guests"; exit 0
fi
G=$TMP/guests

# vessel check: one verdict line per item, whatever the host.
out=$("$VESSEL" check 2>&1)
for item in "/dev/kvm" "KVM kind" "cgroup mode" "namespaces" "seccomp" "overlayfs" "/dev/net/tun"; do
  if grep -F "$item" <<<"$out" | grep -qE ': (PASS|WARN|FAIL)'; then ok "check reports $item"; else not_ok "check reports $item"; echo "$out"; fi
done
if [ -d /sys/module/kvm_pvm ]; then
  check "check calls PVM software-assisted" grep -q "KVM kind.*WARN.*PVM" <<<"$out"
fi

if [ ! -w /dev/kvm ]; then
  skip "ring-3 guests" "no usable /dev/kvm"; exit 0
fi

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
for _ in $(seq 100); do grep -q "hello from ring 3" "$TMP/term.out" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"; rc=$?
exec 9>&-
if [ "$rc" = 143 ]; then ok "SIGTERM stops the VM with status 143"; else not_ok "SIGTERM stops the VM with status 143 (got $rc)"; fi

# Start-up statistics for the benchmark.
out=$(printf '\n' | VESSEL_VM_STATS=1 timeout 60 "$VESSEL" vm run --ring3 "$G/hello.bin" 2>&1 >/dev/null)
check "VESSEL_VM_STATS prints start-up CPU time and RSS" grep -qE 'startup_cpu_us=[0-9]+ .*vmm_rss_kib=[0-9]+' <<<"$out"

# Bad input gets a clear error, not a crash.
out=$(VESSEL_ALLOW_PVM=1 timeout 30 "$VESSEL" vm run --kernel /etc/hostname </dev/null 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "not a bzImage" <<<"$out"; then ok "garbage kernel image is refused"; else not_ok "garbage kernel image is refused ($rc: $out)"; fi
out=$(timeout 30 "$VESSEL" vm run --ring3 "$G/hello.bin" --memory 3 </dev/null 2>&1); rc=$?
if [ "$rc" = 2 ] && grep -q "memory" <<<"$out"; then ok "bad --memory is refused"; else not_ok "bad --memory is refused ($rc)"; fi
out=$(timeout 30 "$VESSEL" vm run --ring3 "$G/hello.bin" --disk /nonexistent/disk.img </dev/null 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "/nonexistent/disk.img" <<<"$out"; then ok "missing disk is reported by name"; else not_ok "missing disk is reported by name ($rc: $out)"; fi

# On a PVM host a real kernel cannot boot: fail fast with a clear message.
if [ -d /sys/module/kvm_pvm ]; then
  kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
  out=$(timeout 20 "$VESSEL" vm run --kernel "${kernel:-/nonexistent}" </dev/null 2>&1); rc=$?
  if [ "$rc" = 1 ] && grep -q "PVM" <<<"$out"; then ok "PVM host: vm run refuses a kernel with a clear message"
  else not_ok "PVM host: vm run refuses a kernel with a clear message ($rc: $out)"; fi
else
  skip "PVM fail-fast" "not a PVM host"
fi
