#!/usr/bin/env bash
# Defects found by trying to break the runtime (issue 6, section 4), one
# block each: ids that mean "unchanged" to setresuid, unbounded or blocking
# reads of files a user names, a runtime SIGKILLed half-way through start or
# delete, openat2 racing a rename in the rootfs, and messages that misled.
source "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || { skip "runtime defects" "needs root"; exit 0; }
CG=/vessel-d14-$$
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done; remove_cgroups'

all_mounts() { awk '/ - cgroup2? / { print $5 }' /proc/self/mountinfo; }
remove_cgroups() {
  for m in $(all_mounts); do
    [ -d "$m$CG" ] && find "$m$CG" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}
# fails_with NAME TEXT CMD...: CMD exits non-zero (not by timeout) and its stderr contains TEXT.
fails_with() {
  local name=$1 text=$2; shift 2
  local out rc
  # stderr to a file: a container that did get made keeps it open, a $(...) would wait on it
  "$@" >/dev/null 2>"$TMP/stderr" </dev/null; rc=$?
  out=$(cat "$TMP/stderr")
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [[ $out == *"$text"* ]]; then ok "$name"; else not_ok "$name (rc=$rc: $out)"; fi
}
nothing_left() { # ID: no state dir, no cgroup dir in any hierarchy
  local m
  [ -e "$STATE/$1" ] && return 1
  for m in $(all_mounts); do [ -e "$m$CG/$1" ] && return 1; done
  return 0
}
# freezer ID: "frozen" if a freeze is asked for on the container's cgroup
# (v1 FROZEN/FREEZING, v2 cgroup.freeze=1), "thawed", or "gone".
freezer() {
  local m
  m=$(awk '/ - cgroup / && $NF ~ /(^|,)freezer(,|$)/ { print $5; exit }' /proc/self/mountinfo)
  if [ -n "$m" ]; then
    [ -e "$m$CG/$1/freezer.state" ] || { echo gone; return; }
    case $(cat "$m$CG/$1/freezer.state") in THAWED) echo thawed ;; *) echo frozen ;; esac
    return
  fi
  m=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
  [ -e "$m$CG/$1/cgroup.freeze" ] || { echo gone; return; }
  [ "$(cat "$m$CG/$1/cgroup.freeze")" = 0 ] && echo thawed || echo frozen
}
status() { vs state "$1" 2>/dev/null | jq -r .status; }
# runs_program PID WORD: the process has exec'd the container program (bounded wait)
runs_program() {
  for _ in $(seq 100); do
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q "$2" && return 0
    sleep 0.05
  done
  return 1
}
rand_sleep() { sleep "0.0$(printf %02d $((RANDOM % 40)))"; }

B=$TMP/bundle
make_bundle "$B" sleep 100 || { not_ok "make bundle"; exit 0; }
jq_edit "$B" ".linux.cgroupsPath = \"$CG/x\""
good=$(cat "$B/config.json")
# with ID: config.json for container ID (its own cgroup), after jq FILTER
with() { echo "$good" | jq ".linux.cgroupsPath = \"$CG/$1\" | $2" > "$B/config.json"; }

# --- 3. uid/gid 4294967295 is (uid_t)-1, "unchanged" to setresuid: it ran as root.
with u1 '.process.user.uid = 4294967295 | .process.args = ["id", "-u"]'
fails_with "process.user.uid 4294967295 is refused, naming the field" \
  "process.user.uid: 4294967295 out of range [0, 2147483647]" vs run --bundle "$B" u1
check "and leaves nothing" nothing_left u1
with u2 '.process.user.gid = 4294967295'
fails_with "process.user.gid 4294967295 is refused" "process.user.gid: 4294967295 out of range" vs create --bundle "$B" u2
with u3 '.process.user.additionalGids = [10, 4294967295]'
fails_with "an additional gid 4294967295 is refused" "process.user.additionalGids[1]: 4294967295 is not a gid" \
  vs create --bundle "$B" u3
with u4 '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 4294967295, size: 1}]
  | .linux.gidMappings = [{containerID: 0, hostID: 0, size: 65536}]'
fails_with "a uid mapping to host id 4294967295 is refused" "linux.uidMappings[0].hostID: 4294967295 out of range" \
  vs create --bundle "$B" u4
with u5 '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 0, size: 65536}]
  | .linux.gidMappings = [{containerID: 4294967295, hostID: 0, size: 1}]'
fails_with "a gid mapping of container id 4294967295 is refused" "linux.gidMappings[0].containerID: 4294967295 out of range" \
  vs create --bundle "$B" u5
with u6 '.process.user = {uid: 2147483647, gid: 2147483647} | .process.args = ["sh", "-c", "id -u; id -g"]'
check "the largest valid uid and gid (2147483647) still run as themselves" \
  bash -c "[ \"\$('$VESSEL' --root '$STATE' run --bundle '$B' u6 2>&1 | tr '\n' ' ')\" = '2147483647 2147483647 ' ]"
with u7 '.'
vs run -d --bundle "$B" u7 >/dev/null 2>&1 </dev/null
fails_with "exec --user 4294967295 is refused" "--user 4294967295" vs exec --user 4294967295 u7 id -u
fails_with "exec --additional-gids 4294967295 is refused" "--additional-gids 4294967295" \
  vs exec --user 1:1 --additional-gids 4294967295 u7 id
echo '{"args": ["id", "-u"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0}}' > "$TMP/proc.json"
fails_with "exec --process with uid 4294967295 is refused, naming the field" "process.json: user.uid: 4294967295" \
  vs exec --process "$TMP/proc.json" u7

# --- 4. Files a user names are read with a cap and never block: /dev/zero
# grew the runtime to 1.3 GB, a FIFO hung it.
Z=$TMP/zbundle
mkdir -p "$Z" && ln -s "$B/rootfs" "$Z/rootfs"
ln -s /dev/zero "$Z/config.json"
fails_with "config.json -> /dev/zero is refused at once" "config.json: not a regular file (a character device)" \
  timeout 60 "$VESSEL" --root "$STATE" create --bundle "$Z" z1
rm "$Z/config.json" && mkfifo "$Z/config.json"
fails_with "a FIFO config.json is refused, not waited on" "config.json: not a regular file (a FIFO)" \
  timeout 60 "$VESSEL" --root "$STATE" create --bundle "$Z" z2
rm "$Z/config.json" && { echo "$good"; head -c 5000000 /dev/zero | tr '\0' ' '; } > "$Z/config.json"
fails_with "a config.json over the cap is refused" "larger than 4194304 bytes" \
  timeout 60 "$VESSEL" --root "$STATE" create --bundle "$Z" z3
check "and none of them leaves anything" bash -c "! ls '$STATE' 2>/dev/null | grep -q '^z'"
mkfifo "$TMP/fifo"
fails_with "exec --process FIFO is refused, not waited on" "not a regular file (a FIFO)" \
  timeout 60 "$VESSEL" --root "$STATE" exec --process "$TMP/fifo" u7
fails_with "exec --process /dev/zero is refused" "not a regular file" \
  timeout 60 "$VESSEL" --root "$STATE" exec --process /dev/zero u7
fails_with "update --resources FIFO is refused, not waited on" "not a regular file (a FIFO)" \
  timeout 60 "$VESSEL" --root "$STATE" update --resources "$TMP/fifo" u7
check "update --resources - still reads a pipe" bash -c "
  echo '{\"pids\": {\"limit\": 77}}' | '$VESSEL' --root '$STATE' update --resources - u7 &&
  [ \"\$('$VESSEL' --root '$STATE' events --stats u7 | jq .data.pids.limit)\" = 77 ]"
fails_with "update --resources - over the cap is refused" "read stdin: larger than" \
  bash -c "head -c 5000000 /dev/zero | timeout 60 '$VESSEL' --root '$STATE' update --resources - u7"
mv "$STATE/u7/state.json" "$TMP/state.json" && mkfifo "$STATE/u7/state.json"
check "a FIFO state.json does not hang state" bash -c "timeout 60 '$VESSEL' --root '$STATE' state u7 >/dev/null 2>&1; [ \$? -ne 124 ]"
rm "$STATE/u7/state.json" && mv "$TMP/state.json" "$STATE/u7/state.json"
vs delete -f u7

# --- 5. SIGKILL windows. A `start` killed after its write but before it
# removed exec.fifo left a running init reported "created" forever: status
# now asks whether the init still waits on the fifo. The same state by hand:
with s0 '.'
vs create --bundle "$B" s0 </dev/null >/dev/null 2>&1
pid=$(vs state s0 | jq -r .pid)
timeout 10 sh -c "printf 0 > '$STATE/s0/exec.fifo'" # what start writes; the fifo stays
check "a start whose write landed: the container runs its program" runs_program "$pid" "sleep 100"
check "and state says running, not created" [ "$(status s0)" = running ]
fails_with "and a second start refuses, saying it is running" "it is running" vs start s0
vs delete -f s0

# At random instants, a bounded number of times: whatever a killed start
# leaves, state/start/delete bring it to the truth.
N=30 bad_state=0 bad_start=0 bad_run=0 bad_delete=0
for i in $(seq $N); do
  with k$i '.'
  vs create --bundle "$B" k$i </dev/null >/dev/null 2>&1 || { bad_state=$((bad_state + 1)); continue; }
  pid=$(vs state k$i | jq -r .pid)
  "$VESSEL" --root "$STATE" start k$i >/dev/null 2>&1 &
  rand_sleep; kill -9 $! 2>/dev/null; wait $! 2>/dev/null
  case $(status k$i) in
  created) vs start k$i >/dev/null 2>&1 || bad_start=$((bad_start + 1)) ;;
  running) ;;
  *) bad_state=$((bad_state + 1)) ;;
  esac
  runs_program "$pid" "sleep 100" && [ "$(status k$i)" = running ] || bad_run=$((bad_run + 1))
  vs delete -f k$i >/dev/null 2>&1; nothing_left k$i || bad_delete=$((bad_delete + 1))
done
check "after a start killed at a random instant, state is created or running ($N runs)" [ $bad_state = 0 ]
check "a container still reported created then starts" [ $bad_start = 0 ]
check "and every one ends up running its program, reported running" [ $bad_run = 0 ]
check "and delete -f leaves nothing" [ $bad_delete = 0 ]

# A `delete -f` killed at a random instant left the container frozen (it
# froze, signalled, and died before thawing). SIGKILL needs no freeze now.
# 200 processes make the signalling take a while; the first few ms of a
# delete are where its freeze was.
bad_frozen=0 bad_delete=0
for i in $(seq $N); do
  with d$i '.process.args = ["sh", "-c", "for i in $(seq 200); do sleep 100 & done; wait"]'
  vs run -d --bundle "$B" d$i </dev/null >/dev/null 2>&1 || { bad_delete=$((bad_delete + 1)); continue; }
  for _ in $(seq 100); do [ "$(vs ps --format json d$i | jq length)" -gt 200 ] && break; sleep 0.05; done
  "$VESSEL" --root "$STATE" delete -f d$i >/dev/null 2>&1 &
  sleep "0.00$((RANDOM % 10))$((RANDOM % 10))"; kill -9 $! 2>/dev/null; wait $! 2>/dev/null
  [ "$(freezer d$i)" = frozen ] && bad_frozen=$((bad_frozen + 1))
  vs delete -f d$i >/dev/null 2>&1; nothing_left d$i || bad_delete=$((bad_delete + 1))
done
check "a delete -f killed at a random instant never leaves the cgroup frozen ($bad_frozen of $N left frozen)" [ $bad_frozen = 0 ]
check "and the next delete -f leaves nothing" [ $bad_delete = 0 ]

# A frozen leftover (paused, or frozen by a runtime killed in `kill --all`):
# delete -f thaws and kills it.
with f1 '.process.args = ["sh", "-c", "sleep 100 & sleep 100 & wait"]'
vs run -d --bundle "$B" f1 </dev/null >/dev/null 2>&1
vs pause f1
check "a paused container is frozen" [ "$(freezer f1)" = frozen ]
check "delete -f of a frozen container succeeds" vs delete -f f1
check "and leaves nothing, no process included" nothing_left f1

# --- 6. openat2(RESOLVE_IN_ROOT) says EAGAIN when a rename anywhere races a
# ".." step; that failed the mount. Retried now, still inside the rootfs.
mkdir -p "$TMP/src" "$B/rootfs/race" "$B/rootfs/mnt/x" "$B/rootfs/data" "$B/rootfs/vessel-d14-escape-$$"
echo marker > "$TMP/src/marker"
touch "$B/rootfs/race/a"
# A ".."-heavy link, and one that tries to climb out of the rootfs.
ln -sfn ../mnt/x/../x/../x/../x/../x/../x/../x/../../data "$B/rootfs/mnt/link"
ln -sfn ../../../../../../../../vessel-d14-escape-$$ "$B/rootfs/mnt/up"
python3 -c "
import os, sys
d = sys.argv[1]
while True:
    os.rename(d + '/a', d + '/b'); os.rename(d + '/b', d + '/a')
" "$B/rootfs/race" &
renamer=$!
on_exit "kill $renamer"
mounts_before=$(grep -c "$TMP/src" /proc/self/mountinfo)
runs=30 good_runs=0 last=
for i in $(seq $runs); do
  with r$i ".process.args = [\"cat\", \"/data/marker\", \"/vessel-d14-escape-$$/marker\"]
    | .mounts += [{destination: \"/mnt/link\", type: \"bind\", source: \"$TMP/src\", options: [\"bind\"]},
                  {destination: \"/mnt/up\", type: \"bind\", source: \"$TMP/src\", options: [\"bind\"]}]"
  out=$(vs run --bundle "$B" r$i 2>&1 </dev/null)
  if [ "$out" = "marker
marker" ]; then good_runs=$((good_runs + 1)); else last=$out; fi
  vs delete -f r$i >/dev/null 2>&1
done
kill $renamer 2>/dev/null
check "bind mounts through \"..\" links succeed under a rename race ($good_runs of $runs)${last:+: $last}" \
  [ $good_runs = $runs ]
check "none of them lands outside the rootfs" bash -c "[ ! -e /vessel-d14-escape-$$ ] &&
  [ \"\$(grep -c '$TMP/src' /proc/self/mountinfo)\" = $mounts_before ]"
rm -rf "$B/rootfs/race" "$B/rootfs/mnt" "$B/rootfs/data" "$B/rootfs/vessel-d14-escape-$$"

# --- 7. Messages that misled.
mv "$B/rootfs" "$B/real-rootfs" && ln -s real-rootfs "$B/rootfs"
with m1 '.process.args = ["true"]'
check "a rootfs that is a symlink is resolved and runs" vs run --bundle "$B" m1
vs create --bundle "$B" m1b </dev/null >/dev/null 2>&1
check "and state names the real directory" [ "$(vs state m1b | jq -r .rootfs)" = "$B/real-rootfs" ]
vs delete -f m1b
ln -sfn / "$TMP/root-link"
with m2 ".root.path = \"$TMP/root-link\""
fails_with "a rootfs that resolves to the host's / is refused clearly" "root.path $TMP/root-link: is the host's root directory" \
  vs run --bundle "$B" m2
rm "$B/rootfs" && mv "$B/real-rootfs" "$B/rootfs"

with m3 '.process.args = ["true"] | .linux.resources.memory = {limit: 65536}'
fails_with "a memory limit too small for setup is named" \
  "killed by the memory limit (linux.resources.memory.limit = 65536) during setup" vs run --bundle "$B" m3
check "and leaves nothing" nothing_left m3

# 18446744073709551615 is out of jq's reach: substitute it as text.
with m4 '.process.args = ["true"] | .linux.resources.cpu = {shares: "U64MAX", period: "U64MAX"}'
sed -i 's/"U64MAX"/18446744073709551615/g' "$B/config.json"
out=$(vs run --bundle "$B" m4 2>&1 </dev/null)
check "an unsigned cgroup value is never shown (or written) as a negative number" \
  bash -c '! grep -Eq "write -[0-9]" <<< "$1"' _ "$out"
vs delete -f m4 >/dev/null 2>&1

long=$(for c in a b c d e f g h i j k l m n o p q; do printf "/%s" "$(printf "$c%.0s" $(seq 250))"; done)
echo "$good" | jq ".linux.cgroupsPath = \"$CG$long\"" > "$B/config.json"
fails_with "a cgroupsPath past PATH_MAX is refused, naming it" "linux.cgroupsPath: cgroup directory" \
  vs create --bundle "$B" m5
check "and no cgroup directory is made for it (truncated or not)" \
  bash -c "! ls -d $(all_mounts | sed "s|\$|$CG/aaa*|" | tr '\n' ' ') '$STATE/m5' 2>/dev/null | grep -q ."

with m6 '.'
vs run -d --bundle "$B" m6 </dev/null >/dev/null 2>&1
check "kill ID 0 succeeds on a running container (signal 0 probes, as kill(2))" vs kill m6 0
check "and the container is unharmed" [ "$(status m6)" = running ]
vs kill m6 KILL
for _ in $(seq 100); do [ "$(status m6)" = stopped ] && break; sleep 0.05; done
fails_with "kill ID 0 on a stopped container says it is not running" "is not running" vs kill m6 0
vs delete -f m6
