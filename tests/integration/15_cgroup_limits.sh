#!/usr/bin/env bash
# linux.resources through the real CLI: limits land in the host's cgroup
# files (v1, v2 or hybrid), update changes only what it names, pause/resume
# use the freezer, a memory limit OOM-kills, delete removes every directory,
# and a bad value fails naming the field while leaving nothing behind.
source "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || { skip "cgroup limits" "needs root"; exit 0; }
CG=/vessel-it-$$

# cg_dir CTRL: this test's cgroup $CG/$2 in the hierarchy holding CTRL (a
# v1 mount binding it, else the cgroup2 mount if it offers it).
cg_dir() {
  local mnt
  mnt=$(awk -v c="$1" '/ - cgroup / { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
  if [ -z "$mnt" ]; then
    mnt=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
    [ -n "$mnt" ] && grep -qw "$1" "$mnt/cgroup.controllers" || return 1
  fi
  echo "$mnt$CG/$2"
}
is_v2() { [ -e "$(dirname "$1")/cgroup.controllers" ]; }
all_mounts() { awk '/ - cgroup2? / { print $5 }' /proc/self/mountinfo; }
# the value of cgroup file $2 (v1 name) or $3 (v2 name) of controller $1 in container $4
cg_val() {
  local d; d=$(cg_dir "$1" "$4") || return 1
  if is_v2 "$d"; then cat "$d/$3"; else cat "$d/$2"; fi
}
remove_all() {
  for m in $(all_mounts); do
    [ -d "$m$CG" ] && find "$m$CG" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}
on_exit "vs delete -f c1; vs delete -f c2; vs delete -f c3; remove_all"

make_bundle "$TMP/b" sleep 1000 || { not_ok "make bundle"; exit 0; }
jq_edit "$TMP/b" ".linux.cgroupsPath = \"$CG/c1\" | .linux.resources = {
  memory: {limit: 67108864}, pids: {limit: 50}, cpu: {quota: 50000, period: 100000}}"
# (stdio to a file: the container keeps it open, a $(...) would wait for it)
if ! vs create --bundle "$TMP/b" c1 >"$TMP/out" 2>&1 </dev/null; then
  not_ok "create with linux.resources ($(cat "$TMP/out"))"; exit 0
fi
ok "create with linux.resources"

check "memory.limit lands in the memory hierarchy" \
  test "$(cg_val memory memory.limit_in_bytes memory.max c1)" = 67108864
check "pids.limit lands in pids.max" test "$(cg_val pids pids.max pids.max c1)" = 50
d=$(cg_dir cpu c1)
if is_v2 "$d"; then want="50000 100000"; got=$(cat "$d/cpu.max"); else want=50000; got=$(cat "$d/cpu.cfs_quota_us"); fi
check "cpu.quota lands in the cpu hierarchy" test "$got" = "$want"

pid=$(vs state c1 | jq -r .pid)
missing=""
for m in $(all_mounts); do grep -qx "$pid" "$m$CG/c1/cgroup.procs" || missing+=" $m"; done
check "init is in the container cgroup of every hierarchy${missing:+ (not in$missing)}" test -z "$missing"

vs update --pids-limit 20 c1
check "update --pids-limit changes pids.max" test "$(cg_val pids pids.max pids.max c1)" = 20
check "... and leaves memory alone" test "$(cg_val memory memory.limit_in_bytes memory.max c1)" = 67108864
echo '{"memory": {"limit": 134217728}}' > "$TMP/res.json"
vs update --resources "$TMP/res.json" c1
check "update --resources changes memory" \
  test "$(cg_val memory memory.limit_in_bytes memory.max c1)" = 134217728
check "... and leaves pids alone" test "$(cg_val pids pids.max pids.max c1)" = 20

vs start c1 >/dev/null 2>&1 </dev/null
vs pause c1
f=$(cg_dir freezer c1 2>/dev/null)
if [ -n "$f" ]; then frozen=$(cat "$f/freezer.state"); else
  frozen=$(awk '$1 == "frozen" { print $2 == 1 ? "FROZEN" : "THAWED" }' "$(all_mounts | while read -r m; do [ -e "$m/cgroup.controllers" ] && echo "$m"; done | head -1)$CG/c1/cgroup.events")
fi
check "pause freezes the cgroup" test "$frozen" = FROZEN
check "state says paused" test "$(vs state c1 | jq -r .status)" = paused
vs resume c1
check "resume thaws it" test "$(vs state c1 | jq -r .status)" = running

limit=$(vs events --stats c1 | jq -r .data.memory.usage.limit)
check "events --stats reports the memory limit" test "$limit" = 134217728

vs kill c1 KILL
for _ in $(seq 100); do [ "$(vs state c1 | jq -r .status)" = stopped ] && break; sleep 0.1; done
vs delete c1
left=""
for m in $(all_mounts); do [ -d "$m$CG/c1" ] && left+=" $m$CG/c1"; done
check "delete removes the cgroup in every hierarchy${left:+ (left:$left)}" test -z "$left"

# A process touching more than the limit is OOM-killed (exit 128+9).
if cg_dir memory c2 >/dev/null; then
  make_bundle "$TMP/b2" sh -c 'dd if=/dev/zero of=/dev/null bs=128M count=1' || not_ok "make bundle 2"
  jq_edit "$TMP/b2" ".linux.cgroupsPath = \"$CG/c2\" | .linux.resources = {memory: {limit: 33554432, swap: 33554432}}"
  vs run --bundle "$TMP/b2" c2 >/dev/null 2>&1; rc=$?
  check "memory limit OOM-kills the container (status $rc)" test "$rc" = 137
  vs delete -f c2 >/dev/null 2>&1
else
  skip "memory limit OOM-kills the container" "no memory controller"
fi

# Impossible value: one message naming the field, nothing left behind.
make_bundle "$TMP/b3" true || not_ok "make bundle 3"
jq_edit "$TMP/b3" ".linux.cgroupsPath = \"$CG/c3\" | .linux.resources = {memory: {limit: 67108864, swap: 1048576}}"
vs create --bundle "$TMP/b3" c3 >"$TMP/out" 2>&1 </dev/null; rc=$?
out=$(cat "$TMP/out")
check "swap below limit fails naming the field" \
  grep -qF "linux.resources.memory.swap=1048576: must be >= memory.limit=67108864" <<<"$out"
left=""
for m in $(all_mounts); do [ -d "$m$CG/c3" ] && left+=" $m$CG/c3"; done
check "... and leaves no cgroup behind${left:+ (left:$left)}" test "$rc" -ne 0 -a -z "$left"
