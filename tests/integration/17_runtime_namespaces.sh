#!/usr/bin/env bash
# Namespaces exactly as runtime-spec 1.2 says: a type that is not listed is
# inherited from the runtime (the mount namespace too), every type can be
# joined by path (the user namespace first), and a container that shares
# the runtime's mount namespace leaves no mount of it behind at delete.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

# The host's mount table as mount points + filesystems (ids change, those do not).
mounts_of() { awk '{ for (i = 7; $i != "-"; i++); print $5, $(i+1), $(i+2) }' "/proc/${1:-self}/mountinfo" | sort; }
ns_of() { readlink "/proc/${2:-self}/ns/$1"; }

# --- no mount namespace: inherited ---------------------------------------------
B=$TMP/nomnt
make_bundle "$B" sh -c 'echo pid=$$; cat /marker; readlink /proc/self/ns/mnt'
echo "in the rootfs" > "$B/rootfs/marker"
jq_edit "$B" 'del(.linux.namespaces[] | select(.type == "mount"))'
before=$(mounts_of)
out=$(vs run --bundle "$B" nomnt1 2>&1 </dev/null); rc=$?
check "a config without a mount namespace runs (rc $rc: $(echo $out))" test "$rc" = 0
check "... in the runtime's mount namespace, chrooted to its rootfs, with its own /proc" \
  test "$(echo $out)" = "pid=1 in the rootfs $(ns_of mnt)"
vs delete -f nomnt1 >/dev/null 2>&1
after=$(mounts_of)
check "... and delete leaves the host's mount table as it was" test "$before" = "$after"
diff <(echo "$before") <(echo "$after") | head -5 | sed 's/^/# /'

# exec into it sees the container's root, not the host's.
jq_edit "$B" '.process.args = ["sleep", "1000"]'
vs run -d --bundle "$B" nomnt2 </dev/null >/dev/null 2>&1
out=$(vs exec nomnt2 sh -c 'cat /marker; ls /proc/1/exe >/dev/null && echo proc-ok' 2>&1)
check "exec into it runs in the container's root (got: $(echo $out))" test "$(echo $out)" = "in the rootfs proc-ok"
out=$(vs exec nomnt2 sh -c "cat $TMP/nomnt/rootfs/marker 2>/dev/null || echo no-host-path" 2>&1)
check "... and cannot see the host's paths (got: $out)" test "$out" = no-host-path
vs delete -f nomnt2 >/dev/null 2>&1
check "delete of a running one leaves the host's mount table as it was" test "$before" = "$(mounts_of)"

# A failed create in the shared namespace leaves nothing either.
jq_edit "$B" '.process.args = ["/no/such/program"]'
vs run --bundle "$B" nomnt3 </dev/null >/dev/null 2>&1
vs delete -f nomnt3 >/dev/null 2>&1
check "a failed create in the shared namespace leaves no mount behind" test "$before" = "$(mounts_of)"

# --- no namespaces at all -------------------------------------------------------
B2=$TMP/nons
make_bundle "$B2" sh -c 'for t in pid net mnt; do readlink /proc/self/ns/$t; done; cat /marker'
echo "nons rootfs" > "$B2/rootfs/marker"
jq_edit "$B2" '.linux.namespaces = [] | del(.hostname)'
out=$(vs run --bundle "$B2" nons1 2>&1 </dev/null); rc=$?
check "a config with no namespaces at all runs in the runtime's namespaces (rc $rc: $(echo $out))" \
  test "$(echo $out)" = "$(ns_of pid) $(ns_of net) $(ns_of mnt) nons rootfs"
vs delete -f nons1 >/dev/null 2>&1
check "... and delete leaves the host's mount table as it was" test "$before" = "$(mounts_of)"

# --- joining by path --------------------------------------------------------------
# A: an ordinary container with its own user namespace; B joins A's user,
# mount, network, uts and ipc namespaces by path. A joined mount namespace is
# its owner's: B mounts nothing in it and runs at root.path as seen there.
A=$TMP/a
make_bundle "$A" sleep 1000
echo "only in A" > "$A/rootfs/only-a"
jq_edit "$A" '.root.readonly = false | .linux.namespaces += [{type: "user"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]'
chown -R 200000:200000 "$A/rootfs"
vs run -d --bundle "$A" joina </dev/null >/dev/null 2>&1
apid=$(vs state joina | jq -r .pid)
check "container A with a user namespace runs" test -n "$apid" -a -d "/proc/${apid:-none}"
a_mounts=$(mounts_of "$apid")
C=$TMP/c
make_bundle "$C" sleep 1000
jq_edit "$C" ".root.path = \"/\" | .mounts = [] | .linux.maskedPaths = [] | .linux.readonlyPaths = []
  | del(.hostname) | .root.readonly = false
  | .linux.namespaces = [{type: \"pid\"}] + ([\"user\", \"mount\", \"network\", \"uts\", \"ipc\"]
      | map({type: ., path: (\"/proc/$apid/ns/\" + (if . == \"mount\" then \"mnt\" elif . == \"network\" then \"net\" else . end))}))"
vs run -d --bundle "$C" joinc >"$TMP/c.out" 2>&1 </dev/null; rc=$?; out=$(cat "$TMP/c.out")
cpid=$(vs state joinc 2>/dev/null | jq -r .pid)
got=$(for t in user mnt net uts ipc; do ns_of $t "$cpid"; done 2>&1 | tr '\n' ' ')
want=$(for t in user mnt net uts ipc; do ns_of $t "$apid"; done | tr '\n' ' ')
check "B joins A's user, mount, network, uts and ipc namespaces by path (rc $rc $out)" test "$got" = "$want"
[ "$got" = "$want" ] || echo "# got:  $got"$'\n'"# want: $want"
check "... and sees A's files as root of A's user namespace" \
  test "$(vs exec joinc sh -c 'cat /only-a; id -u' 2>&1 | tr '\n' ' ')" = "only in A 0 "
vs delete -f joinc >/dev/null 2>&1
check "... and delete of B leaves A's mount table as it was" test "$a_mounts" = "$(mounts_of "$apid")"
vs delete -f joina >/dev/null 2>&1

# A namespace path that is not a namespace of that type: a clear error.
jq_edit "$C" '.linux.namespaces = [{type: "mount", path: "/proc/self/ns/net"}]'
out=$(vs run --bundle "$C" joinbad 2>&1 </dev/null); rc=$?
vs delete -f joinbad >/dev/null 2>&1
check "joining a mount namespace by a path of another type fails by name (rc $rc: $out)" \
  bash -c "[ $rc != 0 ] && grep -q 'mount namespace' <<<'$out'"
