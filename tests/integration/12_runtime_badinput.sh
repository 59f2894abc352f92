#!/usr/bin/env bash
# Bad input gets one clear message naming the field or object, a non-zero
# exit, and leaves no half-made container, cgroup or state behind. A runtime
# killed half-way leaves nothing that breaks list, state or delete.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

B=$TMP/bundle
make_bundle "$B" sleep 100
good=$(cat "$B/config.json")

# fails_with NAME TEXT CMD...: CMD exits non-zero and its stderr contains TEXT.
fails_with() {
  local name=$1 text=$2; shift 2
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [[ $out == *"$text"* ]]; then ok "$name"; else not_ok "$name (rc=$rc: $out)"; fi
}
nothing_left() { # ID: no state, no cgroup dirs anywhere
  [ ! -e "$STATE/$1" ] && ! ls -d /sys/fs/cgroup/*/vessel/"$1" /sys/fs/cgroup/vessel/"$1" >/dev/null 2>&1
}

echo '{"ociVersion": "1.2.0", "process": ' > "$B/config.json"
fails_with "malformed JSON is reported" "config.json" vs create --bundle "$B" bad1
check "malformed JSON leaves nothing" nothing_left bad1

echo "$good" | jq '.process.args = []' > "$B/config.json"
fails_with "empty process.args is named" "process.args" vs create --bundle "$B" bad2
check "invalid config leaves nothing" nothing_left bad2

echo "$good" | jq '.linux.namespaces += [{type:"bogus"}]' > "$B/config.json"
fails_with "an unknown namespace type is named" "linux.namespaces" vs create --bundle "$B" bad3

echo "$good" | jq '.process.user.uid = "root"' > "$B/config.json"
fails_with "a wrongly typed field is named" "process.user.uid" vs create --bundle "$B" bad4

echo "$good" | jq '.root.path = "nosuchdir"' > "$B/config.json"
fails_with "a missing rootfs is named" "nosuchdir" vs create --bundle "$B" bad5
check "a missing rootfs leaves nothing" nothing_left bad5

fails_with "a missing bundle is reported" "$TMP/none" vs create --bundle "$TMP/none" bad6

echo "$good" | jq '.linux.resources.cpu = {cpus: "4095"}' > "$B/config.json"
fails_with "an impossible cpuset is named" "cpus" vs create --bundle "$B" bad7
check "an impossible resource value leaves no cgroup and no state" nothing_left bad7

echo "$good" | jq '.linux.resources.memory = {limit: 67108864, swap: 1048576}' > "$B/config.json"
fails_with "memory.swap below memory.limit is refused" "swap" vs create --bundle "$B" bad8
check "and leaves nothing" nothing_left bad8

echo "$good" | jq '.process.args = ["/no/such/program"]' > "$B/config.json"
fails_with "a missing program is reported at create" "/no/such/program" vs create --bundle "$B" bad9
check "and leaves nothing" nothing_left bad9

echo "$good" > "$B/config.json"
vs create --bundle "$B" dup
fails_with "a duplicate id is refused" "already exists" vs create --bundle "$B" dup
check "the first container is untouched" [ "$(vs state dup | jq -r .status)" = created ]
vs delete -f dup

fails_with "an invalid id is refused" "invalid container id" vs create --bundle "$B" ../escape
for cmd in state start "kill" delete pause resume ps "exec"; do
  args=(nosuch); [ "$cmd" = exec ] && args=(nosuch true)
  fails_with "$cmd of an unknown id names it" "nosuch does not exist" vs $cmd "${args[@]}"
done
fails_with "an unknown flag is named" "--bogus" vs run --bogus x
fails_with "an unknown signal is named" "NOSIG" vs kill x NOSIG
fails_with "an unknown command is named" "frobnicate" vs frobnicate

# A runtime killed while creating: the prestart hook blocks, we SIGKILL vessel.
echo "$good" | jq '.hooks = {prestart: [{path: "/bin/sleep", args: ["sleep", "30"]}]}' > "$B/config.json"
"$VESSEL" --root "$STATE" create --bundle "$B" crash &
vpid=$!
# Up to 30 s: an ASan build on a loaded host can take seconds to get there.
hooked=0
for _ in $(seq 600); do pgrep -f "^sleep 30$" >/dev/null && { hooked=1; break; }; sleep 0.05; done
check "the killed create had reached its prestart hook" [ $hooked = 1 ]
kill -9 $vpid; wait $vpid 2>/dev/null
pkill -f "^sleep 30$" || true
check "list works after a killed create" bash -c "'$VESSEL' --root '$STATE' list | grep -q '^crash '"
check "state works after a killed create" bash -c "set -o pipefail; '$VESSEL' --root '$STATE' state crash | jq -e '.status | strings' >/dev/null"
check "delete cleans up after a killed create" vs delete -f crash
check "nothing is left after that delete" nothing_left crash

mkdir -p "$STATE/half"   # a state dir with no state.json at all
check "a half-written state dir does not break list" vs list
check "and can be deleted" vs delete half
check "and is gone" [ ! -e "$STATE/half" ]

# containerd's shim reads the runtime's error from a JSON log file.
echo '{"ociVersion": "1.2.0", "process": ' > "$B/config.json"
"$VESSEL" --root "$STATE" --log "$TMP/log.json" --log-format json create --bundle "$B" logjson 2>/dev/null
check "--log-format json writes the error as a JSON line with level and msg" \
  bash -c "jq -e 'select(.level == \"error\") | .msg | contains(\"config.json\")' '$TMP/log.json' >/dev/null"
