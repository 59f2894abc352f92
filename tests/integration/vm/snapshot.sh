#!/usr/bin/env bash
# Snapshots and restore (PUT /snapshot/create, PUT /snapshot/load, `vm run
# --restore`): a ring-3 counter guest (tests/guests/ticker.c) is paused,
# snapshotted, its VMM killed, and restored in a new process, where the
# count goes on from where it was; a diff snapshot taken after the restore,
# merged onto the full one, restores too; truncated, bit-flipped and
# other-version state files and a memory file of the wrong size are refused
# with a clear message and status 1, before any guest runs. Then a Linux
# guest (tests/vmhost/mkinitramfs-guest) with a virtio-blk disk and a
# virtio-net tap: a file written before the snapshot is read back from the
# disk after the restore, the serial console answers, the network comes
# back, the count goes on. The same guest has vsock and a balloon: restore
# refuses a stale uds_path socket, then re-creates the listener; the guest's
# open vsock connection is reset (TRANSPORT_RESET), its listener takes a
# new host CONNECT, and GET /balloon shows the snapshot's configuration. Run by 20_vm_ring3.sh where there is a usable
# /dev/kvm (directly, or in the nested test host), with the guests built in
# $GUESTS and, for the Linux guest, GUEST_INITRD.
source "$(dirname "$0")/lib.sh"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"
command -v curl >/dev/null || { not_ok "snapshot tests need curl (scripts/setup.sh installs it)"; exit 0; }

API_MAX_TIME=120 # snapshot/create and /load write or map whole memory files
# wait_grep FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN.
wait_grep() { local i; for i in $(seq $((${3:-60} * 10))); do grep -aq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
ticks() { grep -a '^tick ' "$1" | tr -d '\r' | cut -d' ' -f2; }
# goes_on BEFORE AFTER [decimal]: the counter lines of BEFORE then AFTER, as
# one byte stream (a pause can fall in the middle of a line, which the
# restored guest then finishes), count up by one each, with lines on both
# sides. Prints "LAST-BEFORE FIRST-AFTER"; fails otherwise.
goes_on() {
  python3 - "$@" <<'PY'
import re, sys
before = open(sys.argv[1], "rb").read(); after = open(sys.argv[2], "rb").read()
pat = re.compile(rb"^snap-count: ([0-9]+)\r?$" if len(sys.argv) > 3 else rb"^tick ([0-9a-f]{16})\r?$")
base = 10 if len(sys.argv) > 3 else 16
vals, at = [], 0
for line in (before + after).split(b"\n"):
    m = pat.match(line)
    at += len(line) + 1
    if m: vals.append((int(m.group(1), base), at > len(before)))
pre = [v for v, a in vals if not a]; post = [v for v, a in vals if a]
ok = pre and post and all(b == a + 1 for (a, _), (b, _) in zip(vals, vals[1:]))
print("%x %x" % (pre[-1], post[0]) if base == 16 and pre and post else "%s %s" % (pre[-1] if pre else "-", post[0] if post else "-"))
sys.exit(0 if ok else 1)
PY
}

# ---------------------------------------------------------------- ring 3
S1=$TMP/s1.sock
"$VESSEL" vm run --api-sock "$S1" </dev/null >"$TMP/t1.out" 2>"$TMP/t1.err" &
vm1=$!
on_exit "kill -9 $vm1"
wait_sock "$S1"
expect_status_at "machine-config with track_dirty_pages" 204 "$S1" PUT /machine-config \
  '{"vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": true}'
expect_status_at "boot the ticker" 204 "$S1" PUT /boot-source "{\"kernel_image_path\": \"$GUESTS/ticker.bin\", \"vessel_ring3\": true}"
expect_status_at "snapshot/load after configuring is refused" 400 "$S1" PUT /snapshot/load \
  "{\"snapshot_path\": \"$TMP/none\", \"mem_backend\": {\"backend_path\": \"$TMP/none\", \"backend_type\": \"File\"}}"
expect_status_at "InstanceStart" 204 "$S1" PUT /actions '{"action_type": "InstanceStart"}'
wait_grep "$TMP/t1.out" '^tick 0000000000000003' || not_ok "the ticker runs (no 4th tick)"
expect_status_at "snapshot/create of a running VM is refused (must be paused)" 400 "$S1" PUT /snapshot/create \
  "{\"snapshot_path\": \"$TMP/t.state\", \"mem_file_path\": \"$TMP/t.mem\"}"
check "a refused snapshot/create created no file" test ! -e "$TMP/t.state"
expect_status_at "pause" 204 "$S1" PATCH /vm '{"state": "Paused"}'
expect_status_at "snapshot/create Full" 204 "$S1" PUT /snapshot/create \
  "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$TMP/t.state\", \"mem_file_path\": \"$TMP/t.mem\"}"
check "the memory file has the guest's size (32 MiB)" test "$(stat -c %s "$TMP/t.mem")" = $((32 << 20))
expect_status_at "a memory file that is not a regular file (/dev/null) is refused" 400 "$S1" PUT /snapshot/create \
  "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$TMP/t2.state\", \"mem_file_path\": \"/dev/null\"}"
kill -9 $vm1; wait $vm1 2>/dev/null

# A rate-limited drive: the restored machine keeps the limit (as PATCHed
# last), else a restore would free the guest of it.
S9=$TMP/s9.sock S10=$TMP/s10.sock
truncate -s 1M "$TMP/rl.img"
"$VESSEL" vm run --api-sock "$S9" </dev/null >"$TMP/t9.out" 2>"$TMP/t9.err" &
vm9=$!
on_exit "kill -9 $vm9"
wait_sock "$S9"
api_at "$S9" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' >/dev/null
api_at "$S9" PUT /boot-source "{\"kernel_image_path\": \"$GUESTS/ticker.bin\", \"vessel_ring3\": true}" >/dev/null
api_at "$S9" PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$TMP/rl.img\", \"is_root_device\": false, \"rate_limiter\": {\"bandwidth\": {\"size\": 65536, \"refill_time\": 100}}}" >/dev/null
api_at "$S9" PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
api_at "$S9" PATCH /drives/d0 '{"drive_id": "d0", "rate_limiter": {"ops": {"size": 50, "refill_time": 1000}}}' >/dev/null
api_at "$S9" PATCH /vm '{"state": "Paused"}' >/dev/null
expect_status_at "snapshot/create of a VM with a rate-limited drive" 204 "$S9" PUT /snapshot/create \
  "{\"snapshot_path\": \"$TMP/rl.state\", \"mem_file_path\": \"$TMP/rl.mem\"}"
kill -9 $vm9; wait $vm9 2>/dev/null
timeout 60 "$VESSEL" vm run --restore "$TMP/rl.state" --restore-mem "$TMP/rl.mem" --paused --api-sock "$S10" \
  </dev/null >"$TMP/t10.out" 2>"$TMP/t10.err" &
vm10=$!
on_exit "kill -9 $vm10"
wait_sock "$S10"
cfg=$(api_at "$S10" GET /vm/config | head -1)
if jq -e '.drives[0].rate_limiter.bandwidth.size == 65536 and .drives[0].rate_limiter.ops.size == 50' >/dev/null <<<"$cfg"; then
  ok "the restored VM keeps the drive's rate limiter (bandwidth as PUT, ops as PATCHed)"
else not_ok "the restored VM keeps the drive's rate limiter ($cfg; $(tail -n 2 "$TMP/t10.err"))"; fi
kill -9 $vm10; wait $vm10 2>/dev/null

# A new process: --restore, the count goes on.
timeout 60 "$VESSEL" vm run --restore "$TMP/t.state" --restore-mem "$TMP/t.mem" </dev/null >"$TMP/t2.out" 2>"$TMP/t2.err" &
vm2=$!
on_exit "kill -9 $vm2"
wait_grep "$TMP/t2.out" '^tick ' 60
sleep 1
if seq=$(goes_on "$TMP/t1.out" "$TMP/t2.out") && ! grep -aq 'ticker up' "$TMP/t2.out"; then
  ok "restored in a new process, the ticker goes on (tick $seq, no restart)"
else
  not_ok "restored in a new process, the ticker goes on (last before, first after: $seq)"
  tail -n 5 "$TMP/t2.out" "$TMP/t2.err" | sed 's/^/# /'
fi
kill -TERM $vm2; wait $vm2; rc=$?
check "the restored VM stops on SIGTERM (143)" test "$rc" = 143

# snapshot/load through the API, with diff snapshots; a diff after it.
S3=$TMP/s3.sock
"$VESSEL" vm run --api-sock "$S3" </dev/null >"$TMP/t3.out" 2>"$TMP/t3.err" &
vm3=$!
on_exit "kill -9 $vm3"
wait_sock "$S3"
expect_status_at "snapshot/load with mem_backend, enable_diff_snapshots, paused" 204 "$S3" PUT /snapshot/load \
  "{\"snapshot_path\": \"$TMP/t.state\", \"mem_backend\": {\"backend_path\": \"$TMP/t.mem\", \"backend_type\": \"File\"}, \"enable_diff_snapshots\": true, \"resume_vm\": false}"
check "GET / after a paused load: Paused" test "$(api_at "$S3" GET / | head -1 | jq -r .state)" = Paused
sleep 1
check "no guest output while the loaded VM is paused" test -z "$(ticks "$TMP/t3.out")"
expect_status_at "resume the loaded VM" 204 "$S3" PATCH /vm '{"state": "Resumed"}'
wait_grep "$TMP/t3.out" '^tick ' 60
sleep 1
check "the loaded VM goes on from the snapshot too" goes_on "$TMP/t1.out" "$TMP/t3.out"
n=$(ticks "$TMP/t3.out" | wc -l)
for _ in $(seq 600); do [ "$(ticks "$TMP/t3.out" | wc -l)" -gt $((n + 2)) ] && break; sleep 0.1; done
expect_status_at "pause the loaded VM" 204 "$S3" PATCH /vm '{"state": "Paused"}'
expect_status_at "snapshot/create Full onto the memory file the VM is mapped from is refused" 400 "$S3" PUT /snapshot/create \
  "{\"snapshot_path\": \"$TMP/x.state\", \"mem_file_path\": \"$TMP/t.mem\"}"
expect_status_at "snapshot/create Diff" 204 "$S3" PUT /snapshot/create \
  "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$TMP/d.state\", \"mem_file_path\": \"$TMP/d.mem\"}"
cp "$TMP/t3.out" "$TMP/t3a.out"
used=$(du -k "$TMP/d.mem" | cut -f1)
check "the diff memory file is sparse ($used KiB of 32 MiB used)" test "$used" -lt 4096
# Merge the diff onto a copy of the base: its data extents at their offsets.
cp "$TMP/t.mem" "$TMP/merged.mem"
python3 - "$TMP/d.mem" "$TMP/merged.mem" <<'PY'
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY); dst = os.open(sys.argv[2], os.O_WRONLY)
end = os.fstat(src).st_size; off = 0
while off < end:
    try: data = os.lseek(src, off, os.SEEK_DATA)
    except OSError: break
    hole = os.lseek(src, data, os.SEEK_HOLE)
    os.lseek(src, data, os.SEEK_SET); os.lseek(dst, data, os.SEEK_SET)
    os.write(dst, os.read(src, hole - data)); off = hole
PY
cp "$TMP/merged.mem" "$TMP/merged1.mem"
# A second diff, written onto that merged base in place.
expect_status_at "resume for a second diff" 204 "$S3" PATCH /vm '{"state": "Resumed"}'
n=$(ticks "$TMP/t3.out" | wc -l)
for _ in $(seq 600); do [ "$(ticks "$TMP/t3.out" | wc -l)" -gt $((n + 2)) ] && break; sleep 0.1; done
expect_status_at "pause again" 204 "$S3" PATCH /vm '{"state": "Paused"}'
expect_status_at "snapshot/create Diff onto the merged base memory file (in place)" 204 "$S3" PUT /snapshot/create \
  "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$TMP/d2.state\", \"mem_file_path\": \"$TMP/merged.mem\"}"
kill -9 $vm3; wait $vm3 2>/dev/null
# restore_goes_on NAME STATE MEM BEFORE: a new process goes on from BEFORE's output.
restore_goes_on() {
  local out=$TMP/r.$RANDOM.out seq pid
  timeout 60 "$VESSEL" vm run --restore "$2" --restore-mem "$3" </dev/null >"$out" 2>"$out.err" &
  pid=$!
  wait_grep "$out" '^tick ' 60
  sleep 1
  if seq=$(goes_on "$4" "$out"); then ok "$1: tick $seq"
  else not_ok "$1 (last before, first after: $seq)"; tail -n 3 "$out.err" | sed 's/^/# /'; fi
  kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
}
restore_goes_on "a diff snapshot merged onto the full one restores" "$TMP/d.state" "$TMP/merged1.mem" "$TMP/t3a.out"
restore_goes_on "a second diff written onto that base in place restores" "$TMP/d2.state" "$TMP/merged.mem" "$TMP/t3.out"

# Bad snapshots: refused with the reason and status 1, before any guest runs.
# refused NAME WANT STATE MEM
refused() {
  local name=$1 want=$2 out rc
  out=$(timeout 60 "$VESSEL" vm run --restore "$3" --restore-mem "$4" </dev/null 2>&1); rc=$?
  if [ "$rc" = 1 ] && grep -qF -- "$want" <<<"$out" && ! grep -q '^tick ' <<<"$out"; then ok "$name"
  else not_ok "$name (want 1 '$want', got $rc: $(head -c 300 <<<"$out"))"; fi
}
size=$(stat -c %s "$TMP/t.state")
head -c $((size / 2)) "$TMP/t.state" >"$TMP/trunc.state"
refused "a truncated state file is refused" "snapshot $TMP/trunc.state: truncated" "$TMP/trunc.state" "$TMP/t.mem"
cp "$TMP/t.state" "$TMP/flip.state"
printf '\x5a' | dd of="$TMP/flip.state" bs=1 seek=$((size / 2)) conv=notrunc status=none
refused "a bit-flipped state file is refused" "snapshot $TMP/flip.state: checksum mismatch" "$TMP/flip.state" "$TMP/t.mem"
cp "$TMP/t.state" "$TMP/v2.state"
printf '\x02' | dd of="$TMP/v2.state" bs=1 seek=8 conv=notrunc status=none
refused "an other-version state file is refused" "snapshot $TMP/v2.state: format version 2, this vessel reads version 1" \
  "$TMP/v2.state" "$TMP/t.mem"
head -c $((16 << 20)) "$TMP/t.mem" >"$TMP/short.mem"
refused "a memory file of the wrong size is refused" "memory file $TMP/short.mem: 16777216 bytes, the snapshot's guest has 33554432" \
  "$TMP/t.state" "$TMP/short.mem"
refused "a state file that is not one is refused" "not a vessel snapshot state file" "$GUESTS/ticker.bin" "$TMP/t.mem"
# Through the API: 400, and the VMM is still not started (nothing half-restored).
S5=$TMP/s5.sock
"$VESSEL" vm run --api-sock "$S5" </dev/null >"$TMP/t5.out" 2>"$TMP/t5.err" &
vm5=$!
on_exit "kill -9 $vm5"
wait_sock "$S5"
out=$(api_at "$S5" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/flip.state\", \"mem_file_path\": \"$TMP/t.mem\"}")
if [ "${out##*$'\n'}" = 400 ] && grep -q "checksum mismatch" <<<"$out"; then ok "snapshot/load of a corrupted file: 400 naming it"
else not_ok "snapshot/load of a corrupted file: 400 naming it ($out)"; fi
check "after a refused load the VM is still Not started" test "$(api_at "$S5" GET / | head -1 | jq -r .state)" = "Not started"
expect_status_at "snapshot/load with the Uffd backend says it is not supported" 400 "$S5" PUT /snapshot/load \
  "{\"snapshot_path\": \"$TMP/t.state\", \"mem_backend\": {\"backend_path\": \"$TMP/t.mem\", \"backend_type\": \"Uffd\"}}"
expect_status_at "a good snapshot/load after the refused one works (resume_vm)" 204 "$S5" PUT /snapshot/load \
  "{\"snapshot_path\": \"$TMP/t.state\", \"mem_file_path\": \"$TMP/t.mem\", \"resume_vm\": true}"
check "and the guest runs" wait_grep "$TMP/t5.out" '^tick ' 60
kill -9 $vm5; wait $vm5 2>/dev/null

# ---------------------------------------------------------------- Linux
if ! "$VESSEL" check 2>/dev/null | grep -q 'KVM kind.*hardware-assisted'; then
  skip "Linux guest snapshot and restore" "this /dev/kvm cannot boot Linux (not hardware-assisted)"; exit 0
fi
if [ -z "${GUEST_INITRD:-}" ] || [ ! -s "$GUEST_INITRD" ]; then
  not_ok "Linux guest snapshot and restore: no GUEST_INITRD (tests/vmhost/mkinitramfs-guest)"; exit 0
fi
source "$ROOT/tests/vmhost/initramfs.sh"
vmhost_kernel || { not_ok "Linux guest snapshot: no kernel"; exit 0; }
# The guest's job lives on its disk (guest-init's vtest=disk runs it).
mkdir -p "$TMP/disk"
cat >"$TMP/disk/job.sh" <<'SH'
echo "snap-job: up"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.5; done
ip addr add 172.31.0.2/24 dev eth0 && ip link set eth0 up
echo "written before the snapshot" > /mnt/disk/before.txt
sync
echo "snap-job: file written"
# vsock: a listener that survives the snapshot, and a connection open
# across it (to a host peer that never reads), reset by the restore.
vsock listen 5000 >/dev/null 2>&1 &
(vsock send 6000 </dev/zero >/dev/null 2>&1; echo "snap-vsock-held: ended $?") &
# The console answers: "check" reads the file back from the disk (page cache
# dropped), pings the host and writes another file; "off" powers off.
(while read -r line; do
  case "$line" in
    check) sync; echo 3 > /proc/sys/vm/drop_caches
           echo "snap-file: $(cat /mnt/disk/before.txt)"
           if ping -c 2 -W 3 172.31.0.1 >/dev/null 2>&1; then echo "snap-ping: ok"; else echo "snap-ping: FAIL"; fi
           echo "written after the restore" > /mnt/disk/after.txt && sync && echo "snap-after: ok" ;;
    off) umount /mnt/disk; poweroff -f ;;
    *) echo "snap-echo: $line" ;;
  esac
done) </dev/console &
n=0
while :; do echo "snap-count: $n"; n=$((n + 1)); sleep 0.5; done
SH
mkfs.ext4 -q -F -d "$TMP/disk" "$TMP/lin.img" 16M >/dev/null
ip tuntap add dev vsnap0 mode tap && on_exit "ip link del vsnap0"
ip addr add 172.31.0.1/24 dev vsnap0 && ip link set vsnap0 up
LUDS=$TMP/lv.sock
python3 - "${LUDS}_6000" "$TMP/held" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); open(sys.argv[2], "w").write("accepted\n")
time.sleep(100000)
PY
held_pid=$!
on_exit "kill $held_pid 2>/dev/null"
S6=$TMP/s6.sock
"$VESSEL" vm run --api-sock "$S6" --kernel "$KERNEL" --initrd "$GUEST_INITRD" --memory 256M --disk "$TMP/lin.img" \
  --net tap=vsnap0 --cmdline "vtest=disk" --vsock "3:$LUDS" --balloon 16,deflate-on-oom,stats=1 \
  </dev/null >"$TMP/l1.out" 2>"$TMP/l1.err" &
vm6=$!
on_exit "kill -9 $vm6"
if ! wait_grep "$TMP/l1.out" 'snap-count: 3' 180; then
  not_ok "Linux guest boots and runs its job"; tr -d '\r' <"$TMP/l1.out" | tail -n 20 | sed 's/^/# /'; exit 0
fi
ok "Linux guest boots and runs its job (file written, counting)"
wait_grep "$TMP/held" accepted 60 || not_ok "Linux: the guest's vsock connection to uds_path_6000 is open before the snapshot"
expect_status_at "Linux: pause" 204 "$S6" PATCH /vm '{"state": "Paused"}'
expect_status_at "Linux: snapshot/create Full" 204 "$S6" PUT /snapshot/create \
  "{\"snapshot_path\": \"$TMP/l.state\", \"mem_file_path\": \"$TMP/l.mem\"}"
kill -9 $vm6; wait $vm6 2>/dev/null
# The killed VMM left its uds_path socket: as with Firecracker, the user removes it.
refused "Linux: restore with a stale uds_path socket is refused, naming it" "listen on $LUDS" "$TMP/l.state" "$TMP/l.mem"
rm -f "$LUDS"
mkfifo "$TMP/l2.in"
S7=$TMP/s7.sock
timeout 180 "$VESSEL" vm run --restore "$TMP/l.state" --restore-mem "$TMP/l.mem" --api-sock "$S7" <"$TMP/l2.in" >"$TMP/l2.out" 2>"$TMP/l2.err" &
vm7=$!
exec 8>"$TMP/l2.in"
on_exit "kill -9 $vm7"
wait_grep "$TMP/l2.out" 'snap-count:' 60
sleep 2
if seq=$(goes_on "$TMP/l1.out" "$TMP/l2.out" decimal) && ! grep -aq 'snap-job: up' "$TMP/l2.out"; then
  ok "Linux: restored, the count goes on ($seq), no reboot"
else
  not_ok "Linux: restored, the count goes on (last before, first after: $seq)"; tr -d '\r' <"$TMP/l2.out" | tail -n 15 | sed 's/^/# /'
  tail -n 5 "$TMP/l2.err" | sed 's/^/# /'
fi
echo hello >&8
check "Linux: the serial console answers after the restore" wait_grep "$TMP/l2.out" 'snap-echo: hello' 30
echo check >&8
wait_grep "$TMP/l2.out" 'snap-after:' 60
check "Linux: the file written before the snapshot is read back from the disk" \
  grep -aq 'snap-file: written before the snapshot' "$TMP/l2.out"
check "Linux: the network comes back (ping over virtio-net)" grep -aq 'snap-ping: ok' "$TMP/l2.out"
check "Linux: the vsock connection open at the snapshot is reset in the restored guest" \
  wait_grep "$TMP/l2.out" 'snap-vsock-held: ended 1' 30
out=$(timeout 60 python3 - "$LUDS" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"CONNECT 5000\n")
line = b""
while not line.endswith(b"\n"):
    b = s.recv(1)
    if not b: break
    line += b
if not line.startswith(b"OK "): sys.exit("no OK: %r" % line)
s.sendall(b"after-restore"); s.shutdown(socket.SHUT_WR)
back = b""
while True:
    b = s.recv(4096)
    if not b: break
    back += b
print(back.decode())
PY
)
if [ "$out" = after-restore ]; then ok "Linux: vsock after the restore: CONNECT 5000 to the guest's listener, echoed"
else not_ok "Linux: vsock after the restore: CONNECT 5000 to the guest's listener, echoed ($out)"; fi
cfg=$(api_at "$S7" GET /balloon | head -1)
check "Linux: GET /balloon after the restore shows the snapshot's configuration" \
  jq -e '.amount_mib == 16 and .deflate_on_oom == true and .stats_polling_interval_s == 1' <<<"$cfg"
echo off >&8
wait $vm7; rc=$?
exec 8>&-
check "Linux: the restored guest powers off (exit 0)" test "$rc" = 0
check "Linux: a write after the restore reached the disk image" \
  bash -c "debugfs -R 'cat /after.txt' '$TMP/lin.img' 2>/dev/null | grep -q 'written after the restore'"
