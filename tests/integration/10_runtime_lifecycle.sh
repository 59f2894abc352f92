#!/usr/bin/env bash
# The OCI lifecycle as runc's users drive it: run, create/start/state,
# kill, delete, list, exec, ps, pause/resume, update, pid files, exit codes.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

B=$TMP/bundle
make_bundle "$B" sh -c 'echo hello from vessel; exit 3'

out=$(cd "$B" && vs run r1 2>&1); rc=$?
check "run prints the container's output" [ "$out" = "hello from vessel" ]
check "run returns the container's exit status" [ "$rc" -eq 3 ]
check "run removes the container afterwards" [ -z "$(vs list -q)" ]

jq_edit "$B" '.process.args = ["sh","-c","trap \"exit 42\" TERM; while true; do sleep 0.1; done"]'
vs create --bundle "$B" --pid-file "$TMP/pid" c1
check "create leaves the container created" [ "$(vs state c1 | jq -r .status)" = created ]
pid=$(vs state c1 | jq -r .pid)
check "state reports the init pid, as the pid file does" [ "$pid" = "$(cat "$TMP/pid")" ]
check "state has ociVersion, id and bundle" \
  [ "$(vs state c1 | jq -r '[.ociVersion, .id, .bundle] | join(" ")')" = "1.2.0 c1 $B" ]
check "the user program does not run before start" \
  bash -c "! grep -q sleep /proc/$pid/cmdline && ! pgrep -P $pid sleep >/dev/null"
vs start c1
check "start makes it running" [ "$(vs state c1 | jq -r .status)" = running ]
check "list shows it (table)" bash -c "'$VESSEL' --root '$STATE' list | grep -q '^c1 .*running'"
check "list --format json shows it" [ "$(vs list --format json | jq -r '.[0].id + " " + .[0].status')" = "c1 running" ]

out=$(vs exec c1 sh -c 'echo in-container; exit 5'); rc=$?
check "exec runs inside the container" [ "$out" = in-container ]
check "exec returns the process's exit status" [ "$rc" -eq 5 ]
check "exec sees the init as pid 1 (same pid namespace)" \
  [ "$(vs exec c1 cat /proc/1/cmdline | tr '\0' ' ' | cut -c1-5)" = "sh -c" ]
out=$(vs exec --env FOO=bar --cwd /tmp --user 1000:1000 c1 sh -c 'echo $FOO $(pwd) $(id -u):$(id -g)')
check "exec honours --env, --cwd and --user" [ "$out" = "bar /tmp 1000:1000" ]
vs exec -d --pid-file "$TMP/epid" c1 sleep 30
check "exec -d returns at once and writes its pid file" kill -0 "$(cat "$TMP/epid")"
check "ps --format json lists the container's processes" \
  bash -c "'$VESSEL' --root '$STATE' ps --format json c1 | jq -e 'index($pid) != null and index($(cat "$TMP/epid")) != null' >/dev/null"
check "ps prints a ps table of them" bash -c "'$VESSEL' --root '$STATE' ps c1 | grep -q 'sleep 30'"

vs pause c1
check "pause freezes it" [ "$(vs state c1 | jq -r .status)" = paused ]
check "exec into a paused container is refused" bash -c "! '$VESSEL' --root '$STATE' exec c1 true 2>/dev/null"
vs resume c1
check "resume thaws it" [ "$(vs state c1 | jq -r .status)" = running ]

vs update --memory 64m --pids-limit 77 c1
check "update changes the memory limit" \
  [ "$(cat /sys/fs/cgroup/memory/vessel/c1/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/vessel/c1/memory.max)" = 67108864 ]
echo '{"pids":{"limit":88}}' | vs update --resources - c1
check "update --resources - reads JSON from stdin" \
  [ "$(cat /sys/fs/cgroup/pids/vessel/c1/pids.max 2>/dev/null || cat /sys/fs/cgroup/vessel/c1/pids.max)" = 88 ]
check "events --stats prints the memory limit" \
  [ "$(vs events --stats c1 | jq -r .data.memory.usage.limit)" = 67108864 ]

check "delete of a running container is refused" bash -c "! '$VESSEL' --root '$STATE' delete c1 2>/dev/null"
vs kill c1 TERM
for _ in $(seq 50); do [ "$(vs state c1 | jq -r .status)" = stopped ] && break; sleep 0.1; done
check "kill TERM reaches the init, which stops" [ "$(vs state c1 | jq -r .status)" = stopped ]
check "a stopped container reports pid 0" [ "$(vs state c1 | jq -r .pid)" = 0 ]
check "killing a stopped container fails" bash -c "! '$VESSEL' --root '$STATE' kill c1 KILL 2>/dev/null"
vs delete c1
check "delete removes the state" bash -c "! '$VESSEL' --root '$STATE' state c1 2>/dev/null"
check "delete removes the cgroup" [ ! -e /sys/fs/cgroup/memory/vessel/c1 ]

jq_edit "$B" '.process.args = ["sleep","100"]'
vs run -d --bundle "$B" c2
vs exec -d c2 sleep 100
vs kill --all c2 KILL
for _ in $(seq 50); do [ "$(vs state c2 | jq -r .status)" = stopped ] && break; sleep 0.1; done
check "kill --all stops every process" [ "$(vs state c2 | jq -r .status)" = stopped ]
vs delete c2
vs run -d --bundle "$B" c3
vs delete --force c3
check "delete --force removes a running container" [ -z "$(vs list -q)" ]
check "delete --force of an unknown id succeeds (runc)" vs delete --force nosuch
check "kill accepts signal names and numbers" bash -c "
  '$VESSEL' --root '$STATE' run -d --bundle '$B' c4 &&
  '$VESSEL' --root '$STATE' kill c4 SIGUSR1 && '$VESSEL' --root '$STATE' kill c4 9 &&
  '$VESSEL' --root '$STATE' delete -f c4"
