#!/usr/bin/env bash
# Firecracker's API on `vessel vm run --api-sock`: a ring-3 guest (the
# ticker, tests/guests/ticker.c) booted with the getting-started guide's curl
# sequence (machine-config, boot-source, drives/rootfs, network-interfaces,
# actions InstanceStart; boot-source carries vessel's extension field
# "vessel_ring3": true), the instance state through GET /, PATCH /vm
# Paused/Resumed (the guest's output stops, then goes on), pre-boot-only
# resources refused after start, bad requests answered 400 with a
# fault_message, SendCtrlAltDel, and --config-file --no-api. Run by
# 20_vm_ring3.sh where there is a usable /dev/kvm (directly, or in the
# nested test host), with the guests already built in $GUESTS.
source "$(dirname "$0")/lib.sh"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"
command -v curl >/dev/null || { not_ok "API tests need curl (scripts/setup.sh installs it)"; exit 0; }

SOCK=$TMP/fc.sock API_SOCK=$TMP/fc.sock
state() { api GET / | head -1 | jq -r .state; }
lines() { grep -c '^tick ' "$TMP/api.out"; }
# wait_for N: until the guest printed more than N ticks (at most 60 s).
wait_for() { for _ in $(seq 600); do [ "$(lines)" -gt "$1" ] && return 0; sleep 0.1; done; return 1; }

ns=vs-api-$$
ip netns add "$ns" || { not_ok "create netns for the API test"; exit 0; }
on_exit "ip netns del $ns"
truncate -s 1M "$TMP/rootfs.img"
ip netns exec "$ns" "$VESSEL" vm run --api-sock "$SOCK" </dev/null >"$TMP/api.out" 2>"$TMP/api.err" &
vm=$!
on_exit "kill $vm 2>/dev/null"
wait_sock "$SOCK"

check "GET / before boot: state Not started" test "$(state)" = "Not started"
info=$(api GET / | head -1)
[ -n "$info" ] || info=null
check "GET / names the app and its version" jqt '.app_name == "vessel" and (.vmm_version | length > 0) and (.id | length > 0)' <<<"$info"
expect_status "InstanceStart without a boot source is refused" 400 PUT /actions '{"action_type": "InstanceStart"}'

# The getting-started sequence: logger first, then the machine.
expect_status "PUT /logger" 204 PUT /logger \
  "{\"log_path\": \"$TMP/fc.log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}"
expect_status "PUT /machine-config" 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "smt": false}'
expect_status "PUT /boot-source (ring-3 guest)" 204 PUT /boot-source \
  "{\"kernel_image_path\": \"$GUESTS/ticker.bin\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\", \"vessel_ring3\": true}"
expect_status "PUT /drives/rootfs" 204 PUT /drives/rootfs \
  "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/rootfs.img\", \"is_root_device\": true, \"is_read_only\": false}"
expect_status "PUT /network-interfaces/net1" 204 PUT /network-interfaces/net1 \
  '{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "fctap0"}'
cfg=$(api GET /vm/config | head -1)
[ -n "$cfg" ] || cfg=null
check "GET /vm/config shows what was put" jqt --arg k "$GUESTS/ticker.bin" \
  '.["boot-source"].kernel_image_path == $k and .["machine-config"].mem_size_mib == 64 and
   .drives[0].drive_id == "rootfs" and .drives[0].is_root_device and
   .["network-interfaces"][0].guest_mac == "06:00:ac:10:00:02"' <<<"$cfg"
expect_status "PUT /actions InstanceStart" 204 PUT /actions '{"action_type": "InstanceStart"}'
check "GET / after start: state Running" test "$(state)" = "Running"
if wait_for 2; then ok "the guest runs (its output reaches stdout)"
else not_ok "the guest runs (its output reaches stdout)"; tail -n 5 "$TMP/api.err" "$TMP/api.out" | sed 's/^/# /'; fi

# Pause: guest execution stops; resume: it goes on.
expect_status "PATCH /vm Paused" 204 PATCH /vm '{"state": "Paused"}'
check "GET / while paused: state Paused" test "$(state)" = "Paused"
n=$(lines); sleep 2
if [ "$(lines)" = "$n" ]; then ok "no guest output while paused"; else not_ok "no guest output while paused ($n then $(lines) ticks)"; fi
expect_status "PATCH /vm Paused again is fine" 204 PATCH /vm '{"state": "Paused"}'
expect_status "PATCH /vm Resumed" 204 PATCH /vm '{"state": "Resumed"}'
check "GET / after resume: state Running" test "$(state)" = "Running"
check "the guest's output goes on after resume" wait_for $((n + 2))
check "the ticks go on from where they stopped (no restart)" \
  bash -c "test \$(grep -c '^ticker up' '$TMP/api.out') = 1"

# Pre-boot-only resources, and bad requests.
expect_status "PUT /boot-source after start is refused" 400 PUT /boot-source "{\"kernel_image_path\": \"$GUESTS/hello.bin\"}"
expect_status "PUT /machine-config after start is refused" 400 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
expect_status "PUT /drives after start is refused" 400 PUT /drives/d2 "{\"drive_id\": \"d2\", \"path_on_host\": \"$TMP/rootfs.img\", \"is_root_device\": false}"
expect_status "a second InstanceStart is refused" 400 PUT /actions '{"action_type": "InstanceStart"}'
expect_status "unknown field is refused" 400 PATCH /vm '{"state": "Paused", "when": "now"}'
expect_status "unknown state is refused" 400 PATCH /vm '{"state": "Frozen"}'
expect_status "malformed JSON is refused" 400 PATCH /vm '{"state": '
expect_status "unknown action is refused" 400 PUT /actions '{"action_type": "Explode"}'
expect_status "FlushMetrics before PUT /metrics is refused" 400 PUT /actions '{"action_type": "FlushMetrics"}'
expect_status "unknown path is refused" 400 PUT /no-such-path '{"x": 1}'
out=$(curl -s --unix-socket "$SOCK" -X PUT -H 'Transfer-Encoding: chunked' --data '{"state": "Paused"}' -w '\n%{http_code}' http://localhost/vm)
if [ "${out##*$'\n'}" = 400 ] && grep -q chunked <<<"$out"; then ok "chunked request body is refused"; else not_ok "chunked request body is refused ($out)"; fi
out=$(printf 'PATCH /vm HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 10 python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.recv(4096).decode())" "$SOCK")
if grep -q '^HTTP/1.1 400' <<<"$out" && grep -q Content-Length <<<"$out"; then ok "a body without Content-Length is refused"
else not_ok "a body without Content-Length is refused ($out)"; fi
check "the guest still runs after the bad requests" test "$(state)" = "Running"
check "the logger file has the requests (level and origin shown)" \
  grep -qE '^[0-9T:.-]+ \[anonymous-instance:fc_api:INFO:[^]]+:[0-9]+\] The API server received a Put request on "/actions"\.' "$TMP/fc.log"

# SendCtrlAltDel: the ticker sees Del on the i8042 and resets -> exit 0.
expect_status "PUT /actions SendCtrlAltDel" 204 PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait "$vm"; rc=$?
if [ "$rc" = 0 ] && grep -q "ctrl-alt-del" "$TMP/api.out"; then ok "SendCtrlAltDel reaches the guest, which resets (exit 0)"
else not_ok "SendCtrlAltDel reaches the guest, which resets (exit 0) (got $rc)"; tail -3 "$TMP/api.err" | sed 's/^/# /'; fi

# --config-file FILE --no-api: Firecracker's JSON, booted without API calls.
cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUESTS/hello.bin", "vessel_ring3": true},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
 "drives": [{"drive_id": "rootfs", "path_on_host": "$TMP/rootfs.img", "is_root_device": true, "is_read_only": true}]}
JSON
out=$(printf 'x\n' | timeout 60 "$VESSEL" vm run --config-file "$TMP/vm.json" --no-api 2>&1); rc=$?
if [ "$rc" = 0 ] && grep -q "ram=0000000002000000 virtio=0000000000000002" <<<"$out"; then
  ok "--config-file --no-api boots the machine the file describes"
else not_ok "--config-file --no-api boots the machine the file describes (rc $rc: $out)"; fi
echo '{"boot-source": {"kernel_image_path": "x"}, "logger": {}}' >"$TMP/bad.json"
out=$(timeout 30 "$VESSEL" vm run --config-file "$TMP/bad.json" --no-api 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q 'section "logger" is not supported' <<<"$out"; then ok "--config-file with an unsupported section says so"
else not_ok "--config-file with an unsupported section says so (rc $rc: $out)"; fi
