#!/usr/bin/env bash
# Real Podman driving vessel as its OCI runtime (--runtime build/vessel),
# exactly as a user would: run/exec/stop/pause/inspect/rm, exit codes, stop
# signals, a memory limit, and that rm leaves no runtime state or cgroup.
# Podman gets its own storage, runroot, tmpdir, lock files and events log
# under this test's temp dir, so it never sees or touches the user's podman.
source "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || { skip "podman" "needs root"; exit 0; }
command -v podman >/dev/null || { not_ok "podman is not installed (scripts/setup.sh installs it)"; exit 0; }
[ -x "$VESSEL" ] || { not_ok "no runtime binary at $VESSEL (run make)"; exit 0; }

IMG=localhost/busybox:vessel
# podman runs vessel without --root, so vessel keeps its state in its default
# root; that is what "nothing left behind" is checked against.
VROOT=/run/vessel
PR="$TMP/podman"
mkdir -p "$PR"/{storage,runroot,tmp}
cat > "$PR/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PR/tmp/events.log"
lock_type = "file"
EOF
export CONTAINERS_CONF="$PR/containers.conf"
cat > "$PR/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PR/storage"
runroot = "$PR/runroot"
EOF
export CONTAINERS_STORAGE_CONF="$PR/storage.conf"
# No registries: nothing here may pull from the network.
echo 'unqualified-search-registries = []' > "$PR/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$PR/registries.conf"

pm() {
  podman --root "$PR/storage" --runroot "$PR/runroot" --tmpdir "$PR/tmp" \
         --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
         --runtime "$VESSEL" "$@"
}
# Raising hard rlimits is denied on some hosts; keep podman's defaults low.
RUNOPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
prun() { pm run "${RUNOPTS[@]}" "$@"; }

cleanup_podman() {
  pm rm -a -f -t 0
  pm rmi -a -f
  # vfs keeps no mounts, but per-container shm mounts may survive a crash.
  awk -v t="$TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
}
on_exit cleanup_podman

# state NAME: podman's view of the container's status.
state() { pm inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
# wait_state NAME STATUS: poll (up to 10 s) until NAME has STATUS.
wait_state() {
  for _ in $(seq 100); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done
  return 1
}
# cgroup_dirs ID: every cgroup directory, in any hierarchy, named after ID.
cgroup_dirs() {
  awk '/ - cgroup2? / { print $5 }' /proc/self/mountinfo | sort -u |
    while read -r m; do find "$m" -maxdepth 3 -type d -name "*$1*" 2>/dev/null; done
}
# memory_limit_file: where the cgroup v1 (or v2) memory limit of the calling
# process's cgroup is visible inside a container.
MEMFILE='f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; cat $f'

# --- image -----------------------------------------------------------------
if ! out=$(bash "$ROOT/tests/images/mkimage.sh" "$TMP/busybox-oci.tar" 2>&1); then
  not_ok "build the busybox image ($out)"; exit 0
fi
if ! out=$(pm load -q -i "$TMP/busybox-oci.tar" 2>&1) || ! pm image exists "$IMG"; then
  not_ok "podman load the busybox image ($out)"; exit 0
fi
ok "podman load of the local busybox image gives $IMG"

# --- run --rm --------------------------------------------------------------
out=$(prun --rm "$IMG" echo ok 2>&1)
check "run --rm echo ok prints ok (got: $out)" test "$out" = ok

out=$(prun --rm --hostname vhost -e GREETING=hi "$IMG" sh -c 'echo "$(id -u) $(hostname) $PWD $GREETING"' 2>&1)
check "the process runs as root in / with podman's hostname and env (got: $out)" \
  test "$out" = "0 vhost / hi"

prun --rm "$IMG" sh -c 'exit 3' >/dev/null 2>&1; rc=$?
check "exit code propagates (sh -c 'exit 3' -> $rc)" test "$rc" = 3

out=$(echo from-stdin | prun --rm -i "$IMG" cat 2>&1)
check "run -i passes stdin through (got: $out)" test "$out" = from-stdin

# --- detached + exec -------------------------------------------------------
if id=$(prun -d --name p1 "$IMG" sleep 1000 2>&1) && wait_state p1 running; then
  ok "run -d starts a detached container"
else
  not_ok "run -d starts a detached container ($id)"
fi
out=$(pm ps --filter name=p1 --format '{{.Names}} {{.Status}}' 2>&1)
check "ps lists it as Up (got: $out)" grep -q '^p1 Up' <<<"$out"
out=$(pm inspect --format '{{.State.Running}} {{.State.Pid}}' p1 2>&1)
pid=${out#* }
check "inspect says running with a live pid (got: $out)" \
  test "${out% *}" = true -a -d "/proc/${pid:-0}"
check "the runtime keeps state for it under $VROOT" test -d "$VROOT/$id"

out=$(pm exec p1 sh -c 'echo exec-out $(tr "\0" " " </proc/1/cmdline)' 2>&1)
check "exec prints, inside the container's pid namespace (got: $out)" \
  test "$out" = "exec-out sleep 1000"
pm exec p1 sh -c 'exit 7' >/dev/null 2>&1; rc=$?
check "exec exit code propagates (exit 7 -> $rc)" test "$rc" = 7
out=$(pm exec -e FOO=bar -w /tmp p1 sh -c 'echo $FOO $PWD' 2>&1)
check "exec -e/-w set env and cwd (got: $out)" test "$out" = "bar /tmp"
out=$(pm top p1 args 2>&1)
check "top lists the container's processes (got: $(echo $out))" grep -q 'sleep 1000' <<<"$out"

# --- pause / unpause -------------------------------------------------------
pm pause p1 >/dev/null 2>&1
check "pause -> inspect says paused" test "$(state p1)" = paused
pm unpause p1 >/dev/null 2>&1
check "unpause -> inspect says running" test "$(state p1)" = running

# --- stop ------------------------------------------------------------------
# start_ready NAME CMD: run CMD detached as NAME and wait for it to print "ready".
start_ready() {
  local name=$1 out; shift
  out=$(prun -d --name "$name" "$IMG" sh -c "$*; echo ready; while :; do sleep 0.1; done" 2>&1) ||
    { echo "run -d failed: $out"; return 1; }
  for _ in $(seq 100); do pm logs "$name" 2>/dev/null | grep -q ready && return 0; sleep 0.1; done
  echo "never ready: $(state "$name") $(pm logs "$name" 2>&1)"; return 1
}
err=$(start_ready trap 'trap "exit 42" TERM')
pm stop -t 20 trap >/dev/null 2>&1
out=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' trap 2>&1)
check "stop sends SIGTERM: a trapping process exits with its trap's code (got: $out$err)" \
  test "$out" = "exited 42"

err=$(start_ready deaf 'trap "" TERM')
pm stop -t 1 deaf >/dev/null 2>&1
out=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' deaf 2>&1)
check "stop of a process ignoring SIGTERM ends in SIGKILL (got: $out$err)" test "$out" = "exited 137"

err=$(start_ready usr1 'trap "exit 10" USR1')
pm kill -s USR1 usr1 >/dev/null 2>&1
pm wait usr1 >/dev/null 2>&1
out=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' usr1 2>&1)
check "kill -s USR1 delivers that signal (got: $out$err)" test "$out" = "exited 10"

pm stop -t 1 p1 >/dev/null 2>&1
out=$(pm ps -a --filter name=p1 --format '{{.Status}}' 2>&1)
check "ps -a shows a stopped container as Exited (got: $out)" grep -q '^Exited' <<<"$out"

# --- create / start --------------------------------------------------------
pm create "${RUNOPTS[@]}" --name c1 "$IMG" sh -c 'echo started; exit 5' >/dev/null 2>&1
check "create -> inspect says created" test "$(state c1)" = created
out=$(pm start -a c1 2>&1); rc=$?
check "start -a runs it: output and exit code (got: $out, $rc)" test "$out/$rc" = "started/5"
check "... then inspect says exited" test "$(state c1)" = exited

# --- memory limit ----------------------------------------------------------
out=$(prun --rm --memory 32m --memory-swap 32m "$IMG" sh -c "$MEMFILE" 2>&1)
check "--memory 32m is visible in the container's cgroup (got: $out)" test "$out" = 33554432

prun -d --name mem --memory 48m --memory-swap 48m "$IMG" sleep 1000 >/dev/null 2>&1
mid=$(pm inspect --format '{{.Id}}' mem 2>/dev/null)
hostfile=$(cgroup_dirs "$mid" | grep -m1 /memory/)/memory.limit_in_bytes
[ -e "$hostfile" ] || hostfile=$(cgroup_dirs "$mid" | head -1)/memory.max
got=$(cat "$hostfile" 2>/dev/null)
check "--memory 48m lands in the host's cgroup for the container (got: $got)" test "$got" = 50331648
pm rm -f -t 0 mem >/dev/null 2>&1

# 100 MB in a shell variable under a 32 MB limit without swap: the OOM killer.
prun --rm --memory 32m --memory-swap 32m "$IMG" \
  sh -c 'x=$(head -c 104857600 /dev/zero | tr "\0" a); echo survived ${#x}' >/dev/null 2>&1; rc=$?
check "a memory limit is enforced: allocating 100 MB under 32m -> OOM kill ($rc)" test "$rc" = 137
out=$(prun --rm --memory 256m --memory-swap 256m "$IMG" \
  sh -c 'x=$(head -c 10485760 /dev/zero | tr "\0" a); echo ${#x}' 2>&1)
check "... while the same allocation fits under a larger limit (got: $out)" test "$out" = 10485760

# --- attacks and hostile profiles (as in 16_runtime_hardening.sh) ----------
# A default-deny seccomp profile allowing only execve and busybox echo's own
# syscalls (Docker's profile format, which podman reads).
names='["execve","arch_prctl","brk","exit_group","getrandom","getuid","mprotect","prctl","prlimit64","readlink","rseq","set_robust_list","set_tid_address","write"]'
echo "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":$names,\"action\":\"SCMP_ACT_ALLOW\"}]}" > "$TMP/deny.json"
out=$(prun --rm --security-opt seccomp="$TMP/deny.json" --security-opt no-new-privileges "$IMG" echo filtered-ok 2>&1)
check "run under a default-deny seccomp profile with no-new-privileges (got: $out)" test "$out" = filtered-ok
out=$(prun --rm --security-opt seccomp="$TMP/deny.json" "$IMG" echo filtered-ok 2>&1)
check "run under a default-deny seccomp profile without no-new-privileges (got: $out)" test "$out" = filtered-ok
sleepnames='["execve","arch_prctl","brk","exit_group","getrandom","getuid","mprotect","prctl","prlimit64","readlink","rseq","set_robust_list","set_tid_address","write","nanosleep","clock_nanosleep"]'
echo "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":$sleepnames,\"action\":\"SCMP_ACT_ALLOW\"}]}" > "$TMP/deny-sleep.json"
for nnp in "--security-opt no-new-privileges" ""; do
  prun -d --name filt --security-opt seccomp="$TMP/deny-sleep.json" $nnp "$IMG" sleep 1000 >/dev/null 2>&1
  out=$(pm exec filt echo exec-filtered-ok 2>&1)
  check "exec into a container under a default-deny profile${nnp:+ with no-new-privileges} (got: $out)" test "$out" = exec-filtered-ok
  pm rm -f -t 0 filt >/dev/null 2>&1
done

# CVE-2024-21626: a workdir of /proc/self/fd/N, and a joining `podman exec`
# watched by an attacker inside, never reach a host-only file.
mkdir -p "$TMP/host-only"; echo "host secret $$" > "$TMP/host-only/secret"
MARK_REL=${TMP#/}/host-only/secret
leaked=""
for n in 3 4 5 6 7 8; do
  out=$(prun --rm -w "/proc/self/fd/$n" "$IMG" sh -c "cd ../../../../../../..; cat ./$MARK_REL" 2>&1)
  grep -q "host secret" <<<"$out" && leaked+=" $n"
done
check "run -w /proc/self/fd/N never reaches the host (fds 3-8${leaked:+; leaked via$leaked})" test -z "$leaked"
if cc -static -O2 -o "$TMP/fdwalk" "$ROOT/tests/attack/fdwalk.c" 2>/dev/null &&
   prun -d --name atk -v "$TMP/fdwalk:/fdwalk:ro" "$IMG" sh -c "/fdwalk 60 '$MARK_REL' /tmp/stop > /tmp/attack.out 2>&1; echo done \$? >> /tmp/attack.out; sleep 1000" >/dev/null 2>&1; then
  for i in $(seq 20); do pm exec atk true >/dev/null 2>&1; done
  pm exec atk touch /tmp/stop >/dev/null 2>&1
  for _ in $(seq 50); do pm exec atk grep -q '^done' /tmp/attack.out 2>/dev/null && break; sleep 0.2; done
  out=$(pm exec atk cat /tmp/attack.out 2>&1)
  check "an attacker inside reaches no host directory through 20 podman execs (got: $(echo $out))" \
    bash -c "grep -q '^done 1' <<<\"\$1\" && ! grep -q 'host secret' <<<\"\$1\"" _ "$out"
  pm rm -f -t 0 atk >/dev/null 2>&1
else
  not_ok "start the attacker container"
fi

# --- rm cleans everything --------------------------------------------------
ids=()
for n in p1 trap deaf usr1 c1; do ids+=("$(pm inspect --format '{{.Id}}' "$n" 2>/dev/null)"); done
pm rm -f -t 0 p1 trap deaf usr1 c1 >/dev/null 2>&1
left=$(pm ps -a --format '{{.Names}}' 2>&1)
check "rm removes the containers from podman (left: $left)" test -z "$left"
state_left="" cg_left=""
for i in "${ids[@]}" "$mid"; do
  [ -n "$i" ] || continue
  [ -e "$VROOT/$i" ] && state_left+=" $i"
  cg_left+=$(cgroup_dirs "$i")
done
check "rm leaves no vessel state under $VROOT${state_left:+ (left:$state_left)}" test -z "$state_left"
check "rm leaves no cgroup directories for the containers${cg_left:+ (left: $cg_left)}" test -z "$cg_left"

# a container whose process is gone by the time podman looks is cleaned too
rid=$(prun -d "$IMG" true 2>/dev/null)
pm wait "$rid" >/dev/null 2>&1
out=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$rid" 2>&1)
check "a short-lived detached container ends as exited 0 (got: $out)" test "$out" = "exited 0"
pm rm -f -t 0 "$rid" >/dev/null 2>&1
check "... and rm cleans it too" test -n "$rid" -a ! -e "$VROOT/$rid" -a -z "$(cgroup_dirs "${rid:-none}")"
