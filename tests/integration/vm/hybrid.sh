#!/usr/bin/env bash
# VM-isolated containers (`vessel --isolation vm run`, `vessel-vm run`, the
# annotation io.vessel.isolation=vm): the busybox bundle runs in a microVM of
# its own, booted from the agent's initramfs (build/vessel-agent-<release>.cpio)
# with the bundle's rootfs as an ext4 disk, and behaves as `vessel run`
# does: output, exit status (128+N for a signal), stdin, the image's files,
# `state`/`list` while it runs, SIGTERM to the runtime passed on to the
# process, and an exec failure reported with its reason. The process sees the
# guest: its /proc/1 is the agent, not a container's own init.
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

# While it runs: `state` and `list` show it (pid: the VMM process); SIGTERM
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
   [ "$(ps -o ppid= -p "$vmm" 2>/dev/null | tr -d ' ')" = "$runner" ]; then
  ok "hybrid: state shows the running container, its pid the VMM process"
else not_ok "hybrid: state shows the running container, its pid the VMM process ($st; runner $runner)"; fi
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
