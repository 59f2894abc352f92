#!/usr/bin/env bash
# microVM engine through `vessel check` and `vessel vm run`. First what any
# host can check: `vessel check` tells the truth about this host (its
# verdicts against what this script sees in /dev, /sys/module, /proc/cpuinfo,
# mountinfo and the kernel log), `vm run` explains this host's KVM the same
# way, and bad input is refused before KVM is touched. Then the ring-3 guests
# (vm/ring3.sh), the virtio devices (vm/virtio.sh), Firecracker's API
# (vm/api.sh), snapshots (vm/snapshot.sh), live migration (vm/migrate.sh) and, with a Linux guest, vsock and
# the balloon (vm/devices.sh), a guest booted through the API with rate
# limits, logger and metrics (vm/ratelimit.sh) and VM-isolated containers
# (vm/hybrid.sh): they need a usable
# /dev/kvm and run directly where there is one (hardware, or PVM, which runs
# ring-3 guests); elsewhere inside the nested test host (tests/vmhost/run:
# real /dev/kvm on emulated SVM), booted once for all of them, where
# `vessel check` is checked again.
# VM_DIRECT=1: never use the nested host; VM_NESTED=1: always.
source "$(dirname "$0")/../lib.sh"
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# Built out here: the nested host sees the repository read-only.
GUESTS=$(cd "$(dirname "$VESSEL")" 2>/dev/null && pwd)/guests
case "$GUESTS" in "$ROOT"/*) ;; *) GUESTS=$ROOT/build/guests ;; esac
export GUESTS

has() { grep -qF -- "$1" <<<"$2"; }
# verdict OUT ITEM: the first `vessel check` line naming ITEM.
verdict() { grep -F -- "$2" <<<"$1" | head -1; }
# expect NAME LINE WANT...: LINE contains every WANT.
expect() {
  local name=$1 line=$2 w; shift 2
  for w in "$@"; do has "$w" "$line" || { not_ok "$name (want '$w' in: $line)"; return; }; done
  ok "$name"
}

# What this script itself sees about KVM, for both checks below.
cpu_vmx=0 cpu_svm=0
grep -qw vmx /proc/cpuinfo && cpu_vmx=1
grep -qw svm /proc/cpuinfo && cpu_svm=1
pvm_guest=0
[ -d /sys/module/kvm_pvm ] && dmesg 2>/dev/null | grep -q "itself a kvm-pvm guest" && pvm_guest=1
if [ ! -e /dev/kvm ]; then kvm_seen=none
elif { [ -d /sys/module/kvm_intel ] && [ $cpu_vmx = 1 ]; } || { [ -d /sys/module/kvm_amd ] && [ $cpu_svm = 1 ]; }; then
  kvm_seen=hardware
elif [ -d /sys/module/kvm_pvm ]; then kvm_seen=pvm
else kvm_seen=unknown; fi

# check_tells_truth WHERE: `vessel check`'s verdicts against the above.
check_tells_truth() {
  local where=$1 out rc item want
  out=$("$VESSEL" check 2>&1); rc=$?
  sed "s/^/# $where: /" <<<"$out"
  for item in "hardware virtualization" "/dev/kvm" "KVM kind" "cgroup mode" "namespaces" "seccomp" "overlayfs" "/dev/net/tun"; do
    if verdict "$out" "$item" | grep -qE ': (PASS|WARN|FAIL)'; then ok "$where: check reports $item"; else not_ok "$where: check reports $item"; fi
  done
  if [ $cpu_vmx = 1 ]; then want=": PASS (Intel VT-x)"; elif [ $cpu_svm = 1 ]; then want=": PASS (AMD-V)"
  else want=": WARN (no VT-x/AMD-V offered to this machine"; fi
  expect "$where: check's VT-x/AMD-V verdict matches /proc/cpuinfo (vmx=$cpu_vmx svm=$cpu_svm)" \
    "$(verdict "$out" "hardware virtualization")" "$want"
  local dev kind
  dev=$(verdict "$out" "Checking for /dev/kvm") kind=$(verdict "$out" "KVM kind")
  case $kvm_seen in
    none)
      expect "$where: check says there is no /dev/kvm" "$dev$kind" ": FAIL (absent: " ": FAIL (none"
      if [ $cpu_vmx = 0 ] && [ $cpu_svm = 0 ]; then
        if ! has modprobe "$out" && has "no VT-x/AMD-V offered to this machine" "$dev"; then
          ok "$where: no VT-x/AMD-V here, and check says so instead of advising modprobe"
        else not_ok "$where: no VT-x/AMD-V here, and check says so instead of advising modprobe: $dev"; fi
      elif [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
        want="modprobe kvm_amd"; [ $cpu_vmx = 1 ] && want="modprobe kvm_intel"
        expect "$where: KVM not loaded on a CPU with VT-x/AMD-V: check says $want" "$dev" "$want"
      fi
      if [ $pvm_guest = 1 ]; then
        expect "$where: check says kvm_pvm did not bind because this kernel is a PVM guest (as dmesg says)" "$dev" \
          "kvm_pvm did not bind: this kernel is itself a PVM guest"
      fi
      if has "software-assisted" "$out"; then not_ok "$where: check calls a missing /dev/kvm software-assisted"; fi ;;
    hardware)
      want="AMD-V (kvm_amd)"; [ -d /sys/module/kvm_intel ] && [ $cpu_vmx = 1 ] && want="Intel VT-x (kvm_intel)"
      expect "$where: check calls this KVM hardware-assisted: $want" "$dev$kind" \
        "/dev/kvm" ": PASS" "KVM kind" ": PASS (hardware-assisted: $want)" ;;
    pvm) expect "$where: check calls this /dev/kvm (kvm_pvm) software-assisted" "$kind" ": WARN (software-assisted: PVM" ;;
    unknown) expect "$where: check calls this /dev/kvm unknown (no kvm_intel/kvm_amd/kvm_pvm)" "$kind" ": WARN (unknown" ;;
  esac
  # The cgroup mode as mountinfo shows it: cgroup2 mounts, v1 mounts with a controller.
  local v1 v2
  v2=$(grep -c ' - cgroup2 ' /proc/self/mountinfo)
  v1=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" &&
         $(i+3) ~ /(^|,)(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|hugetlb|net_cls|net_prio|perf_event|rdma|misc)(,|$)/) n++; break } }
       END { print n + 0 }' /proc/self/mountinfo)
  if [ "$v1" -gt 0 ] && [ "$v2" -gt 0 ]; then want=": WARN (hybrid (v1 + v2))"
  elif [ "$v2" -gt 0 ]; then want=": PASS (v2 (unified))"
  elif [ "$v1" -gt 0 ]; then want=": WARN (v1)"
  else want=": FAIL (none"; fi
  expect "$where: check's cgroup mode matches mountinfo" "$(verdict "$out" "cgroup mode")" "$want"
  want=0; has ": FAIL" "$out" && want=1
  if [ "$rc" = "$want" ]; then ok "$where: check exits $want"; else not_ok "$where: check exits $want (got $rc)"; fi
}

# vm_run_tells_truth WHERE: a request that passes every check of its own
# (a file with a bzImage's magic) meets this host's KVM.
vm_run_tells_truth() {
  local where=$1 out rc reason
  perl -e 'my $b = "\0" x 4096; substr($b, 0x1fe, 2) = "\x55\xaa"; substr($b, 0x202, 4) = "HdrS"; print $b' >"$TMP/fake.bz"
  out=$(timeout 60 "$VESSEL" vm run --kernel "$TMP/fake.bz" </dev/null 2>&1); rc=$?
  case $kvm_seen in
    none)
      reason=$(verdict "$("$VESSEL" check 2>&1)" "Checking for /dev/kvm" | sed 's/.*(absent: //; s/)$//')
      if [ "$rc" = 1 ] && has "no /dev/kvm: $reason" "$out" && ! has "is PVM" "$out"; then
        ok "$where: vm run says there is no /dev/kvm, and why, as check does"
      else not_ok "$where: vm run says there is no /dev/kvm, and why, as check does ($rc: $out)"; fi ;;
    pvm) expect "$where: vm run refuses a kernel on a PVM /dev/kvm with a clear message" "$rc: $out" "1: " "PVM" ;;
    *) expect "$where: vm run gets past KVM to the kernel loader" "$rc: $out" "1: " "boot protocol" ;;
  esac
}

if [ "${1:-}" = --inside ]; then
  check_tells_truth "nested host"
  check "nested host: check reports hardware KVM (kvm_amd on emulated SVM)" \
    grep -qF "KVM kind" <<<"$("$VESSEL" check | grep -F ': PASS (hardware-assisted: AMD-V (kvm_amd))')"
  vm_run_tells_truth "nested host"
  bash "$ROOT/tests/integration/vm/ring3.sh"
  bash "$ROOT/tests/integration/vm/virtio.sh"
  bash "$ROOT/tests/integration/vm/api.sh"
  bash "$ROOT/tests/integration/vm/snapshot.sh"
  bash "$ROOT/tests/integration/vm/migrate.sh"
  bash "$ROOT/tests/integration/vm/devices.sh"
  bash "$ROOT/tests/integration/vm/ratelimit.sh"
  bash "$ROOT/tests/integration/vm/hybrid.sh"
  exit 0
fi

if ! bash "$ROOT/tests/guests/build.sh" "$GUESTS" >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log"; not_ok "build ring-3 test guests"; exit 0
fi
# The Linux guest of vm/devices.sh (built out here: the nested host's view is read-only).
if ! GUEST_INITRD=$("$ROOT/tests/vmhost/mkinitramfs-guest" 2>"$TMP/initrd.log"); then
  sed 's/^/# /' "$TMP/initrd.log"; GUEST_INITRD=
  not_ok "build the Linux guest's initramfs (tests/vmhost/mkinitramfs-guest)"
fi
export GUEST_INITRD
check_tells_truth "this host"
vm_run_tells_truth "this host"
# The Linux guest of vm/snapshot.sh (built out here: the nested host sees the repository read-only).
GUEST_INITRD=$("$ROOT/tests/vmhost/mkinitramfs-guest" 2>"$TMP/initrd.log") || GUEST_INITRD=
export GUEST_INITRD

# Bad input gets a clear error naming it, never a KVM message: the request
# and its files are checked before /dev/kvm (so all of this runs anywhere).
# refused NAME RC WANT ARGS...: vm run ARGS exits RC saying WANT, not "kvm".
refused() {
  local name=$1 want_rc=$2 want=$3 out rc; shift 3
  out=$(timeout 30 "$VESSEL" vm run "$@" </dev/null 2>&1); rc=$?
  if [ "$rc" = "$want_rc" ] && has "$want" "$out" && ! grep -qi kvm <<<"$out"; then ok "$name"
  else not_ok "$name (want $want_rc '$want', got $rc: $out)"; fi
}
refused "missing kernel file is named" 1 "open kernel /nonexistent/vmlinuz: No such file" --kernel /nonexistent/vmlinuz
refused "garbage kernel image is refused" 1 "/etc/hostname: kernel image: not a bzImage" --kernel /etc/hostname
refused "missing initrd is named" 1 "open initrd /nonexistent/initrd: No such file" --kernel "$TMP/fake.bz" --initrd /nonexistent/initrd
refused "missing ring-3 guest is named" 1 "open ring-3 guest /nonexistent/g.bin: No such file" --ring3 /nonexistent/g.bin
refused "missing disk is reported by name" 1 "/nonexistent/disk.img: No such file" --ring3 "$GUESTS/hello.bin" --disk /nonexistent/disk.img
refused "--memory below the minimum says so" 2 "--memory 3: 3 MiB is less than the 16 MiB a guest needs" --ring3 "$GUESTS/hello.bin" --memory 3
refused "--memory not in whole pages says so" 2 "--memory 16385K: 16385 KiB is not a whole number of 4 KiB pages" --ring3 "$GUESTS/hello.bin" --memory 16385K
# More than this host's RAM (1T, unless this host has that much).
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
big=1T; [ "$mem_kib" -ge $((1 << 30)) ] && big=$(( (mem_kib >> 30) + 1 ))T
refused "--memory $big: more than this host's RAM" 2 "--memory $big: ${big%T} TiB is more than this host's" --ring3 "$GUESTS/hello.bin" --memory "$big"
refused "--memory with a unit it does not know" 2 "--memory 12Q: not a size" --ring3 "$GUESTS/hello.bin" --memory 12Q
refused "--memory past 64 bits" 2 "--memory 99999999999999999999: too large" --ring3 "$GUESTS/hello.bin" --memory 99999999999999999999
refused "--cpus 0 is refused" 2 "--cpus 0: must be 1..32" --kernel "$TMP/fake.bz" --cpus 0
refused "--vsock without a socket path says what it needs" 2 "--vsock needs CID:UDS_PATH" --ring3 "$GUESTS/hello.bin" --vsock 3
refused "--vsock with a reserved CID is refused" 1 "--vsock: vsock: guest_cid 2: must be 3.." --ring3 "$GUESTS/hello.bin" --vsock "2:$TMP/v.sock"
refused "--balloon larger than the guest is refused" 1 "--balloon: balloon: amount_mib 300 is more than the guest's 256 MiB" \
  --ring3 "$GUESTS/hello.bin" --balloon 300
refused "--balloon with an unknown option says what it takes" 2 "--balloon needs MIB[,deflate-on-oom][,stats=SECONDS]" \
  --ring3 "$GUESTS/hello.bin" --balloon 30,bogus
refused "--disk with a rate that is not one" 2 "--disk needs PATH[,ro][,bw=RATE][,iops=N]" --ring3 "$GUESTS/hello.bin" --disk "$TMP/fake.bz,bw=fast"
refused "--net with an unknown option" 2 "--net needs tap=NAME" --ring3 "$GUESTS/hello.bin" --net tap=x,tx_bw=1M,speed=9

# The guests: directly on a usable /dev/kvm, else in the nested test host.
if [ "${VM_NESTED:-0}" != 1 ] && { [ "${VM_DIRECT:-0}" = 1 ] || { [ -c /dev/kvm ] && [ -w /dev/kvm ]; }; }; then
  bash "$ROOT/tests/integration/vm/ring3.sh"
  bash "$ROOT/tests/integration/vm/virtio.sh"
  bash "$ROOT/tests/integration/vm/api.sh"
  bash "$ROOT/tests/integration/vm/snapshot.sh"
  bash "$ROOT/tests/integration/vm/migrate.sh"
  # A Linux guest needs hardware KVM (PVM runs ring-3 guests only).
  if [ $kvm_seen = hardware ]; then
    bash "$ROOT/tests/integration/vm/devices.sh"
    bash "$ROOT/tests/integration/vm/ratelimit.sh"
    bash "$ROOT/tests/integration/vm/hybrid.sh"
  else not_ok "vsock, balloon, rate limits and VM-isolated containers with a Linux guest: this /dev/kvm ($kvm_seen) cannot boot Linux; VM_NESTED=1 runs them in the nested test host"; fi
  exit 0
fi
if ! command -v qemu-system-x86_64 >/dev/null || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
  skip "ring-3 and virtio guests" "no usable /dev/kvm, and no nested test host (needs qemu-system-x86_64 and a kernel in /boot)"
  exit 0
fi
# One boot for everything; a nested host that died before any check ran
# (its kernel, rarely, under the emulated SVM) is started once more.
# (vm/hybrid.sh alone boots about a dozen microVMs, ~25 s each under TCG, and drives Podman.)
for attempt in 1 2; do
  rc=0 t0=$EPOCHREALTIME
  "$ROOT/tests/vmhost/run" --cpus 1 --mem 2G --timeout 1800 -e GUESTS -e GUEST_INITRD \
    bash "$SELF" --inside >"$TMP/inner.out" 2>"$TMP/inner.err" || rc=$?
  [ "$rc" -eq 125 ] && ! grep -qE '^(not )?ok ' "$TMP/inner.out" && [ $attempt -eq 1 ] || break
  echo "# the nested test host failed before any check ran; starting it again. It said:"
  tail -n 6 "$TMP/inner.err" | sed 's/^/#   /'
done
cat "$TMP/inner.out"
echo "# nested test host: booted once, ran $(grep -cE '^(not )?ok ' "$TMP/inner.out") checks, $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s wall time"
if [ "$rc" -ne 0 ]; then
  tail -n 30 "$TMP/inner.err" | sed 's/^/# /'
  not_ok "nested test host ran the VM checks (status $rc)"
fi
exit 0
