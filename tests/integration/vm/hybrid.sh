#!/usr/bin/env bash
# VM-isolated containers (`vessel --isolation vm run`, `vessel-vm run`, the
# annotation io.vessel.isolation=vm): the busybox bundle runs in a microVM of
# its own, booted from the agent's initramfs (build/vessel-agent-<release>.cpio)
# with the bundle's rootfs as an ext4 disk, and behaves as `vessel run`
# does: output, exit status (128+N for a signal), stdin, the image's files,
# `state`/`list` while it runs, SIGTERM to the runtime passed on to the
# process, and an exec failure reported with its reason. The process sees the
# guest: its /proc/1 is the agent, not a container's own init. Then the runc
# lifecycle split (create/start/state/exec/ps/events/pause/resume/kill/
# delete, a front end killed mid-create, run -d) and Podman with vessel-vm as
# its runtime (run --rm, exit code, its bind-mounted /etc/hosts, exec, stop).
# Needs a KVM that boots Linux: run by 20_vm_ring3.sh in the nested test host
# (or directly on hardware KVM).
source "$(dirname "$0")/../../lib.sh"
source "$ROOT/tests/vmhost/initramfs.sh"
vmhost_kernel || { not_ok "hybrid: no guest kernel"; exit 0; }
VM=$(dirname "$VESSEL")/vessel-vm
[ -e "$(dirname "$VESSEL")/vessel-agent-$KREL.cpio" ] ||
  { not_ok "hybrid: no agent initramfs for $KREL next to $VESSEL (make builds it)"; exit 0; }

B=$TMP/bundle
make_bundle "$B" echo hello || { not_ok "hybrid: make the bundle"; exit 0; }
echo "from the image" > "$B/rootfs/hello.txt"

# hrun NAME CMD... : run with a deadline for a hung guest (not a timing check);
# output in $TMP/NAME.out/.err, status in $rc.
hrun() {
  local name=$1; shift
  timeout 600 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; rc=$?
  [ "$rc" = 0 ] || sed "s/^/# $name: /" "$TMP/$name.err"
}

hrun hello "$VESSEL" --root "$STATE" --isolation vm run -b "$B" h1 </dev/null
if [ "$rc" = 0 ] && [ "$(cat "$TMP/hello.out")" = hello ]; then ok "hybrid: --isolation vm run of echo hello prints hello and exits 0"
else not_ok "hybrid: --isolation vm run of echo hello prints hello and exits 0 (rc $rc: $(head -c 300 "$TMP/hello.out"))"; fi
check "hybrid: run leaves no state behind" test -z "$(ls -A "$STATE" 2>/dev/null)"

# vessel-vm: stdin relayed, a file of the image, the guest's PID 1, exit 7.
jq_edit "$B" '.process.args = ["sh", "-c", "read line; echo \"got $line\"; cat /hello.txt; cat /proc/1/comm; echo oops >&2; exit 7"]'
hrun multi "$VM" --root "$STATE" run -b "$B" h2 <<<"a line of input"
check "hybrid: vessel-vm run exits with the process's status (7)" test "$rc" = 7
check "hybrid: stdin reaches the process" grep -qx "got a line of input" "$TMP/multi.out"
check "hybrid: a file of the bundle's rootfs is readable in the guest" grep -qx "from the image" "$TMP/multi.out"
check "hybrid: the process runs in the guest (its PID 1 is the agent)" grep -qx "init" "$TMP/multi.out"
check "hybrid: stderr is relayed apart from stdout" grep -qx "oops" "$TMP/multi.err"

# The annotation alone, with the plain name: a signal's death is 128+N.
jq_edit "$B" '.annotations["io.vessel.isolation"] = "vm" | .process.args = ["sh", "-c", "cat /proc/1/comm; kill -9 $$"]'
hrun annot "$VESSEL" --root "$STATE" run -b "$B" h3 </dev/null
check "hybrid: the annotation io.vessel.isolation=vm runs it in a VM" grep -qx "init" "$TMP/annot.out"
check "hybrid: a process killed by SIGKILL exits 137" test "$rc" = 137

# While it runs: `state` and `list` show it (pid: the keeper, the VMM's parent); SIGTERM
# to the runtime reaches the process in the guest (sh dies of it: 143).
jq_edit "$B" 'del(.annotations) | .process.args = ["sh", "-c", "echo up; sleep 300"]'
# No `timeout` in between: $runner must be the runtime itself.
"$VESSEL" --root "$STATE" --isolation vm run -b "$B" h5 </dev/null >"$TMP/long.out" 2>"$TMP/long.err" &
runner=$!
(sleep 600; kill -KILL "$runner" 2>/dev/null) &   # a deadline for a hung guest, not a timing check
on_exit "kill $! 2>/dev/null"
for _ in $(seq 3000); do grep -q up "$TMP/long.out" 2>/dev/null && break; kill -0 $runner 2>/dev/null || break; sleep 0.1; done
st=$("$VESSEL" --root "$STATE" state h5 2>&1)
vmm=$(jq -r .pid <<<"$st" 2>/dev/null)
if jq -e '.status == "running" and .annotations["io.vessel.isolation"] == "vm"' >/dev/null 2>&1 <<<"$st" &&
   [ "$(ps -o ppid= -p "$vmm" 2>/dev/null | tr -d ' ')" = "$runner" ] && [ -n "$(pgrep -P "$vmm")" ]; then
  ok "hybrid: state shows the running container, its pid the keeper (a child of run, parent of the VMM)"
else not_ok "hybrid: state shows the running container, its pid the keeper ($st; runner $runner)"; fi
check "hybrid: list shows it" grep -q "^h5 .*running" <(vs list)
kill -TERM $runner
wait $runner; rc=$?
check "hybrid: SIGTERM to the runtime is passed to the process (exit 143)" test "$rc" = 143
[ "$rc" = 143 ] || sed 's/^/# long: /' "$TMP/long.err"

# An exec failure comes back from the agent with its reason.
jq_edit "$B" '.process.args = ["/nonexistent"]'
hrun noexec "$VESSEL" --root "$STATE" --isolation vm run -b "$B" h4 </dev/null
if [ "$rc" = 1 ] && grep -q "agent: .*nonexistent" "$TMP/noexec.err"; then ok "hybrid: a missing program is reported by the agent, status 1"
else not_ok "hybrid: a missing program is reported by the agent, status 1 (rc $rc: $(cat "$TMP/noexec.err"))"; fi
check "hybrid: state is gone after each run" test -z "$(ls -A "$STATE" 2>/dev/null)"

# ---- the runc lifecycle, split: create / start / exec / ps / pause / kill / delete
# gone ID: no process of this test's runtime root is left (the keeper and
# the VMM are forks of `vessel --root $STATE ...`), nor its state dir.
left() { pgrep -f -- "--root $STATE" | grep -vx "$$" ; }
# jqt FILTER JSON: the filter holds for the JSON.
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$2"; }
echo "from a host bind mount" >"$TMP/bindfile"
jq_edit "$B" '.root.readonly = false | .process.args = ["sh", "-c", "echo started; cat /etc/vessel-bind; exec sleep 300"]
  | .mounts += [{"destination": "/etc/vessel-bind", "type": "bind", "source": "'"$TMP/bindfile"'", "options": ["rbind", "ro"]}]'
t0=$EPOCHREALTIME
timeout 600 "$VM" --root "$STATE" create -b "$B" --pid-file "$TMP/c1.pid" c1 </dev/null >"$TMP/c1.out" 2>"$TMP/c1.err"; rc=$?
t1=$EPOCHREALTIME
check "hybrid: create boots the VM and exits 0" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# c1: /' "$TMP/c1.err"
st=$(vs state c1 2>&1)
if jq -e '.status == "created"' >/dev/null 2>&1 <<<"$st" && [ "$(jq -r .pid <<<"$st")" = "$(cat "$TMP/c1.pid" 2>/dev/null)" ] &&
   kill -0 "$(jq -r .pid <<<"$st")" 2>/dev/null; then ok "hybrid: created: state says so, its pid (the pid file's) alive"
else not_ok "hybrid: created: state says so, its pid (the pid file's) alive ($st)"; fi
check "hybrid: created: the process has not started" test ! -s "$TMP/c1.out"
check "hybrid: exec before start is refused" sh -c "! '$VESSEL' --root '$STATE' exec c1 true 2>/dev/null"
vs start c1; rc=$?
for _ in $(seq 3000); do grep -q started "$TMP/c1.out" 2>/dev/null && break; sleep 0.01; done
t2=$EPOCHREALTIME
check "hybrid: start exits 0 and the process prints" test "$rc" = 0 -a -n "$(grep started "$TMP/c1.out")"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "# create %.2f s, start to first output %.3f s (nested host, TCG: not a benchmark)\n", b - a, c - b }'
check "hybrid: a host file bind-mounted in config.json is there in the guest" grep -qx "from a host bind mount" "$TMP/c1.out"
check "hybrid: running after start" grep -q '"status": "running"' <(vs state c1)
kp=$(vs state c1 | jq -r .pid) vp=$(pgrep -P "$(vs state c1 | jq -r .pid)" | head -1)
echo "# PSS: keeper $(awk '/^Pss:/ { print $2 }' /proc/$kp/smaps_rollup 2>/dev/null) KiB, VMM $(awk '/^Pss:/ { print $2 }' /proc/$vp/smaps_rollup 2>/dev/null) KiB (guest RAM touched included)"
check "hybrid: delete without --force refuses a running container" sh -c "! '$VESSEL' --root '$STATE' delete c1 2>/dev/null"

out=$(timeout 120 "$VESSEL" --root "$STATE" exec c1 sh -c 'cat /hello.txt; echo oops >&2; exit 5' </dev/null 2>"$TMP/e1.err"); rc=$?
check "hybrid: exec runs in the container's rootfs and gives back its exit code (5)" test "$rc" = 5 -a "$out" = "from the image"
check "hybrid: exec's stderr comes apart" grep -qx oops "$TMP/e1.err"
out=$(echo piped | timeout 120 "$VESSEL" --root "$STATE" exec --env FOO=bar --cwd /tmp c1 sh -c 'read l; echo "$l $FOO $PWD"' 2>&1)
check "hybrid: exec passes stdin, --env and --cwd (got: $out)" test "$out" = "piped bar /tmp"
out=$(timeout 120 "$VESSEL" --root "$STATE" exec c1 /nonexistent 2>&1 </dev/null); rc=$?
check "hybrid: exec of a missing program fails with the agent's reason" test "$rc" != 0 -a -n "$(grep -i nonexistent <<<"$out")"
timeout 120 "$VESSEL" --root "$STATE" exec -d --pid-file "$TMP/e2.pid" c1 sh -c 'echo detached >/tmp/d; sleep 2' </dev/null; rc=$?
check "hybrid: exec --detach returns 0 with a pid file of a live process" test "$rc" = 0 -a -d "/proc/$(cat "$TMP/e2.pid" 2>/dev/null)"
for _ in $(seq 600); do [ -d "/proc/$(cat "$TMP/e2.pid" 2>/dev/null)" ] || break; sleep 0.1; done
out=$(timeout 120 "$VESSEL" --root "$STATE" exec c1 cat /tmp/d </dev/null 2>&1)
check "hybrid: the detached exec ran in the guest and its keeper ended with it" test "$out" = detached -a ! -d "/proc/$(cat "$TMP/e2.pid")"
out=$(timeout 120 "$VESSEL" --root "$STATE" ps c1 2>&1)
check "hybrid: ps lists the container's process (got: $(echo $out))" grep -qE '^[0-9]+ +sleep$' <<<"$out"
if grep -qE '^1 ' <<<"$out"; then not_ok "hybrid: ps leaves out the agent"; else ok "hybrid: ps leaves out the agent"; fi
out=$(timeout 120 "$VESSEL" --root "$STATE" ps --format json c1 2>&1)
check "hybrid: ps --format json is a list of pids (got: $out)" jqt 'type == "array" and length >= 1 and (.[0] | type) == "number"' "$out"

out=$(timeout 120 "$VESSEL" --root "$STATE" events --stats c1 2>&1)
check "hybrid: events --stats: the VM's CPU time and memory, the guest's RAM as the limit, its processes (got: $out)" \
  jqt '.type == "stats" and .data.cpu.usage.total > 0 and .data.memory.usage.usage > 0 and
       .data.memory.usage.limit == 268435456 and .data.pids.current >= 1' "$out"
vs pause c1; rc=$?
check "hybrid: pause pauses the VM (state: paused)" test "$rc" = 0 -a -n "$(vs state c1 | grep '"status": "paused"')"
check "hybrid: exec into a paused container is refused" sh -c "! timeout 60 '$VESSEL' --root '$STATE' exec c1 true 2>/dev/null"
vs resume c1; rc=$?
out=$(timeout 120 "$VESSEL" --root "$STATE" exec c1 echo back </dev/null 2>&1)
check "hybrid: resume: running again, exec works" test "$rc" = 0 -a "$out" = back -a -n "$(vs state c1 | grep '"status": "running"')"

vs kill c1 TERM; rc=$?
for _ in $(seq 600); do grep -q '"status": "stopped"' <(vs state c1) && break; sleep 0.1; done
check "hybrid: kill TERM reaches the process in the guest: stopped" test "$rc" = 0 -a -n "$(vs state c1 | grep '"status": "stopped"')"
check "hybrid: kill of a stopped container is refused" sh -c "! '$VESSEL' --root '$STATE' kill c1 KILL 2>/dev/null"
vs delete c1; rc=$?
check "hybrid: delete leaves nothing: no state dir, no keeper, no VMM" test "$rc" = 0 -a ! -e "$STATE/c1" -a -z "$(left)"

# A front end killed half-way through create: its state is there, delete -f
# clears all of it. Then SIGKILL of a running one.
jq_edit "$B" '.process.args = ["sleep", "300"]'
"$VM" --root "$STATE" create -b "$B" c2 </dev/null >/dev/null 2>&1 &
front=$!
for _ in $(seq 600); do [ -S "$STATE/c2/vsock_1024" ] && [ -s "$STATE/c2/vmm.pid" ] && break; sleep 0.05; done
kill -KILL $front; wait $front 2>/dev/null
st=$(vs state c2 2>&1)
check "hybrid: a create killed mid-boot leaves a state that says creating/created (got: $(jq -r .status <<<"$st" 2>&1))" \
  grep -qE '"status": "(creating|created)"' <<<"$st"
vs delete -f c2; rc=$?
check "hybrid: delete -f of it leaves nothing" test "$rc" = 0 -a ! -e "$STATE/c2" -a -z "$(left)"
timeout 600 "$VM" --root "$STATE" run -d -b "$B" c3 </dev/null >/dev/null 2>"$TMP/c3.err"; rc=$?
check "hybrid: run --detach: running" test "$rc" = 0 -a -n "$(vs state c3 | grep '"status": "running"')"
[ "$rc" = 0 ] || sed 's/^/# c3: /' "$TMP/c3.err"
vs kill c3 KILL
check "hybrid: kill KILL: stopped" grep -q '"status": "stopped"' <(vs state c3)
vs delete -f c3
check "hybrid: delete -f: nothing left" test ! -e "$STATE/c3" -a -z "$(left)"

# ---- Podman with build/vessel-vm as its runtime (conmon drives create/start/state/kill/delete)
IMG=localhost/busybox:vessel
PR="$TMP/podman"
mkdir -p "$PR"/{storage,runroot,tmp}
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s"\nlock_type = "file"\n' \
  "$PR/tmp/events.log" >"$PR/containers.conf"
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' "$PR/storage" "$PR/runroot" >"$PR/storage.conf"
echo 'unqualified-search-registries = []' >"$PR/registries.conf"
export CONTAINERS_CONF="$PR/containers.conf" CONTAINERS_STORAGE_CONF="$PR/storage.conf" CONTAINERS_REGISTRIES_CONF="$PR/registries.conf"
pm() {
  timeout 600 podman --root "$PR/storage" --runroot "$PR/runroot" --tmpdir "$PR/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime "$VM" "$@"
}
RUNOPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
on_exit 'pm rm -a -f -t 0; pm rmi -a -f'
if ! command -v podman >/dev/null; then not_ok "hybrid: podman is not installed (scripts/setup.sh installs it)"
elif ! out=$(bash "$ROOT/tests/images/mkimage.sh" "$TMP/busybox-oci.tar" 2>&1) || ! out=$(pm load -q -i "$TMP/busybox-oci.tar" 2>&1); then
  not_ok "hybrid: podman: load the busybox image ($out)"
else
  out=$(pm run --rm "${RUNOPTS[@]}" "$IMG" sh -c 'echo ok; cat /proc/1/comm' 2>"$TMP/pm1.err")
  check "hybrid: podman --runtime vessel-vm run --rm busybox echo ok (got: $(echo $out))" test "$out" = "ok
init"
  [ "$out" = "ok
init" ] || sed 's/^/# podman: /' "$TMP/pm1.err"
  out=$(pm run --name pmh --hostname vmpod "${RUNOPTS[@]}" "$IMG" sh -c 'cat /etc/hosts; echo ==; hostname; exit 7' 2>&1); rc=$?
  check "hybrid: podman: the exit code comes through conmon (7, got $rc)" test "$rc" = 7
  hosts=$(cat "$(pm inspect --format '{{.HostsPath}}' pmh 2>/dev/null)" 2>/dev/null)
  check "hybrid: podman: /etc/hosts in the guest is podman's bind-mounted file" test -n "$hosts" -a "${out%%
==*}" = "$hosts"
  check "hybrid: podman: the hostname is podman's" test "${out##*==
}" = vmpod
  pm rm -f pmh >/dev/null 2>&1
  # Detached, exec (conmon runs `exec --detach --pid-file --process`), stop (kill TERM through the agent).
  pm run -d --name pmd "${RUNOPTS[@]}" "$IMG" sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 1; done' >/dev/null 2>"$TMP/pmd.err"
  for _ in $(seq 600); do pm logs pmd 2>/dev/null | grep -q ready && break; sleep 1; done
  out=$(pm exec pmd sh -c 'echo exec-out; exit 3' 2>&1); rc=$?
  check "hybrid: podman exec runs in the VM and gives back its exit code (3, got $rc: $out)" test "$rc" = 3 -a "$out" = exec-out
  pm stop -t 120 pmd >/dev/null 2>&1
  out=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' pmd 2>&1)
  check "hybrid: podman stop: SIGTERM reaches the trapping process in the guest (got: $out)" test "$out" = "exited 42"
  [ "$out" = "exited 42" ] || sed 's/^/# pmd: /' "$TMP/pmd.err"
  pm rm -f pmd >/dev/null 2>&1
  check "hybrid: podman: nothing is left under the runtime's root" test -z "$(ls -A /run/vessel 2>/dev/null)"
fi
