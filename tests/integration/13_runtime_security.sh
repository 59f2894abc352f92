#!/usr/bin/env bash
# CVE-2019-5736: the runtime binary must not be reachable for writing from a
# container. Every vessel process that enters a container runs from a sealed
# view of the binary (a detached read-only overlayfs, or a sealed memfd copy
# where that is not possible), so /proc/<pid>/exe there is not the host binary.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

B=$TMP/bundle
make_bundle "$B" sleep 100
vs create --bundle "$B" sec1
pid=$(vs state sec1 | jq -r .pid)
exe=$(readlink /proc/$pid/exe) exefs=$(stat -f -c %T /proc/$pid/exe)
check "the waiting container process runs from a sealed view, not $VESSEL (exe $exe on $exefs)" \
  bash -c "[[ '$exe' != '$VESSEL' && ( '$exe' == /memfd:* || '$exefs' == overlayfs ) ]]"
check "its /proc/pid/exe cannot be opened for writing" bash -c "! (echo x >> /proc/$pid/exe) 2>/dev/null"
check "none of its mappings is of $VESSEL either (/proc/pid/map_files would reach it)" \
  bash -c "! grep -q ' $VESSEL\$' /proc/$pid/maps"
sum_before=$(sha256sum "$VESSEL" | cut -d' ' -f1)
vs start sec1
# From inside: try to overwrite the runtime through the exe link of a vessel exec process.
vs exec -d sec1 sh -c 'for i in $(seq 200); do for p in /proc/[0-9]*; do echo pwned 2>/dev/null > $p/exe; done; done'
vs exec sec1 true
sleep 0.5
check "the host binary is unchanged after a container tried to overwrite it" \
  [ "$(sha256sum "$VESSEL" | cut -d' ' -f1)" = "$sum_before" ]
check "a container cannot see the host's /proc/self/exe target of the runtime" \
  bash -c "! '$VESSEL' --root '$STATE' exec sec1 sh -c 'ls -l /proc/*/exe 2>/dev/null' | grep -q '$VESSEL'"

# The attack itself, by a container that may look at the runtime: B shares
# A's pid namespace and has CAP_SYS_PTRACE, so the non-dumpable flag does not
# keep it from opening the exe of A's waiting init (a vessel process) or of a
# `vessel exec` process joining A. It holds those fds until the runtime is
# gone, then writes through them (/proc/self/fd/N reopens the file itself),
# as the CVE-2019-5736 exploit did.
A=$TMP/a Bb=$TMP/b
make_bundle "$A" sleep 100
vs create --bundle "$A" victim
apid=$(vs state victim | jq -r .pid)
make_bundle "$Bb" sh /attack.sh
cat > "$Bb/rootfs/attack.sh" <<'EOF'
exec 2>/dev/null # failures are expected; what succeeds is reported on stdout
n=0 seen=
while [ ! -e /go ] && [ $n -lt 20 ]; do
  for p in /proc/[0-9]*; do
    case "$seen " in *" $p "*) continue ;; esac
    l=$(readlink $p/exe 2>/dev/null) || continue
    case $l in /bin/*) continue ;; esac
    n=$((n + 1)) seen="$seen $p"
    eval "command exec $((n + 10))<$p/exe" && echo "held $p -> $l"
    echo pwned >> $p/exe && echo "WROTE through $p/exe"
  done
  sleep 0.01
done
while [ ! -e /go ]; do sleep 0.05; done
for fd in $(seq 11 $((n + 10))); do
  [ -e /proc/self/fd/$fd ] || continue
  echo pwned >> /proc/self/fd/$fd && echo "WROTE through fd $fd"
  echo pwned > /proc/self/fd/$fd && echo "WROTE (truncating) through fd $fd"
done
echo done
EOF
jq_edit "$Bb" "(.linux.namespaces[] | select(.type == \"pid\")) |= {type: \"pid\", path: \"/proc/$apid/ns/pid\"}
  | .process.capabilities |= with_entries(.value += [\"CAP_SYS_PTRACE\"])"
vs run -d --bundle "$Bb" attacker > "$TMP/attack.out" 2>&1
for i in $(seq 100); do grep -q '^held /proc/1 ' "$TMP/attack.out" && break; sleep 0.05; done
vs start victim
for i in $(seq 20); do vs exec victim true; done
touch "$Bb/rootfs/go"
for i in $(seq 100); do grep -q '^done' "$TMP/attack.out" && break; sleep 0.1; done
out=$(cat "$TMP/attack.out")
check "a container holding CAP_SYS_PTRACE got fds on the runtime's exe (the seal is what is tested): $(grep -c '^held' <<<"$out")" \
  grep -q '^held /proc/1 ' <<<"$out"
check "... could write through none of them, before or after the runtime exited" \
  bash -c "grep -q '^done' <<<'$out' && ! grep -q WROTE <<<'$out'"
check "... and the host binary is unchanged" [ "$(sha256sum "$VESSEL" | cut -d' ' -f1)" = "$sum_before" ]
