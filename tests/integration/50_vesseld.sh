#!/usr/bin/env bash
# vesseld: the API with curl and with the client, image import (rootfs
# tarball, podman's oci-archive and docker-archive), bad input refused with
# nothing stored, hostile tarballs, 10 instances sharing one layer copy,
# kill -9 of the daemon (instances keep running and are re-adopted; a cut
# create leaves nothing), and the audit chain.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/vsd/lib.sh"
RPID=
on_exit 'cleanup_all'
cleanup_all() {
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  vsd_cleanup
  podman rmi -f localhost/vessel-test-bb:1 >/dev/null 2>&1
}

api() { curl -s --unix-socket "$SOCK" "$@"; }
jqok() { jq -e "$@" >/dev/null; } # jqok FILTER <<<JSON: passes when FILTER is true
# wait_op ENVELOPE: wait for its operation, print the finished operation.
wait_op() { api "http://v$(jq -r .operation <<<"$1")/wait?timeout=30" | jq -c .metadata; }
n_instances() { api 'http://v/1.0/instances' | jq '.metadata | length'; }
n_images() { api 'http://v/1.0/images' | jq '.metadata | length'; }
status_of() { api "http://v/1.0/instances/$1" | jq -r .metadata.status; }

check "vesseld starts on a temporary root and socket" start_daemon
check "the socket is mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
check "a user outside root's group cannot connect" \
  bash -c "! setpriv --reuid 65534 --regid 65534 --clear-groups curl -sf --unix-socket '$SOCK' http://v/1.0 >/dev/null 2>&1"
out=$(api http://v/1.0)
check "GET /1.0 is a sync envelope (type, status, status_code, operation, error_code, error, metadata)" \
  jqok '.type == "sync" and .status == "Success" and .status_code == 200 and .operation == "" and .error_code == 0 and .error == "" and .metadata.api_version == "1.0"' <<<"$out" >/dev/null

# --- images
tar -C "$VESSEL_ROOTFS" -cf "$TMP/bb.tar" .
env=$(api -X POST -H 'X-Vessel-Alias: busybox' --data-binary @"$TMP/bb.tar" http://v/1.0/images)
check "an image upload answers with an async envelope (202) naming an operation" \
  jqok '.type == "async" and .status_code == 100 and (.operation | startswith("/1.0/operations/"))' <<<"$env"
op=$(wait_op "$env")
check "the import operation succeeds" jqok '.status == "Success" and (.metadata.fingerprint | length) == 64' <<<"$op"
fp=$(jq -r .metadata.fingerprint <<<"$op")
check "the fingerprint is the tarball's sha256" [ "$fp" = "$(sha256sum "$TMP/bb.tar" | cut -d' ' -f1)" ]
check "the alias resolves to it" [ "$(api http://v/1.0/images/aliases/busybox | jq -r .metadata.target)" = "$fp" ]
check "the layer is unpacked once under layers/<sha256>" [ -x "$R/layers/$fp/bin/busybox" ]
check "importing the same tarball again is refused (409-style error in the operation)" \
  bash -c "'$VESSEL' image import '$TMP/bb.tar' 2>&1 | grep -q 'already exists'"

# podman's own archives of the same rootfs
if podman import "$TMP/bb.tar" localhost/vessel-test-bb:1 >/dev/null 2>&1 &&
   podman save --format oci-archive -o "$TMP/bb-oci.tar" localhost/vessel-test-bb:1 >/dev/null 2>&1 &&
   podman save --format docker-archive -o "$TMP/bb-docker.tar" localhost/vessel-test-bb:1 >/dev/null 2>&1; then
  out=$("$VESSEL" image import "$TMP/bb-oci.tar" --alias bb-oci 2>&1)
  check "a podman oci-archive imports ($out)" grep -q 'fingerprint: [0-9a-f]\{64\}' <<<"$out"
  check "its format is recorded as oci" [ "$(api http://v/1.0/images/aliases/bb-oci | jq -r .metadata.target | xargs -I{} curl -s --unix-socket "$SOCK" http://v/1.0/images/{} | jq -r .metadata.properties.format)" = oci ]
  check "the same image as a docker-archive is the same image (same config digest)" \
    bash -c "'$VESSEL' image import '$TMP/bb-docker.tar' 2>&1 | grep -q 'already exists'"
  "$VESSEL" image rm bb-oci
  out=$("$VESSEL" image import "$TMP/bb-docker.tar" --alias bb-docker 2>&1)
  check "a podman docker-archive imports" grep -q 'fingerprint:' <<<"$out"
  check "its layer is the rootfs tarball's: no second copy" [ "$(ls "$R/layers" | wc -l)" = 1 ]
  "$VESSEL" launch bb-docker oci1 -- sleep 1000 >/dev/null
  check "an instance of the docker-archive image runs" [ "$(status_of oci1)" = Running ]
  "$VESSEL" rm -f oci1
  "$VESSEL" image rm bb-docker
else
  not_ok "podman import/save of the busybox rootfs (needed for the archive tests)"
fi

# --- registry pull: Debian's docker-registry on loopback, filled with skopeo
if [ -f "$TMP/bb-oci.tar" ] && command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$TMP/registry"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$TMP/registry" "$port" > "$TMP/registry.yml"
  docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
  RPID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
  check "skopeo pushes the busybox image into the registry" \
    skopeo copy -q --dest-tls-verify=false "oci-archive:$TMP/bb-oci.tar" "docker://127.0.0.1:$port/vessel/bb:1"
  out=$("$VESSEL" image pull "http://127.0.0.1:$port/vessel/bb:1" --alias bb-reg 2>&1)
  check "vessel image pull fetches it (distribution API v2): $out" grep -q 'fingerprint: [0-9a-f]\{64\}' <<<"$out"
  "$VESSEL" launch bb-reg reg1 -- sleep 1000 >/dev/null
  check "an instance of the pulled image runs" [ "$(status_of reg1)" = Running ]
  check "the pulled image records its size" [ "$(api http://v/1.0/images/aliases/bb-reg | jq -r .metadata.target | xargs -I{} curl -s --unix-socket "$SOCK" http://v/1.0/images/{} | jq -r .metadata.size)" -gt 1000000 ]
  "$VESSEL" rm -f reg1
  "$VESSEL" image rm bb-reg
  out=$("$VESSEL" image pull "http://127.0.0.1:$port/vessel/nothere:1" 2>&1)
  check "pulling a missing repository fails clearly ($out)" grep -q 'HTTP 404' <<<"$out"
  # A registry that lies: a layer whose bytes are not its digest.
  images_before=$(n_images) layers_before=$(ls "$R/layers" | sort | tr '\n' ' ')
  for blob in "$TMP"/registry/docker/registry/v2/blobs/sha256/*/*/data; do
    [ "$(stat -c %s "$blob")" -gt 100000 ] && head -c 5000 /dev/urandom > "$blob"
  done
  out=$("$VESSEL" image pull "http://127.0.0.1:$port/vessel/bb:1" --alias bb-lie 2>&1)
  check "a layer that does not match its digest is refused ($out)" grep -q 'registry lies: blob' <<<"$out"
  check "and nothing of it is stored" [ "$(n_images)" = "$images_before" ] && [ "$(ls "$R/layers" | sort | tr '\n' ' ')" = "$layers_before" ] && [ -z "$(ls "$R/tmp")" ]
  kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
else
  not_ok "registry pull test needs the podman oci-archive, docker-registry and skopeo (scripts/setup.sh)"
fi

# --- bad input: 400, clear error, nothing stored
bad() { # NAME EXPECT-IN-ERROR CURL-ARGS...
  local name=$1 want=$2; shift 2
  local out; out=$(api -w '\n%{http_code}' "$@")
  local code=${out##*$'\n'} body=${out%$'\n'*}
  if [ "$code" = 400 ] && jq -e --arg w "$want" '.type == "error" and .error_code == 400 and (.error | contains($w))' <<<"$body" >/dev/null; then
    ok "$name -> 400"
  else
    not_ok "$name -> 400 (got $code: $body)"
  fi
}
before_inst=$(n_instances)
bad "malformed JSON" "malformed JSON" -X POST -d '{"name": "x",' http://v/1.0/instances
bad "trailing garbage after the object" "JSON" -X POST -d '{"name":"x","source":{"type":"image","alias":"busybox"}} x' http://v/1.0/instances
bad "an unknown key" 'unknown key "bogus"' -X POST -d '{"name":"x","bogus":1,"source":{"type":"image","alias":"busybox"}}' http://v/1.0/instances
bad "an unknown source key" 'unknown key "url"' -X POST -d '{"name":"x","source":{"type":"image","alias":"busybox","url":"y"}}' http://v/1.0/instances
bad "a name with /" "only lower-case" -X POST -d '{"name":"a/b","source":{"type":"image","alias":"busybox"}}' http://v/1.0/instances
bad "a name with .." "only lower-case" -X POST -d '{"name":"..","source":{"type":"image","alias":"busybox"}}' http://v/1.0/instances
bad "an upper-case name" "only lower-case" -X POST -d '{"name":"Web","source":{"type":"image","alias":"busybox"}}' http://v/1.0/instances
bad "an unknown config key" "unknown key" -X POST -d '{"name":"x","source":{"type":"image","alias":"busybox"},"config":{"limits.bogus":"1"}}' http://v/1.0/instances
bad "a bad memory limit" "limits.memory" -X POST -d '{"name":"x","source":{"type":"image","alias":"busybox"},"config":{"limits.memory":"12 parsecs"}}' http://v/1.0/instances
bad "an image that does not exist" "not found" -X POST -d '{"name":"x","source":{"type":"image","alias":"nope"}}' http://v/1.0/instances
bad "a VM (not in this slice)" "container" -X POST -d '{"name":"x","type":"vm","source":{"type":"image","alias":"busybox"}}' http://v/1.0/instances
head -c 2000000 /dev/zero | tr '\0' ' ' > "$TMP/big.json"
bad "an oversized body" "larger than" -X POST --data-binary @"$TMP/big.json" http://v/1.0/instances
check "nothing was stored by any bad request" [ "$(n_instances)" = "$before_inst" ]
check "no instance directory was made" [ -z "$(ls "$R/instances")" ]
code=$(api -o /dev/null -w '%{http_code}' 'http://v/1.0/instances/a%2F..%2Fb')
check "a path-traversal name in the URL is refused ($code)" [ "$code" = 400 ]

# --- hostile tarballs: the operation fails with a clear error, nothing is kept
mkdir -p "$TMP/outside"
python3 - "$TMP" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
def mk(name, members):
    with tarfile.open(f"{t}/{name}.tar", "w") as tf:
        for m, data in members:
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
def f(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def link(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; return (i, None)
def dev(name):
    i = tarfile.TarInfo(name); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; return (i, None)
mk("zipslip", [f("ok"), f("../../evil-zipslip")])
mk("absolute", [f("/tmp/evil-absolute")])
mk("symlink", [link("escape", f"{t}/outside"), f("escape/pwned")])
mk("device", [f("ok"), dev("dev/null")])
mk("hardlink", [f("ok"), link("pw", "../../../../etc/passwd", tarfile.LNKTYPE)])
# 2000 levels: a recursive directory walk would overflow the stack.
mk("deep", [f("a/" * 2000 + "f")])
PY
head -c 4096 /dev/urandom > "$TMP/corrupt.tar"
head -c 10000 "$TMP/bb.tar" > "$TMP/truncated.tar"
layers_before=$(ls "$R/layers" | sort | tr '\n' ' ')
for t in zipslip:leaves absolute:absolute symlink:escape device:device hardlink:leaves deep:levels corrupt:archive truncated:archive; do
  name=${t%%:*} want=${t#*:}
  env=$(api -X POST --data-binary @"$TMP/$name.tar" http://v/1.0/images)
  op=$(wait_op "$env")
  if jq -e --arg w "$want" '.status == "Failure" and (.err | contains($w))' <<<"$op" >/dev/null; then
    ok "a $name tarball is refused: $(jq -r .err <<<"$op" | cut -c1-90)"
  else
    not_ok "a $name tarball is refused ($op)"
  fi
done
check "the symlink tarball wrote nothing outside the tree" [ ! -e "$TMP/outside/pwned" ]
check "the zip-slip tarball wrote nothing above it" [ ! -e "$R/evil-zipslip" ] && [ ! -e "$TMP/evil-zipslip" ] && [ ! -e /tmp/evil-absolute ]
check "no image was stored by a refused tarball" [ "$(n_images)" = 1 ]
check "no layer directory was left by a refused tarball" [ "$(ls "$R/layers" | sort | tr '\n' ' ')" = "$layers_before" ]
check "no upload or unpack leftovers in tmp/" [ -z "$(ls "$R/tmp")" ]

# --- instances with the client
out=$("$VESSEL" launch busybox web -c limits.memory=64MiB -c limits.cpu=1 -- sh -c 'echo started; exec sleep 1000' 2>&1)
check "vessel launch creates and starts an instance ($out)" [ "$(status_of web)" = Running ]
mem=$(cat /sys/fs/cgroup/memory/vesseld/web-*/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/vesseld/web-*/memory.max)
check "limits.memory=64MiB reaches the instance's cgroup ($mem)" [ "$mem" = 67108864 ]
check "the instance's output goes to its console.log" grep -q started "$R/instances/web/console.log"
check "vessel ls shows it as a table row" bash -c "'$VESSEL' ls | grep -q '^web .*Running'"
check "vessel ls --format json lists objects with name, type, status" \
  jqok 'map(select(.name == "web" and .type == "container" and .status == "Running")) | length == 1' <<<"$("$VESSEL" ls --format json)"
check "vessel ls --format yaml lists it" bash -c "'$VESSEL' ls --format yaml | grep -q '^- name: web'"
check "curl GET /1.0/instances?recursion=1 lists it" \
  jqok '.metadata | map(.name) | index("web") != null' <<<"$(api 'http://v/1.0/instances?recursion=1')"
check "GET /1.0/instances lists URLs without recursion" \
  jqok '.metadata | index("/1.0/instances/web") != null' <<<"$(api http://v/1.0/instances)"
check "vessel info shows its pid" bash -c "'$VESSEL' info web | grep -q '^PID: [0-9]'"
check "creating a second instance of the same name is refused" bash -c "! '$VESSEL' launch busybox web 2>/dev/null"
out=$("$VESSEL" exec web -- sh -c 'echo out; hostname; echo err >&2; exit 7' 2>"$TMP/exec.err"); rc=$?
check "vessel exec NAME -- CMD runs in the instance (stdout, its hostname, exit 7)" \
  [ "$out" = "$(printf 'out\nweb')" ] && [ "$rc" = 7 ] && [ "$(cat "$TMP/exec.err")" = err ]
out=$("$VESSEL" exec --user 1000 web id 2>&1); rc=$?
check "vessel exec with a runc flag on a vesseld instance is refused, not run as root ($rc: $out)" \
  bash -c "[ $rc != 0 ] && grep -q 'takes no runc exec flags' <<<'$out'"
env=$(api -X POST -d '{"command":["cat","/proc/1/cmdline"],"environment":{"A":"b"}}' http://v/1.0/instances/web/exec)
check "POST /exec returns the output in the operation" \
  jqok '.metadata.return == 0 and (.metadata.output["1"] | startswith("sleep"))' <<<"$(wait_op "$env")"
bad "an interactive exec (not supported)" "interactive" -X POST -d '{"command":["sh"],"interactive":true}' http://v/1.0/instances/web/exec
m=$(api http://v/1.0/metrics)
check "/1.0/metrics is Prometheus text with the instance's memory limit" \
  grep -q '^vessel_memory_limit_bytes{name="web",type="container"} 67108864$' <<<"$m"
has_metrics() { grep -q '^vessel_cpu_seconds_total{name="web",type="container"} [0-9.e-]*$' <<<"$m" &&
  grep -q '^vessel_pids{name="web",type="container"} [1-9]' <<<"$m"; }
check "/1.0/metrics has its CPU time and pids" has_metrics
bad "an unknown state action" "action" -X PUT -d '{"action":"explode"}' http://v/1.0/instances/web/state
bad "a state request with an unknown key" 'unknown key "how"' -X PUT -d '{"action":"stop","how":"now"}' http://v/1.0/instances/web/state
check "a refused state change changed nothing" [ "$(status_of web)" = Running ]

api -sN -D "$TMP/events.hdr" "http://v/1.0/events?type=lifecycle" > "$TMP/events" &
EVPID=$!
for _ in $(seq 100); do grep -q '^HTTP/1.1 200' "$TMP/events.hdr" 2>/dev/null && break; sleep 0.05; done
env=$(api -X PUT -d '{"action":"freeze"}' http://v/1.0/instances/web/state); wait_op "$env" >/dev/null
check "PUT state freeze makes it Frozen" [ "$(status_of web)" = Frozen ]
env=$(api -X PUT -d '{"action":"unfreeze"}' http://v/1.0/instances/web/state); wait_op "$env" >/dev/null
check "unfreeze makes it Running" [ "$(status_of web)" = Running ]
"$VESSEL" stop web --timeout 1
check "vessel stop stops it" [ "$(status_of web)" = Stopped ]
"$VESSEL" start web
check "vessel start NAME (not a runtime container) starts it through vesseld" [ "$(status_of web)" = Running ]
"$VESSEL" restart -f web
check "vessel restart -f leaves it running" [ "$(status_of web)" = Running ]
sleep 0.3
kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null
actions=$(jq -r .metadata.action "$TMP/events" | tr '\n' ' ')
check "the event stream carried the lifecycle events in order ($actions)" \
  [ "$actions" = "instance-paused instance-resumed instance-stopped instance-started instance-restarted " ]
check "vessel rm of a running instance is refused" bash -c "! '$VESSEL' rm web 2>/dev/null"

# --- the runtime's own commands are untouched
make_bundle "$TMP/b" sleep 100
vs create --bundle "$TMP/b" rt1
vs start rt1
check "runc-style start of a runtime container still works" [ "$(vs state rt1 | jq -r .status)" = running ]
vs delete -f rt1
out=$(vs start nosuch 2>&1)
check "runc-style start of an unknown id keeps the runtime's error" grep -q 'container nosuch does not exist' <<<"$out"

# --- density: 10 instances of one image share one unpacked copy
for i in $(seq 1 10); do "$VESSEL" launch busybox d$i -- sleep 1000 >/dev/null || break; done
running=$("$VESSEL" ls --format json | jq '[.[] | select(.status == "Running")] | length')
check "10 more instances run ($running running in all)" [ "$running" = 11 ]
check "all of them use the one layer directory" [ "$(ls "$R/layers" | wc -l)" = 1 ]
layer_kb=$(du -sk "$R/layers" | cut -f1)
inst_kb=$(du -skx "$R/instances" | cut -f1)
echo "# layers: ${layer_kb} KiB for 11 instances; their own dirs (upper, work, bundle): ${inst_kb} KiB"
check "instances' own disk use is far below one copy each (${inst_kb} KiB < ${layer_kb} KiB)" [ "$inst_kb" -lt "$layer_kb" ]
check "each rootfs is an overlay over that layer" \
  bash -c "grep ' $R/instances/d1/rootfs ' /proc/self/mountinfo | grep -q 'overlay.*lowerdir=$R/layers/$fp'"

# --- kill -9 of vesseld: instances keep running, a restarted vesseld re-adopts them
pids=$(for n in web d1 d5 d10; do api "http://v/1.0/instances/$n/state" | jq -r .metadata.pid; done)
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "after kill -9 of vesseld every instance is still running ($alive of 4 checked)" [ "$alive" = 4 ]
# A create cut short: its intent row is in the database, its directory half made.
sqlite3 "$R/vesseld.db" "INSERT INTO instances VALUES ('cut', '$fp', 'container', '{}', '[]', 'now', 'cut-0', 'creating')"
mkdir -p "$R/instances/cut/upper"
check "vesseld restarts on the same root" start_daemon
check "the restarted vesseld re-adopts all 11 instances as Running" \
  [ "$("$VESSEL" ls --format json | jq '[.[] | select(.status == "Running")] | length')" = 11 ]
check "their pids are the same processes" [ "$(api http://v/1.0/instances/web/state | jq -r .metadata.pid)" = "$(echo "$pids" | head -1)" ]
check "the cut create left no instance" [ "$(api http://v/1.0/instances/cut | jq -r .error_code)" = 404 ]
check "and no directory" [ ! -e "$R/instances/cut" ]
"$VESSEL" stop -f d10
check "a re-adopted instance stops on request" [ "$(status_of d10)" = Stopped ]
# A real kill -9 right after a create was accepted: the instance is whole or absent.
env=$(api -X POST -d '{"name":"race","source":{"type":"image","alias":"busybox"},"command":["sleep","9"]}' http://v/1.0/instances)
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
start_daemon
st=$(api http://v/1.0/instances/race | jq -r '.metadata.status // .error_code')
check "a create cut by kill -9 is whole (Stopped, with its dirs) or gone after restart ($st)" \
  bash -c "[ '$st' = 404 -a ! -e '$R/instances/race' ] || [ '$st' = Stopped -a -d '$R/instances/race/upper' ]"
check "no instance is left in a creating phase" [ "$(sqlite3 "$R/vesseld.db" "SELECT count(*) FROM instances WHERE phase != 'ready'")" = 0 ]

# --- cleanup through the API
for n in $("$VESSEL" ls --format json | jq -r '.[].name'); do "$VESSEL" rm -f "$n" || not_ok "rm -f $n"; done
check "vessel rm -f removes every instance" [ "$(n_instances)" = 0 ] && [ -z "$(ls "$R/instances")" ]
check "no overlay of an instance stays mounted" bash -c "! grep -q ' $R/instances/' /proc/self/mountinfo"
check "no runtime container is left" [ -z "$(ls "$R/runtime")" ]
"$VESSEL" image rm busybox
check "vessel image rm removes the image and its now unused layer" [ "$(n_images)" = 0 ] && [ -z "$(ls "$R/layers")" ]

# --- audit
out=$("$VESSEL" audit verify)
check "vessel audit verify passes ($out)" grep -q 'hash chain intact' <<<"$out"
check "the audit log names who (uid 0), what and the result" \
  bash -c "'$VESSEL' audit | grep -q 'uid=0 .*POST .*/1.0/instances .*create instance web .*202'"
check "refused requests are audited too" grep -q '"result":"400 ' "$R/audit.log"
cp "$R/audit.log" "$TMP/audit.bak"
sed -i '5s/"summary":"[^"]*"/"summary":"nothing happened"/' "$R/audit.log"
out=$("$VESSEL" audit verify 2>&1); rc=$?
check "an edited entry fails verify ($out)" [ "$rc" -ne 0 ] && grep -q 'entry 6: prev does not match' <<<"$out"
cp "$TMP/audit.bak" "$R/audit.log"
sed -i '3d' "$R/audit.log"
out=$("$VESSEL" audit verify 2>&1); rc=$?
check "a removed entry fails verify ($out)" [ "$rc" -ne 0 ]
cp "$TMP/audit.bak" "$R/audit.log"
sed -i '$d' "$R/audit.log"
out=$("$VESSEL" audit verify 2>&1); rc=$?
check "removing the newest entry fails verify too ($out)" [ "$rc" -ne 0 ] && grep -q 'removed' <<<"$out"
cp "$TMP/audit.bak" "$R/audit.log"
check "the restored log verifies again" bash -c "'$VESSEL' audit verify >/dev/null"

kill "$DPID"; wait "$DPID"; rc=$?; DPID=
check "vesseld stops cleanly on SIGTERM (status $rc) and removes its socket" [ "$rc" = 0 ] && [ ! -e "$SOCK" ]
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/vesseld.log"; then
  not_ok "vesseld ran clean (sanitizer report)"; grep -E -A12 'Sanitizer|runtime error:' "$TMP/vesseld.log" | head -40 | sed 's/^/# /'
else
  ok "vesseld's log has no sanitizer report"
fi
