#!/usr/bin/env bash
# Real containerd (its own daemon: temp root, state and socket) driving
# vessel through the stock runc v2 shim (ctr --runc-binary build/vessel):
# image import from a local tarball, run --rm, run -d + task exec, task kill
# with SIGTERM then SIGKILL, task ls status transitions, task/container
# delete, a memory limit, and that nothing is left behind.
source "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || { skip "containerd" "needs root"; exit 0; }
for b in containerd ctr containerd-shim-runc-v2; do
  command -v "$b" >/dev/null || { not_ok "$b is not installed (scripts/setup.sh installs containerd)"; exit 0; }
done
[ -x "$VESSEL" ] || { not_ok "no runtime binary at $VESSEL (run make)"; exit 0; }

IMG=localhost/busybox:vessel
NS=vtest$$
CD="$TMP/containerd"
SOCK="$CD/containerd.sock"
# vessel's --root, as the shim passes it: <runc-root>/<namespace>
RROOT="$CD/runc-root"
mkdir -p "$CD"/{root,state,opt}
cat > "$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$CD/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
EOF

c() { ctr --address "$SOCK" -n "$NS" "$@"; }
RUNOPTS=(--runc-binary "$VESSEL" --runc-root "$RROOT")

# Teardown: kill and delete every task and container of our namespace, stop
# the daemon, unmount whatever it left under our temp dir.
teardown() {
  if [ -S "$SOCK" ]; then
    for t in $(c task ls -q 2>/dev/null); do c task kill -s SIGKILL "$t"; done
    sleep 0.3
    for t in $(c task ls -q 2>/dev/null); do c task delete -f "$t"; done
    for t in $(c container ls -q 2>/dev/null); do c container delete "$t"; done
    c images rm "$IMG"
  fi
  if [ -n "${CD_PID:-}" ]; then
    kill "$CD_PID"
    for _ in $(seq 50); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CD_PID"
  fi
  # shims whose socket lives under our state dir
  for p in $(pgrep -f "containerd-shim-runc-v2 -namespace $NS "); do kill -9 "$p"; done
  awk -v t="$TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
  for m in $(awk '/ - cgroup2? / { print $5 }' /proc/self/mountinfo); do
    [ -d "$m/$NS" ] && find "$m/$NS" -depth -type d -exec rmdir {} +
  done
}
on_exit teardown

containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
CD_PID=$!
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.1; done
if ! c version >/dev/null 2>&1; then
  not_ok "containerd starts on $SOCK ($(tail -3 "$CD/log"))"; exit 0
fi
ok "containerd starts with a private root, state and socket"

# status ID: the task's status as `task ls` prints it (empty when gone).
status() { c task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
wait_status() {
  for _ in $(seq 100); do [ "$(status "$1")" = "$2" ] && return 0; sleep 0.1; done
  return 1
}
# cgroup_dirs ID: cgroup directories of container ID in any hierarchy
# (ctr puts containers at /<namespace>/<id>).
cgroup_dirs() {
  for m in $(awk '/ - cgroup2? / { print $5 }' /proc/self/mountinfo | sort -u); do
    [ -d "$m/$NS/$1" ] && echo "$m/$NS/$1"
  done
}
# leftovers ID: runtime state or cgroups of container ID still on the host.
leftovers() {
  local l=""
  [ -e "$RROOT/$NS/$1" ] && l+=" state:$RROOT/$NS/$1"
  [ -e "/run/containerd/runc/$NS/$1" ] && l+=" state:/run/containerd/runc/$NS/$1"
  l+=$(cgroup_dirs "$1" | sed 's/^/ cgroup:/')
  echo "$l"
}

# --- image -----------------------------------------------------------------
if ! out=$(bash "$ROOT/tests/images/mkimage.sh" "$TMP/busybox-oci.tar" 2>&1); then
  not_ok "build the busybox image ($out)"; exit 0
fi
out=$(c images import "$TMP/busybox-oci.tar" 2>&1)
if c images ls -q 2>/dev/null | grep -qx "$IMG"; then
  ok "ctr images import of the local OCI archive gives $IMG"
else
  not_ok "ctr images import of the local OCI archive gives $IMG ($out)"; exit 0
fi

# --- run --rm --------------------------------------------------------------
out=$(c run --rm "${RUNOPTS[@]}" "$IMG" t1 echo hello-ctr 2>&1)
check "run --rm prints the process's output (got: $out)" test "$out" = hello-ctr
c run --rm "${RUNOPTS[@]}" "$IMG" t2 sh -c 'exit 3' >/dev/null 2>&1; rc=$?
check "run --rm passes the exit code on (exit 3 -> $rc)" test "$rc" = 3
l=$(leftovers t1)$(leftovers t2)
check "run --rm leaves nothing behind${l:+ (left:$l)}" test -z "$l"
check "run --rm removes the containers from containerd" test -z "$(c container ls -q 2>/dev/null)"

# --- run -d + exec ---------------------------------------------------------
if out=$(c run -d --null-io "${RUNOPTS[@]}" "$IMG" d1 \
           sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done' 2>&1) && wait_status d1 RUNNING; then
  ok "run -d starts a task that task ls shows RUNNING"
else
  not_ok "run -d starts a task that task ls shows RUNNING ($out; status $(status d1))"
fi
check "the runtime keeps its state under --runc-root ($RROOT/$NS/d1)" test -d "$RROOT/$NS/d1"
pid=$(c task ls 2>/dev/null | awk '$1 == "d1" { print $2 }')
check "task ls shows the task's host pid, alive (pid $pid)" test -n "$pid" -a -d "/proc/${pid:-none}"
check "the task is in cgroup /$NS/d1" grep -q ":/$NS/d1\$" "/proc/${pid:-none}/cgroup"

out=$(c task exec --exec-id e1 d1 sh -c 'echo exec-out $(tr "\0" " " </proc/1/cmdline | cut -c1-5)' 2>&1); rc=$?
check "task exec prints, inside the task's pid namespace (got: $out)" test "$out/$rc" = "exec-out sh -c/0"
c task exec --exec-id e2 d1 sh -c 'exit 5' >/dev/null 2>&1; rc=$?
check "task exec passes the exit code on (exit 5 -> $rc)" test "$rc" = 5
out=$(c task ps d1 2>&1)
check "task ps lists the task's init ($pid)" grep -qw "^${pid:-none}" <<<"$out"

c task pause d1 >/dev/null 2>&1
check "task pause -> PAUSED" wait_status d1 PAUSED
c task resume d1 >/dev/null 2>&1
check "task resume -> RUNNING" wait_status d1 RUNNING

c task kill d1 >/dev/null 2>&1
check "task kill (default SIGTERM) stops a trapping process -> STOPPED" wait_status d1 STOPPED
out=$(c task delete d1 2>&1)
check "task delete reports the trap's exit code (got: $out)" grep -q 'exit code 42' <<<"$out"
check "task delete removes the task" test -z "$(status d1)"
c container delete d1 >/dev/null 2>&1
check "container delete removes the container" test -z "$(c container ls -q 2>/dev/null | grep -x d1)"
l=$(leftovers d1)
check "nothing is left behind for d1${l:+ (left:$l)}" test -z "$l"

# --- SIGKILL for a process ignoring SIGTERM --------------------------------
c run -d --null-io "${RUNOPTS[@]}" "$IMG" d2 sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
wait_status d2 RUNNING
c task kill d2 >/dev/null 2>&1
sleep 1   # give SIGTERM a chance to (wrongly) end it
check "SIGTERM does not stop a process ignoring it (still $(status d2))" test "$(status d2)" = RUNNING
c task kill -s SIGKILL d2 >/dev/null 2>&1
check "task kill -s SIGKILL stops it -> STOPPED" wait_status d2 STOPPED
out=$(c task delete d2 2>&1)
check "... with exit code 137 (got: $out)" grep -q 'exit code 137' <<<"$out"
c container delete d2 >/dev/null 2>&1
l=$(leftovers d2)
check "nothing is left behind for d2${l:+ (left:$l)}" test -z "$l"

# --- kill --all reaches exec'd processes too -------------------------------
c run -d --null-io "${RUNOPTS[@]}" "$IMG" d3 sleep 1000 >/dev/null 2>&1
wait_status d3 RUNNING
c task exec -d --exec-id bg d3 sleep 999 >/dev/null 2>&1
sleep 0.3
n=$(c task ps d3 2>/dev/null | tail -n +2 | wc -l)
check "task ps sees the exec'd process as well (processes: $n)" test "$n" = 2
c task kill -a -s SIGKILL d3 >/dev/null 2>&1
check "task kill -a -s SIGKILL stops the task" wait_status d3 STOPPED
c task delete d3 >/dev/null 2>&1
c container delete d3 >/dev/null 2>&1
l=$(leftovers d3)
check "nothing is left behind for d3${l:+ (left:$l)}" test -z "$l"

# --- memory limit ----------------------------------------------------------
# (ctr's default spec mounts no cgroupfs in the container, with runc too, so
# the limit is checked from the host side.)
host_limit=""
c run -d --null-io --memory-limit 50331648 "${RUNOPTS[@]}" "$IMG" m2 sleep 1000 >/dev/null 2>&1
wait_status m2 RUNNING
for d in $(cgroup_dirs m2); do
  [ -e "$d/memory.limit_in_bytes" ] && host_limit=$(cat "$d/memory.limit_in_bytes")
done
check "--memory-limit lands in the host's cgroup /$NS/m2 (got: $host_limit)" test "$host_limit" = 50331648
c task kill -s SIGKILL m2 >/dev/null 2>&1; wait_status m2 STOPPED
c task delete m2 >/dev/null 2>&1; c container delete m2 >/dev/null 2>&1

c run --rm --memory-limit 33554432 "${RUNOPTS[@]}" "$IMG" m3 \
  sh -c 'x=$(head -c 104857600 /dev/zero | tr "\0" a); echo survived ${#x}' >/dev/null 2>&1; rc=$?
check "the memory limit is enforced: 100 MB under 32 MiB -> OOM kill ($rc)" test "$rc" = 137
out=$(c run --rm --memory-limit 268435456 "${RUNOPTS[@]}" "$IMG" m4 \
  sh -c 'x=$(head -c 10485760 /dev/zero | tr "\0" a); echo ${#x}' 2>&1)
check "... while a smaller allocation fits (got: $out)" test "$out" = 10485760

# --- nothing left ----------------------------------------------------------
left=$(c container ls -q 2>/dev/null; c task ls -q 2>/dev/null)
check "no containers or tasks remain in namespace $NS${left:+ (left: $(echo $left))}" test -z "$left"
l=""; for i in t1 t2 d1 d2 d3 m1 m2 m3 m4; do l+=$(leftovers "$i"); done
[ -n "$(ls -A "$RROOT/$NS" 2>/dev/null)" ] && l+=" state:$(ls "$RROOT/$NS")"
check "no vessel state dirs and no cgroups remain${l:+ (left:$l)}" test -z "$l"
