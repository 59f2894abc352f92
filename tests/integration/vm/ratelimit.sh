#!/usr/bin/env bash
# A Linux guest booted through the API with exactly the request sequence of
# Firecracker's Go SDK (its default handlers: the socket probe GET
# /machine-config, PUT /logger and /metrics on FIFOs it reads, PUT
# /machine-config, GET /machine-config, PUT /boot-source, PUT /drives/{id},
# PUT /network-interfaces/{id}, PUT /vsock, PUT /mmds/config, PUT /mmds, PUT /actions
# InstanceStart), to its shell on the serial console. Then, driving that
# shell: a drive limited to 2 MiB/s reads 8 MiB at that rate (within 10%,
# as issue 7 asks), PATCH /drives changes the rate live (4 MiB/s, then no
# limit) and swaps the backing file (the guest sees the new size and
# data); the interface's tx limit (256 KiB/s) holds for a TCP stream to
# the host, and goes live; FlushMetrics writes a metrics line with the devices' counters; the
# log FIFO has the requests; bad bodies get 400 with a fault_message.
# Run by 20_vm_ring3.sh where there is a usable /dev/kvm, with
# GUEST_INITRD (tests/vmhost/mkinitramfs-guest) built beforehand.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/vmhost/initramfs.sh"
: "${GUEST_INITRD:?the guest initramfs (tests/vmhost/mkinitramfs-guest)}"
vmhost_kernel || { not_ok "rate limits: a kernel for the guest"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null && command -v python3 >/dev/null ||
  { not_ok "rate limits: need curl, jq and python3 (scripts/setup.sh installs them)"; exit 0; }

SOCK=$TMP/fc.sock API_SOCK=$TMP/fc.sock
console() { tr -d '\r' <"$TMP/console.log"; }
# gsh CMD: type CMD into the guest's shell, then wait (60 s) until it has
# run: the marker's echo prints the number, the typed line only the sum.
n=0
gsh() {
  n=$((n + 1))
  printf '%s; echo "done-$((%d + 1000))"\n' "$1" "$n" >&9
  for _ in $(seq 600); do console | grep -qx "done-$((n + 1000))" && return 0; sleep 0.1; done
  return 1
}
# rate NAME: the guest's "NAME t0 t1" line -> bytes/s for 8 MiB.
rate() {
  console | awk -v n="$1" '$1 == n && $2 ~ /^[0-9.]+$/ { printf "%d", 8388608 / ($3 - $2) }' | tail -1
}
# within NAME RATE WANT CAP: RATE is at most WANT + 10% (what the limiter
# guarantees), and at least WANT - 10% when the same path unthrottled (CAP,
# measured right after) has room above the limit. The nested host shares a
# loaded CPU with everything else on the machine; where it cannot even
# carry 1.5x the limit, only the ceiling is checked, and the line says so.
within() {
  local name=$1 got=$2 want=$3 cap=$4
  if [ -z "$got" ] || [ "$got" -gt $((want * 110 / 100)) ]; then
    not_ok "$name: ${got:-no figure} bytes/s, more than the limit $want + 10%"; console | tail -n 15 | sed 's/^/# /'
  elif [ -n "$cap" ] && [ "$cap" -ge $((want * 3 / 2)) ]; then
    if [ "$got" -ge $((want * 90 / 100)) ]; then ok "$name: $got bytes/s (limit $want +-10%; unthrottled $cap)"
    else not_ok "$name: $got bytes/s, less than the limit $want - 10% (unthrottled $cap)"; fi
  else
    ok "$name: $got bytes/s, not above the limit $want (unthrottled only ${cap:-?} here: the floor is not checked)"
  fi
}
# dd_rate NAME: the guest reads 8 MiB of the drive: four readers of 2 MiB
# each (direct I/O, 64 KiB requests, under the bucket size), so requests are
# waiting whenever the limiter lets some through and the rate is the
# limiter's, not one reader's round trip. The readers are forked first and
# wait on a FIFO: the clock starts when they are let go.
dd_rate() {
  gsh "rm -f /tmp/go; mkfifo /tmp/go; exec 3<>/tmp/go; for i in 0 1 2 3; do (read x </tmp/go; dd if=/dev/vda of=/dev/null bs=65536 count=32 skip=\$((i * 32)) iflag=direct 2>/dev/null) & done; sleep 1; t0=\$(cut -d' ' -f1 /proc/uptime); printf 'g\\ng\\ng\\ng\\n' >&3; wait; exec 3>&-; echo $1 \$t0 \$(cut -d' ' -f1 /proc/uptime)"
}

truncate -s 64M "$TMP/data.img"
{ printf 'swapped-image-marker'; head -c 1000000 /dev/zero; } >"$TMP/swap.img"
truncate -s 32M "$TMP/swap.img"
ip tuntap add dev rltap0 mode tap || { not_ok "rate limits: create a tap"; exit 0; }
on_exit "ip link del rltap0"
ip addr add 172.31.0.1/24 dev rltap0 && ip link set rltap0 up
# The SDK's CreateLogFilesHandler: FIFOs, which the client reads.
mkfifo "$TMP/log.fifo" "$TMP/metrics.fifo" "$TMP/in"
cat "$TMP/log.fifo" >"$TMP/log.txt" &
on_exit "kill $!"
cat "$TMP/metrics.fifo" >"$TMP/metrics.txt" &
on_exit "kill $!"

"$VESSEL" vm run --api-sock "$SOCK" <"$TMP/in" >"$TMP/console.log" 2>"$TMP/vmm.err" &
vm=$!
exec 9>"$TMP/in"
on_exit "kill $vm 2>/dev/null"

# ---- The Go SDK's sequence, request for request.
for _ in $(seq 300); do [ "$(api GET /machine-config | tail -1)" = 200 ] && break; sleep 0.01; done
sdk=0
expect_status "SDK: PUT /logger (FIFO)" 204 PUT /logger \
  "{\"level\":\"Debug\",\"log_path\":\"$TMP/log.fifo\",\"show_level\":true,\"show_log_origin\":false}" || sdk=1
expect_status "SDK: PUT /metrics (FIFO)" 204 PUT /metrics "{\"metrics_path\":\"$TMP/metrics.fifo\"}" || sdk=1
expect_status "SDK: PUT /machine-config" 204 PUT /machine-config '{"mem_size_mib":256,"smt":false,"vcpu_count":1}' || sdk=1
check "SDK: GET /machine-config after the PUT" jq -e '.mem_size_mib == 256 and .vcpu_count == 1' \
  <<<"$(api GET /machine-config | head -1)"
expect_status "SDK: PUT /boot-source" 204 PUT /boot-source \
  "{\"boot_args\":\"console=ttyS0 reboot=k panic=1 pci=off -- sh\",\"initrd_path\":\"$GUEST_INITRD\",\"kernel_image_path\":\"$KERNEL\"}" || sdk=1
expect_status "SDK: PUT /drives/data with a 2 MiB/s rate limiter" 204 PUT /drives/data \
  "{\"drive_id\":\"data\",\"is_read_only\":false,\"is_root_device\":false,\"path_on_host\":\"$TMP/data.img\",\"rate_limiter\":{\"bandwidth\":{\"refill_time\":125,\"size\":262144}}}" || sdk=1
expect_status "SDK: PUT /network-interfaces/1 with a 256 KiB/s tx limiter" 204 PUT /network-interfaces/1 \
  '{"guest_mac":"06:00:AC:10:00:02","host_dev_name":"rltap0","iface_id":"1","tx_rate_limiter":{"bandwidth":{"refill_time":125,"size":32768}}}' || sdk=1
expect_status "SDK: PUT /vsock" 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$TMP/v.sock\",\"vsock_id\":\"vsock0\"}" || sdk=1
expect_status "SDK: PUT /mmds/config" 204 PUT /mmds/config '{"network_interfaces":["1"]}' || sdk=1
expect_status "SDK: PUT /mmds" 204 PUT /mmds '{"latest":{"meta-data":{"instance-id":"i-vessel","local-ipv4":"172.31.0.2"}}}' || sdk=1
expect_status "SDK: PUT /actions InstanceStart" 204 PUT /actions '{"action_type":"InstanceStart"}' || sdk=1
for _ in $(seq 1200); do console | grep -q "vessel-guest: userspace up" && break; sleep 0.1; done
if [ $sdk = 0 ] && gsh "echo shell-\$((6 * 7))" && console | grep -qx "shell-42"; then
  ok "the Go SDK's request sequence boots Linux to its shell"
else
  not_ok "the Go SDK's request sequence boots Linux to its shell"; console | tail -n 20 | sed 's/^/# /'
  tail -n 5 "$TMP/vmm.err" | sed 's/^/# vmm: /'; exit 0
fi
gsh "for i in \$(seq 50); do [ -e /dev/vda ] && [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done"
check "GET /mmds returns what the SDK put" jq -e '.latest["meta-data"]["instance-id"] == "i-vessel"' <<<"$(api GET /mmds | head -1)"
check "GET /vm/config shows the drive's rate limiter" \
  jq -e '.drives[0].rate_limiter.bandwidth.size == 262144 and .["mmds-config"].network_interfaces == ["1"]' \
  <<<"$(api GET /vm/config | head -1)"

# ---- Drive bandwidth: 2 MiB/s, then 4 MiB/s live, then no limit.
dd_rate R1
expect_status "PATCH /drives/data: 4 MiB/s" 204 PATCH /drives/data \
  '{"drive_id":"data","rate_limiter":{"bandwidth":{"size":524288,"refill_time":125}}}'
dd_rate R2
expect_status "PATCH /drives/data: bandwidth limit removed" 204 PATCH /drives/data \
  '{"drive_id":"data","rate_limiter":{"bandwidth":{"size":0,"refill_time":0}}}'
dd_rate R3
r3=$(rate R3)
within "drive limited to 2 MiB/s reads 8 MiB at that rate" "$(rate R1)" 2097152 "$r3"
within "after PATCH the same drive reads at the new limit (4 MiB/s)" "$(rate R2)" 4194304 "$r3"
r2=$(rate R2)
if [ -n "$r3" ] && [ -n "$r2" ] && [ "$r3" -gt $((r2 * 11 / 10)) ]; then ok "without the limit it reads faster: $r3 bytes/s"
else not_ok "without the limit it reads faster (${r3:-no figure} bytes/s, limited: ${r2:-?})"; fi
check "GET /vm/config: no rate limiter on the drive any more" jq -e '.drives[0] | has("rate_limiter") | not' \
  <<<"$(api GET /vm/config | head -1)"

# ---- Swap the backing file live (config-change interrupt, new capacity).
expect_status "PATCH /drives/data path_on_host" 204 PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/swap.img\"}"
gsh "for i in \$(seq 50); do [ \$(cat /sys/block/vda/size) = 65536 ] && break; sleep 0.1; done; echo size-\$(cat /sys/block/vda/size); dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | head -c 20; echo"
check "the guest sees the swapped file's size" bash -c "tr -d '\r' <'$TMP/console.log' | grep -qx size-65536"
check "the guest reads the swapped file's data" bash -c "tr -d '\r' <'$TMP/console.log' | grep -q '^swapped-image-marker'"

# ---- Net tx: 256 KiB/s for 1 MiB of TCP from the guest to the host, then
# with the limit removed live (the nested host's emulated CPU itself
# carries well under 1 MiB/s of small frames, so the limit stays below it).
python3 - 172.31.0.1 >"$TMP/rx.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(90)
print("listening", flush=True)
for run in range(2):
    c, _ = s.accept(); c.settimeout(30)
    got, t0, want = 0, None, 1 << 20
    while got < want:
        b = c.recv(65536)
        if not b: break
        if t0 is None: t0 = time.monotonic()
        got += len(b)
    t1 = time.monotonic()
    print("RX%d" % run, got, int(got / (t1 - t0)) if t0 and t1 > t0 else 0, flush=True)
    c.close()
PY
rx=$!
for _ in $(seq 300); do grep -q listening "$TMP/rx.out" && break; sleep 0.1; done
send="dd if=/dev/zero bs=1024 count=1024 2>/dev/null | nc -w 5 172.31.0.1 5001"
gsh "ip addr add 172.31.0.2/24 dev eth0; ip link set eth0 up; $send"
txr=$(awk '$1 == "RX0" && $2 >= 1048576 { print $3 }' "$TMP/rx.out")
expect_status "PATCH /network-interfaces/1: tx limit removed live" 204 PATCH /network-interfaces/1 \
  '{"iface_id":"1","tx_rate_limiter":{"bandwidth":{"size":0,"refill_time":0}}}'
gsh "$send"
wait $rx
tx2=$(awk '$1 == "RX1" && $2 >= 1048576 { print $3 }' "$TMP/rx.out")
within "interface tx limited to 256 KiB/s: a TCP stream to the host gets that" "$txr" 262144 "$tx2"
check "the stream without the tx limit got through too" test -n "$tx2"
[ -n "$tx2" ] && [ -n "$txr" ] || sed 's/^/# rx: /' "$TMP/rx.out"
expect_status "PATCH /network-interfaces/1: an rx ops limit live" 204 PATCH /network-interfaces/1 \
  '{"iface_id":"1","rx_rate_limiter":{"ops":{"size":1000,"refill_time":100}}}'
gsh "ping -c 2 -W 2 172.31.0.1 >/dev/null && echo ping-ok"
check "the guest still reaches the host with an rx limit" bash -c "tr -d '\r' <'$TMP/console.log' | grep -qx ping-ok"

# ---- Refusals: 400 + fault_message, nothing changed.
expect_status "PATCH an unknown drive" 400 PATCH /drives/nope '{"drive_id":"nope","path_on_host":"/x"}'
expect_status "PATCH a drive with a field PartialDrive lacks" 400 PATCH /drives/data '{"drive_id":"data","is_read_only":true}'
expect_status "PATCH a drive with a token bucket lacking refill_time" 400 PATCH /drives/data \
  '{"drive_id":"data","rate_limiter":{"bandwidth":{"size":100}}}'
expect_status "PATCH a drive to a missing file" 400 PATCH /drives/data '{"drive_id":"data","path_on_host":"/nonexistent.img"}'
expect_status "PATCH an interface with a bad limiter" 400 PATCH /network-interfaces/1 '{"iface_id":"1","rx_rate_limiter":{"bandwidth":7}}'
expect_status "PUT /mmds/config after boot" 400 PUT /mmds/config '{"network_interfaces":["1"]}'
expect_status "a second PUT /metrics" 400 PUT /metrics "{\"metrics_path\":\"$TMP/m2\"}"

# ---- Metrics and log.
expect_status "PUT /actions FlushMetrics" 204 PUT /actions '{"action_type":"FlushMetrics"}'
sleep 0.5
# Lines carry the change since the line before: sum them.
sums=$(jq -sc '{lines: length, read: (map(.block_data.read_bytes) | add), tx: (map(.net_1.tx_bytes_count) | add),
                throttled: (map(.block_data.rate_limiter_throttled_events + .net_1.tx_rate_limiter_throttled) | add),
                mmio: (map(.vcpu.exit_mmio_write) | add), patches: (map(.patch_api_requests.drive_count) | add)}' \
       "$TMP/metrics.txt" 2>&1)
if jq -e '.lines >= 1 and .read >= 3 * 8388608 and .tx >= 2097152 and (.throttled | type) == "number" and
          .mmio > 0 and .patches >= 3' >/dev/null 2>&1 <<<"$sums"; then
  ok "FlushMetrics writes JSON lines: drive and net bytes, throttled events, vCPU exits, API requests ($sums)"
else not_ok "FlushMetrics writes JSON lines with the counters ($sums)"; tail -c 600 "$TMP/metrics.txt" | sed 's/^/# /'; fi
check "the log FIFO has the requests, with their level" grep -q ':INFO\] The API server received a Patch request on "/drives/data"' "$TMP/log.txt"
check "the log FIFO has the refusals" grep -q ':ERROR\] Received Error. Status code: 400' "$TMP/log.txt"

printf 'poweroff -f\n' >&9
wait $vm; rc=$?
check "the guest powers off, vessel exits 0" test "$rc" = 0
check "a last metrics line at exit" test "$(wc -l <"$TMP/metrics.txt")" -ge 2
