#!/usr/bin/env bash
# CVE-2019-5736: the runtime binary must not be reachable for writing from a
# container. Every vessel process that enters a container runs from a sealed
# memfd copy, so /proc/<pid>/exe there is not the host binary.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

B=$TMP/bundle
make_bundle "$B" sleep 100
vs create --bundle "$B" sec1
pid=$(vs state sec1 | jq -r .pid)
exe=$(readlink /proc/$pid/exe)
check "the waiting container process runs from a sealed memfd, not $VESSEL" bash -c "[[ '$exe' == /memfd:* ]]"
check "its /proc/pid/exe cannot be opened for writing" bash -c "! (echo x >> /proc/$pid/exe) 2>/dev/null"
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
