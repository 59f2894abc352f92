#!/usr/bin/env bash
# virtio-vsock and virtio-balloon with a real Linux guest (the test
# initramfs, job "devices" of tests/vmhost/guest-init), booted once with
# `--vsock 3:UDS --balloon 0,deflate-on-oom,stats=1 --api-sock`:
#  - vsock, Firecracker's host side: the host CONNECTs to a guest echo
#    server on port 5000 through uds_path and gets 4 MiB back intact; the
#    guest sends 4 MiB to host port 6000 (a listener on uds_path_6000) and
#    gets it back intact; a guest port nobody listens on closes the host's
#    connection without "OK"; a host port nobody listens on is refused.
#  - balloon: the guest touches most of its 256 MiB and frees it; PATCH
#    /balloon to 128 MiB makes the VMM's RSS (VmRSS) fall by at least
#    72 MiB (measured 90-99: the balloon also takes some of the pages the
#    guest never touched, which were never resident); statistics carry the guest's numbers; deflating back to 0
#    works; bad bodies get 400 with a fault_message.
# Needs a KVM that boots Linux: run by 20_vm_ring3.sh in the nested test
# host (or directly on hardware KVM), with GUEST_INITRD built outside.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/vmhost/initramfs.sh"
: "${GUEST_INITRD:?the guest initramfs (tests/vmhost/mkinitramfs-guest)}"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"
vmhost_kernel || { not_ok "devices: no guest kernel"; exit 0; }
command -v python3 >/dev/null && command -v curl >/dev/null && command -v jq >/dev/null ||
  { not_ok "devices: needs python3, curl and jq (scripts/setup.sh installs them)"; exit 0; }

UDS=$TMP/v.sock API_SOCK=$TMP/api.sock LOG=$TMP/devices.out
# wait_line KEY [SECONDS]: the guest's "vm-check: KEY: ..." line (its value).
wait_line() {
  local i
  for ((i = 0; i < ${2:-300} * 10; i++)); do
    grep -a "^vm-check: $1: " "$LOG" 2>/dev/null | head -1 | sed "s/^vm-check: $1: //" | tr -d '\r' | grep . && return 0
    kill -0 "$vm" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$vm/status"; }
balloon_stat() { api GET /balloon/statistics | head -1 | jq -r ".$1 // empty"; }

# uds_path must not exist (as with Firecracker): the VM does not start, the file is left alone.
: >"$TMP/taken.sock"
out=$(timeout 60 "$VESSEL" vm run --ring3 "$GUESTS/hello.bin" --memory 32M --vsock "3:$TMP/taken.sock" </dev/null 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "listen on $TMP/taken.sock: Address already in use" <<<"$out" && [ -f "$TMP/taken.sock" ]; then
  ok "devices: an existing uds_path is refused and left alone"
else not_ok "devices: an existing uds_path is refused and left alone (rc $rc: $out)"; fi

# Host side of guest-initiated connections: an echo server on uds_path_6000.
python3 - "${UDS}_6000" >"$TMP/echo.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    c.sendall(b); n += len(b)
c.close(); print("echoed", n)
PY
echo_pid=$!
on_exit "kill $echo_pid 2>/dev/null"
wait_sock "${UDS}_6000" 5

# No `timeout` in between: $vm must be the VMM itself (its VmRSS is measured).
"$VESSEL" vm run --kernel "$KERNEL" --initrd "$GUEST_INITRD" --memory 256M --cmdline "vtest=devices" \
  --vsock "3:$UDS" --balloon 0,deflate-on-oom,stats=1 --api-sock "$API_SOCK" </dev/null >"$LOG" 2>"$TMP/devices.err" &
vm=$!
on_exit "kill $vm 2>/dev/null"
(sleep 600; kill "$vm" 2>/dev/null) &   # a deadline for a hung guest, not a timing check
on_exit "kill $! 2>/dev/null"

if ! wait_line vsock-listening >/dev/null; then
  not_ok "devices: the guest reached its vsock checks"; tail -n 30 "$LOG" "$TMP/devices.err" | sed 's/^/# /'; exit 0
fi
ok "devices: the guest sees the vsock device (/dev/vsock)"
check "devices: uds_path is a listening socket" test -S "$UDS"

# Host -> guest: CONNECT 5000, 4 MiB through the guest's echo server.
out=$(timeout 300 python3 - "$UDS" <<'PY'
import hashlib, os, socket, sys, threading, time
def connect(port):
    for _ in range(50):                      # the guest's listener may still be starting
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b: break
            line += b
        if line.startswith(b"OK "): return s, line
        s.close(); time.sleep(0.2)
    sys.exit("no OK for port %d" % port)
s, line = connect(5000)
data = os.urandom(4 << 20)
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
back = bytearray()
while True:
    b = s.recv(65536)
    if not b: break
    back += b
t.join()
print(line.decode().strip(), len(back), hashlib.sha256(data).hexdigest() == hashlib.sha256(back).hexdigest())
# A guest port nobody listens on: the guest resets, the host sees EOF, no OK.
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"CONNECT 7777\n")
print("refused" if s.recv(16) == b"" else "answered")
PY
)
if grep -qE '^OK [0-9]+ 4194304 True$' <<<"$out"; then ok "devices: vsock host->guest: CONNECT 5000 answered OK, 4 MiB echoed intact"
else not_ok "devices: vsock host->guest: CONNECT 5000, 4 MiB echoed intact ($out)"; fi
if grep -qx refused <<<"$out"; then ok "devices: vsock CONNECT to a port nobody listens on is closed without OK"
else not_ok "devices: vsock CONNECT to a port nobody listens on is closed without OK ($out)"; fi

# Guest -> host: 4 MiB to uds_path_6000 and back.
sent=$(wait_line vsock-out) back=$(wait_line vsock-back)
if [ -n "$sent" ] && [ "$back" = "$sent 4194304 bytes" ]; then ok "devices: vsock guest->host: 4 MiB to uds_path_6000 and back intact"
else not_ok "devices: vsock guest->host: 4 MiB to uds_path_6000 and back intact (sent $sent, back $back; host: $(cat "$TMP/echo.out"))"; fi
r=$(wait_line vsock-refused)
if [[ $r == ok* ]]; then ok "devices: vsock guest connection to a host port nobody listens on is refused"
else not_ok "devices: vsock guest connection to a host port nobody listens on is refused ($r)"; fi
r=$(wait_line vsock-listen)
check "devices: the guest's echo server saw the whole 4 MiB" test "$r" = "echoed 4194304 bytes"

# Balloon: API shapes first.
expect_status "devices: PUT /balloon after start is refused" 400 PUT /balloon '{"amount_mib": 1, "deflate_on_oom": false}'
expect_status "devices: PUT /vsock after start is refused" 400 PUT /vsock "{\"guest_cid\": 4, \"uds_path\": \"$TMP/w.sock\"}"
expect_status "devices: PATCH /balloon beyond guest memory is refused" 400 PATCH /balloon '{"amount_mib": 1024}'
expect_status "devices: PATCH /balloon with an unknown field is refused" 400 PATCH /balloon '{"amount_mib": 1, "x": 1}'
expect_status "devices: PATCH /balloon/statistics cannot turn statistics off" 400 PATCH /balloon/statistics '{"stats_polling_interval_s": 0}'
expect_status "devices: PATCH /balloon/statistics to 2 s" 204 PATCH /balloon/statistics '{"stats_polling_interval_s": 2}'
cfg=$(api GET /balloon | head -1)
check "devices: GET /balloon shows the configuration" jqt '.amount_mib == 0 and .deflate_on_oom == true and .stats_polling_interval_s == 2' <<<"$cfg"

if ! wait_line balloon-ready >/dev/null; then
  not_ok "devices: the guest touched its memory"; tail -n 20 "$LOG" | sed 's/^/# /'; exit 0
fi
before=$(rss_kib)
expect_status "devices: PATCH /balloon to 128 MiB" 204 PATCH /balloon '{"amount_mib": 128}'
for _ in $(seq 1200); do [ "$(balloon_stat actual_mib)" = 128 ] && break; sleep 0.1; done
after=$(rss_kib)
echo "# balloon: VmRSS ${before} kB before inflating, ${after} kB with 128 MiB in the balloon ($(( (before - after) / 1024 )) MiB returned)"
check "devices: the balloon reached 128 MiB (actual_mib)" test "$(balloon_stat actual_mib)" = 128
check "devices: inflating 128 MiB made the VMM's RSS fall by at least 72 MiB" test $((before - after)) -ge $((72 * 1024))
st=$(api GET /balloon/statistics | head -1)
echo "# balloon statistics: $st"
check "devices: GET /balloon/statistics has Firecracker's fields with the guest's numbers" jqt \
  '.target_pages == 32768 and .target_mib == 128 and .actual_pages == 32768 and
   (.total_memory > 200000000) and (.free_memory > 0) and (.available_memory > 0)' <<<"$st"
expect_status "devices: PATCH /balloon back to 0 (deflate)" 204 PATCH /balloon '{"amount_mib": 0}'
for _ in $(seq 1200); do [ "$(balloon_stat actual_mib)" = 0 ] && break; sleep 0.1; done
check "devices: the balloon deflated (actual_mib 0)" test "$(balloon_stat actual_mib)" = 0

# Done: a second host-initiated connection tells the guest to power off.
python3 - "$UDS" <<'PY'
import socket, sys, time
for _ in range(50):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"CONNECT 5001\n")
    if s.recv(3) == b"OK ": break
    s.close(); time.sleep(0.2)
PY
wait "$vm"; rc=$?
check "devices: the guest powered off after the checks (exit 0)" \
  bash -c "[ $rc = 0 ] && grep -aq '^vm-check: balloon-done' '$LOG'"
[ "$rc" = 0 ] || tail -n 20 "$LOG" "$TMP/devices.err" | sed 's/^/# /'
