#!/usr/bin/env bash
# virtio devices end to end under KVM: ring-3 guests (tests/guests/virtio_*.c)
# drive virtio-rng, virtio-blk and virtio-net through real virtqueues by
# polling, and a hostile guest feeds broken chains that must be refused
# (DEVICE_NEEDS_RESET) without hurting the VMM. Run by 20_vm_ring3.sh where
# there is a usable /dev/kvm (directly, or in the nested test host), with
# the guests already built in $GUESTS.
source "$(dirname "$0")/../../lib.sh"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"

# run_guest NAME ARGS...: run $GUESTS/NAME.bin, output in $TMP/NAME.out, returns its status.
run_guest() {
  local name=$1; shift
  timeout 60 "$VESSEL" vm run --ring3 "$GUESTS/$name.bin" --memory 64M "$@" </dev/null >"$TMP/$name.out" 2>&1
}

# expect_ok NAME ARGS...: guest must exit 0 and print "<device> ok".
expect_ok() {
  local name=$1 marker=$2; shift 2
  run_guest "$name" "$@"
  local rc=$?
  if [ $rc -eq 0 ] && grep -q "$marker" "$TMP/$name.out"; then
    ok "$name guest ($marker)"
  else
    sed 's/^/# /' "$TMP/$name.out"; not_ok "$name guest exited $rc"
  fi
}

expect_ok virtio_rng "virtio-rng ok"
expect_ok virtio_hostile "virtio-hostile ok"

# virtio-blk: 1 MiB image whose first 4 KiB hold (i*7+3) & 0xff.
img=$TMP/disk.img
perl -e 'print map { chr(($_ * 7 + 3) & 255) } 0..4095' >"$img"
truncate -s 1M "$img"
cp "$img" "$TMP/ro.img"
mkdir "$TMP/rl" && cp "$img" "$TMP/rl/disk.img" # same name: the guest checks GET_ID
expect_ok virtio_blk "virtio-blk ro ok" --disk "$TMP/ro.img,ro"
check "read-only disk unchanged" cmp -s "$img" "$TMP/ro.img"
expect_ok virtio_blk "virtio-blk ok" --disk "$img"
want=$(perl -e 'print map { chr(($_ ^ 0x5a) & 255) } 0..511' | od -An -tx1 | tr -d ' \n')
got=$(dd if="$img" bs=512 skip=8 count=1 status=none | od -An -tx1 | tr -d ' \n')
check "virtio-blk guest write reached the image" test "$want" = "$got"
# The same guest on a disk limited to 20 requests/s (--disk ...,iops=):
# held requests complete later, from the device's timer, and all is well.
run_guest virtio_blk --disk "$TMP/rl/disk.img,iops=20"; rc=$?
if [ $rc -eq 0 ] && grep -q "virtio-blk ok" "$TMP/virtio_blk.out"; then ok "virtio_blk guest on a rate-limited disk (--disk PATH,iops=20)"
else sed 's/^/# /' "$TMP/virtio_blk.out"; not_ok "virtio_blk guest on a rate-limited disk exited $rc"; fi

# virtio-net: the VM and a tiny host peer share a private network namespace.
if ! command -v python3 >/dev/null || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
  not_ok "virtio_net guest: needs python3, iproute2 and /dev/net/tun (scripts/setup.sh installs them)"; exit 0
fi
ns=vs-virtio-$$
ip netns add "$ns" || { not_ok "create netns"; exit 0; }
on_exit "ip netns del $ns"
ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
ip netns exec "$ns" timeout 60 "$VESSEL" vm run --ring3 "$GUESTS/virtio_net.bin" --memory 64M \
  --net tap=vstap0 </dev/null >"$TMP/virtio_net.out" 2>&1 &
vm=$!
on_exit "kill $vm"
ip netns exec "$ns" python3 - vstap0 >"$TMP/peer.out" 2>&1 <<'PY'
# Host peer: wait for the guest's hello, send "ping:", expect "pong:" back.
import socket, sys, time, os
tap = sys.argv[1]
ETH = 0x88b5
deadline = time.time() + 50
while not os.path.exists(f"/sys/class/net/{tap}"):
    if time.time() > deadline: sys.exit("tap never appeared")
    time.sleep(0.05)
os.system(f"ip link set {tap} up")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH))
s.bind((tap, ETH))
s.settimeout(1)
guest = None
token = b"ping:vessel-1234"
while time.time() < deadline:
    try:
        frame = s.recv(2048)
    except socket.timeout:
        continue
    payload = frame[14:]
    if payload.startswith(b"vessel-guest-hello"):
        guest = frame[6:12]
        s.send(guest + b"\x02\x00\x00\x00\x00\x01" + ETH.to_bytes(2, "big") + token.ljust(46, b"\0"))
    elif payload.startswith(b"pong:") and payload[5:16] == token[5:16]:
        print("pong received")
        sys.exit(0)
sys.exit("no pong (guest seen: %s)" % (guest is not None))
PY
peer=$?
wait $vm; rc=$?
if [ $peer -eq 0 ] && [ $rc -eq 0 ] && grep -q "virtio-net ok" "$TMP/virtio_net.out"; then
  ok "virtio_net guest (ping/pong through the tap)"
else
  sed 's/^/# vm: /' "$TMP/virtio_net.out"; sed 's/^/# peer: /' "$TMP/peer.out"
  not_ok "virtio_net guest: vm exit $rc, peer exit $peer"
fi
