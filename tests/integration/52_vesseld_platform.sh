#!/usr/bin/env bash
# vesseld, the second slice: ETags and live limit changes (PUT/PATCH of an
# instance, checked in its cgroup), stateless snapshots (create, list,
# restore, delete; files before a snapshot come back, files after are
# gone), GET /1.0/resources, cancelling an image pull (a registry that
# never finishes a layer: nothing half-written is kept), the console log,
# and file push/pull with the attacks a container can try on the host
# (symlinks out of its root, a FIFO, names with ..).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/vsd/lib.sh"
RPID=
on_exit 'cleanup_all'
cleanup_all() {
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  vsd_cleanup
}
api() { curl -s --unix-socket "$SOCK" "$@"; }
jqok() { jq -e "$@" >/dev/null; }
wait_op() { api "http://v$(jq -r .operation <<<"$1")/wait?timeout=60" | jq -c .metadata; }
status_of() { api "http://v/1.0/instances/$1" | jq -r .metadata.status; }
code_of() { api -o /dev/null -w '%{http_code}' "$@"; }
etag_of() { api -D - -o /dev/null "http://v/1.0/instances/$1" | tr -d '\r' | sed -n 's/^ETag: //Ip'; }
cg() { # cg NAME FILE-v1 FILE-v2: the instance's cgroup value (its own cgroup id: other
  # vesseld tests may run an instance of the same name at the same time)
  local id; id=$(sqlite3 "$R/vesseld.db" "SELECT cgroup_id FROM instances WHERE name = '$1'")
  cat "/sys/fs/cgroup/${2%%.*}/vesseld/$id/$2" 2>/dev/null || cat "/sys/fs/cgroup/unified/vesseld/$id/$3" 2>/dev/null ||
    cat "/sys/fs/cgroup/vesseld/$id/$3"
}
mem_of() { cg "$1" memory.limit_in_bytes memory.max; }
quota_of() { cg "$1" cpu.cfs_quota_us cpu.max | cut -d' ' -f1; }
vx() { "$VESSEL" exec web -- sh -c "$1"; }
bad() { # NAME CODE EXPECT-IN-ERROR CURL-ARGS...
  local name=$1 want_code=$2 want=$3; shift 3
  local out; out=$(api -w '\n%{http_code}' "$@")
  local code=${out##*$'\n'} body=${out%$'\n'*}
  if [ "$code" = "$want_code" ] && jq -e --arg w "$want" '.type == "error" and (.error | contains($w))' <<<"$body" >/dev/null; then
    ok "$name -> $want_code"
  else
    not_ok "$name -> $want_code (got $code: $body)"
  fi
}

check "vesseld starts" start_daemon
tar -C "$VESSEL_ROOTFS" -cf "$TMP/bb.tar" .
"$VESSEL" image import "$TMP/bb.tar" --alias busybox >/dev/null
"$VESSEL" launch busybox web -c limits.memory=64MiB -c limits.cpu=1 -- sh -c 'echo hello-console; exec sleep 1000' >/dev/null
check "an instance runs with limits.memory=64MiB" [ "$(mem_of web)" = 67108864 ]

# --- 1. ETags and live limits
tag=$(etag_of web)
check "GET of an instance carries an ETag ($tag)" grep -qE '^[0-9a-f]{64}$' <<<"$tag"
check "the ETag is stable while nothing changes" [ "$(etag_of web)" = "$tag" ]
bad "PATCH with a stale If-Match" 412 "ETag" -X PATCH -H 'If-Match: 0000' -d '{"config":{"limits.memory":"128MiB"}}' http://v/1.0/instances/web
check "a refused PATCH changed nothing" [ "$(mem_of web)" = 67108864 ]
code=$(code_of -X PATCH -H "If-Match: \"$tag\"" -d '{"config":{"limits.memory":"128MiB"}}' http://v/1.0/instances/web)
check "PATCH with the current ETag (quoted, as HTTP sends it) succeeds ($code)" [ "$code" = 200 ]
check "limits.memory=128MiB reached the running instance's cgroup ($(mem_of web))" [ "$(mem_of web)" = 134217728 ]
check "the instance kept running" [ "$(status_of web)" = Running ]
check "the config shows the new value and kept limits.cpu" \
  jqok '.metadata.config["limits.memory"] == "128MiB" and .metadata.config["limits.cpu"] == "1"' <<<"$(api http://v/1.0/instances/web)"
tag2=$(etag_of web)
changed() { [ -n "$tag2" ] && [ "$tag2" != "$tag" ]; }
check "the ETag changed with the config" changed
bad "PUT with the old ETag" 412 "ETag" -X PUT -H "If-Match: $tag" -d '{"config":{}}' http://v/1.0/instances/web
env=$(api -X PUT -H "If-Match: $tag2" -d '{"config":{"limits.memory":"96MiB","limits.cpu":"2","volatile.base_image":"ignored"}}' http://v/1.0/instances/web)
check "PUT is async (an operation, as Incus)" jqok '.type == "async"' <<<"$env"
check "the PUT operation succeeds" jqok '.status == "Success"' <<<"$(wait_op "$env")"
check "PUT changed the memory limit live ($(mem_of web))" [ "$(mem_of web)" = 100663296 ]
check "and limits.cpu=2 as a CFS quota of 2 periods ($(quota_of web))" [ "$(quota_of web)" = 200000 ]
wait_op "$(api -X PUT -d '{"config":{"limits.memory":"96MiB"}}' http://v/1.0/instances/web)" >/dev/null
check "PUT without limits.cpu removes the CPU limit ($(quota_of web))" bash -c "[ '$(quota_of web)' = -1 ] || [ '$(quota_of web)' = max ]"
check "PUT replaced the config (volatile keys are not stored)" \
  jqok '.metadata.config | del(."volatile.base_image") == {"limits.memory": "96MiB"}' <<<"$(api http://v/1.0/instances/web)"
bad "PATCH with an unknown key" 400 "unknown key" -X PATCH -d '{"config":{"limits.disk":"1GB"}}' http://v/1.0/instances/web
bad "PATCH with a bad size" 400 "limits.memory" -X PATCH -d '{"config":{"limits.memory":"lots"}}' http://v/1.0/instances/web
bad "PATCH with a non-string value" 400 "expected a string" -X PATCH -d '{"config":{"limits.cpu":2}}' http://v/1.0/instances/web
bad "PUT with a description" 400 "description" -X PUT -d '{"description":"x"}' http://v/1.0/instances/web
bad "PUT with devices" 400 "devices" -X PUT -d '{"devices":{"eth0":{}}}' http://v/1.0/instances/web
bad "PUT with an unknown body key" 400 'unknown key "name"' -X PUT -d '{"name":"other"}' http://v/1.0/instances/web
check "refused changes left the limit alone" [ "$(mem_of web)" = 100663296 ]
out=$(api -X PATCH -d '{"config":{"limits.cpu":"1","limits.memory":""}}' http://v/1.0/instances/web)
check "PATCH \"\" removes a key ($(mem_of web))" bash -c "[ '$(mem_of web)' -gt 1000000000000 ] || [ '$(mem_of web)' = max ]"
check "PATCH sets limits.cpu again ($(quota_of web))" [ "$(quota_of web)" = 100000 ]
"$VESSEL" stop -f web
api -X PATCH -d '{"config":{"limits.memory":"32MiB"}}' http://v/1.0/instances/web >/dev/null
"$VESSEL" start web
check "a stopped instance's new limit applies when it starts ($(mem_of web))" [ "$(mem_of web)" = 33554432 ]
"$VESSEL" config set web limits.memory=40MiB
check "vessel config set changes a limit live ($(mem_of web))" [ "$(mem_of web)" = 41943040 ]
check "vessel config show lists it" bash -c "'$VESSEL' config show web | grep -qx 'limits.memory: 40MiB'"
out=$("$VESSEL" config set web limits.bogus=1 2>&1); rc=$?
check "vessel config set of an unknown key fails clearly ($out)" bash -c "[ $rc != 0 ] && grep -q 'unknown key' <<<'$out'"
"$VESSEL" config set web limits.memory=32MiB

# --- 2. snapshots
vx 'echo before > /root/before; echo keep > /root/keep; rm /bin/vi'
out=$("$VESSEL" snapshot create web snap0 2>&1)
check "vessel snapshot create web snap0 ($out)" [ -z "$out" ]
check "the running instance is running (thawed) after it" [ "$(status_of web)" = Running ]
check "vessel snapshot list shows it" bash -c "'$VESSEL' snapshot list web | grep -q '^snap0 '"
check "GET /snapshots lists its URL" jqok '.metadata == ["/1.0/instances/web/snapshots/snap0"]' <<<"$(api http://v/1.0/instances/web/snapshots)"
check "GET /snapshots/snap0 records the config at that moment" \
  jqok '.metadata.name == "snap0" and .metadata.stateful == false and .metadata.config["limits.memory"] == "32MiB"' <<<"$(api http://v/1.0/instances/web/snapshots/snap0)"
check "the snapshot is a copy of the upper dir (with the whiteout of /bin/vi)" \
  bash -c "[ \"\$(cat '$R/instances/web/snapshots/snap0/root/before')\" = before ] && [ -c '$R/instances/web/snapshots/snap0/bin/vi' ]"
vx 'echo after > /root/after; echo changed > /root/before; rm /root/keep'
api -X PATCH -d '{"config":{"limits.memory":"48MiB"}}' http://v/1.0/instances/web >/dev/null
bad "a snapshot name taken" 409 "already exists" -X POST -d '{"name":"snap0"}' http://v/1.0/instances/web/snapshots
bad "a snapshot name with /" 400 "snapshot name" -X POST -d '{"name":"a/b"}' http://v/1.0/instances/web/snapshots
bad "a stateful snapshot" 400 "stateless" -X POST -d '{"stateful":true}' http://v/1.0/instances/web/snapshots
bad "a snapshot body with an unknown key" 400 "unknown key" -X POST -d '{"name":"s","expiry":"1d"}' http://v/1.0/instances/web/snapshots
bad "restoring a snapshot that does not exist" 404 "not found" -X PUT -d '{"restore":"nope"}' http://v/1.0/instances/web
bad "restore in a PATCH" 400 "only with PUT" -X PATCH -d '{"restore":"snap0"}' http://v/1.0/instances/web
bad "restore with a bad name" 400 "snapshot name" -X PUT -d '{"restore":"../snap0"}' http://v/1.0/instances/web
pid_before=$(api http://v/1.0/instances/web/state | jq .metadata.pid)
out=$("$VESSEL" snapshot restore web snap0 2>&1)
check "vessel snapshot restore web snap0 ($out)" [ -z "$out" ]
check "the instance runs again after the restore (a new init)" \
  bash -c "[ '$(status_of web)' = Running ] && [ \"\$(curl -s --unix-socket '$SOCK' http://v/1.0/instances/web/state | jq .metadata.pid)\" != '$pid_before' ]"
check "a file written before the snapshot has its content back" [ "$(vx 'cat /root/before')" = before ]
check "a file removed after the snapshot is back" [ "$(vx 'cat /root/keep')" = keep ]
check "a file written after the snapshot is gone" vx '! test -e /root/after'
check "a file removed before the snapshot stays removed (whiteout kept)" vx '! test -e /bin/vi'
check "the snapshot's config is restored, and its limit is in the cgroup ($(mem_of web))" \
  bash -c "[ '$(mem_of web)' = 33554432 ] && curl -s --unix-socket '$SOCK' http://v/1.0/instances/web | jq -e '.metadata.config[\"limits.memory\"] == \"32MiB\"' >/dev/null"
"$VESSEL" stop -f web
vx_stopped() { [ "$(status_of web)" = Stopped ]; }
wait_op "$(api -X POST -d '{}' http://v/1.0/instances/web/snapshots)" >/dev/null
check "a snapshot without a name of a stopped instance is snap1" \
  jqok '.metadata | index("/1.0/instances/web/snapshots/snap1") != null' <<<"$(api http://v/1.0/instances/web/snapshots)"
wait_op "$(api -X PUT -d '{"restore":"snap1"}' http://v/1.0/instances/web)" >/dev/null
check "restoring a stopped instance leaves it stopped" vx_stopped
out=$("$VESSEL" snapshot delete web snap1 2>&1)
check "vessel snapshot delete removes the row and the copy ($out)" \
  bash -c "[ \"\$(curl -s --unix-socket '$SOCK' http://v/1.0/instances/web/snapshots | jq -c .metadata)\" = '[\"/1.0/instances/web/snapshots/snap0\"]' ] && [ ! -e '$R/instances/web/snapshots/snap1' ]"
bad "GET of a deleted snapshot" 404 "not found" http://v/1.0/instances/web/snapshots/snap1
"$VESSEL" start web

m=$(api http://v/1.0/metrics)
has_counts() { grep -qx 'vessel_phase_seconds_count{phase="snapshot"} 2' <<<"$m" && grep -qx 'vessel_phase_seconds_count{phase="restore"} 2' <<<"$m"; }
check "/1.0/metrics has latency histograms of the 2 snapshots and 2 restores" has_counts
inf=$(sed -n 's/^vessel_phase_seconds_bucket{phase="start",le="+Inf"} //p' <<<"$m")
cnt=$(sed -n 's/^vessel_phase_seconds_count{phase="start"} //p' <<<"$m")
mono=$(grep '^vessel_phase_seconds_bucket{phase="start"' <<<"$m" | awk '{ if ($2 < prev) bad = 1; prev = $2 } END { print bad ? "no" : "yes" }')
hist_ok() { [ "$inf" = "$cnt" ] && [ "$cnt" -ge 3 ] && [ "$mono" = yes ]; }
check "the start histogram is cumulative and ends at its count ($inf of $cnt, monotonic: $mono)" hist_ok

# --- 3. resources
res=$(api http://v/1.0/resources)
memkb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
check "GET /1.0/resources: cpu.total is the online CPUs ($(nproc))" jqok --argjson n "$(nproc)" '.metadata.cpu.total == $n' <<<"$res"
check "memory.total is MemTotal" jqok --argjson m "$((memkb * 1024))" '.metadata.memory.total == $m' <<<"$res"
check "allocated sums the instances' limits (1 CPU, 32MiB)" \
  jqok '.metadata.cpu.allocated == 1 and .metadata.memory.allocated == 33554432 and .metadata.memory.overcommit > 0' <<<"$res"
want=$("$VESSEL" check | sed -n 's/.*cgroup mode *: [A-Z]* (\([a-z0-9]*\).*/\1/p')
check "the cgroup mode is vessel check's ($want)" jqok --arg w "$want" '.metadata.host.cgroup == $w' <<<"$res"
check "the storage pool reports its size" jqok '.metadata.storage.pools[0].total > 0 and .metadata.storage.pools[0].driver == "dir"' <<<"$res"
bad "POST /1.0/resources" 405 "method" -X POST -d '{}' http://v/1.0/resources

# --- operation cancel: a registry that never finishes a layer
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$port" "$TMP/layer-asked" >"$TMP/slowreg.log" 2>&1 <<'PY' &
import hashlib, http.server, json, sys, time
port, marker = int(sys.argv[1]), sys.argv[2]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}).encode()
layer_digest = "sha256:" + "ab" * 32
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hashlib.sha256(cfg).hexdigest(), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": 1 << 30}]}).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, body, ctype):
        self.send_response(200); self.send_header("Content-Type", ctype); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/v2/": return self.send(b"{}", "application/json")
        if "/manifests/" in self.path: return self.send(man, "application/vnd.oci.image.manifest.v1+json")
        if self.path.endswith(hashlib.sha256(cfg).hexdigest()): return self.send(cfg, "application/json")
        self.send_response(200); self.send_header("Content-Length", str(1 << 30)); self.end_headers()
        open(marker, "w").close()
        try:
            while True: self.wfile.write(b"\0" * 4096); self.wfile.flush(); time.sleep(0.2)
        except Exception: pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
RPID=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
images_before=$(api http://v/1.0/images | jq '.metadata | length') layers_before=$(ls "$R/layers" | sort | tr '\n' ' ')
env=$(api -X POST -H 'Content-Type: application/json' -d "{\"source\":{\"type\":\"image\",\"mode\":\"pull\",\"protocol\":\"oci\",\"server\":\"http://127.0.0.1:$port\",\"alias\":\"slow/img:1\"}}" http://v/1.0/images)
opurl=$(jq -r .operation <<<"$env")
for _ in $(seq 200); do [ -e "$TMP/layer-asked" ] && break; sleep 0.05; done
check "the pull reached the layer download" [ -e "$TMP/layer-asked" ]
check "a running pull says it may be cancelled" jqok '.metadata.may_cancel == true and .metadata.status == "Running"' <<<"$(api "http://v$opurl")"
code=$(code_of -X DELETE "http://v$opurl")
check "DELETE /1.0/operations/{id} answers 200 ($code)" [ "$code" = 200 ]
op=$(api "http://v$opurl" | jq -c .metadata)
check "the pull ended Cancelled (401): $(jq -r '.status + " " + .err' <<<"$op" | cut -c1-120)" jqok '.status == "Cancelled" and .status_code == 401' <<<"$op"
check "no image, layer or download is left of it" \
  bash -c "[ \"\$(curl -s --unix-socket '$SOCK' http://v/1.0/images | jq '.metadata | length')\" = '$images_before' ] && [ \"\$(ls '$R/layers' | sort | tr '\n' ' ')\" = '$layers_before' ] && [ -z \"\$(ls '$R/tmp')\" ]"
check "GET /1.0/operations lists it under cancelled" jqok --arg u "$opurl" '.metadata.cancelled | index($u) != null' <<<"$(api http://v/1.0/operations)"
bad "cancelling a finished operation" 400 "not running" -X DELETE "http://v$opurl"
env=$(api -X PUT -d '{"action":"stop","timeout":2}' http://v/1.0/instances/web/state) # sleep as init ignores TERM: 2 s
bad "cancelling an operation that cannot be cancelled" 400 "cannot be cancelled" -X DELETE "http://v$(jq -r .operation <<<"$env")"
wait_op "$env" >/dev/null
kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
"$VESSEL" start web

# --- 4. logs
check "GET /logs lists console.log" jqok '.metadata == ["/1.0/instances/web/logs/console.log"]' <<<"$(api http://v/1.0/instances/web/logs)"
check "GET /logs/console.log is the init's output" grep -q '^hello-console$' <(api http://v/1.0/instances/web/logs/console.log)
bad "another log name" 404 "console.log" http://v/1.0/instances/web/logs/lxc.log
bad "a log name with .." 400 '".."' --path-as-is http://v/1.0/instances/web/logs/../../../etc/passwd
check "vessel logs web prints it" bash -c "'$VESSEL' logs web | grep -qx hello-console"
api -X DELETE http://v/1.0/instances/web/logs/console.log >/dev/null
check "DELETE /logs/console.log empties it" [ -z "$(api http://v/1.0/instances/web/logs/console.log)" ]

# --- 4. files
head -c 100000 /dev/urandom > "$TMP/blob"
code=$(code_of -X POST -H 'X-Incus-uid: 1000' -H 'X-Incus-gid: 1001' -H 'X-Incus-mode: 0600' --data-binary @"$TMP/blob" 'http://v/1.0/instances/web/files?path=/root/blob')
check "POST /files pushes a binary file ($code)" [ "$code" = 200 ]
check "it is in the instance with its owner and mode" [ "$(vx 'stat -c "%a %u %g %s" /root/blob')" = "600 1000 1001 100000" ]
check "the bytes are the same (in its upper dir)" cmp -s "$TMP/blob" "$R/instances/web/upper/root/blob"
api -D "$TMP/pull.hdr" -o "$TMP/pulled" 'http://v/1.0/instances/web/files?path=/root/blob'
check "GET /files pulls it back, byte for byte" cmp -s "$TMP/blob" "$TMP/pulled"
check "with Incus's headers (uid, gid, mode, type)" \
  bash -c "tr -d '\r' < '$TMP/pull.hdr' | grep -q '^X-Incus-mode: 0600' && grep -qi '^X-Incus-uid: 1000' '$TMP/pull.hdr' && grep -qi '^X-Incus-type: file' '$TMP/pull.hdr'"
printf 'more' | api -X POST -H 'X-Incus-write: append' --data-binary @- 'http://v/1.0/instances/web/files?path=/root/blob' >/dev/null
check "X-Incus-write: append appends" [ "$(vx 'stat -c %s /root/blob')" = 100004 ]
code=$(code_of -X POST --data-binary '' 'http://v/1.0/instances/web/files?path=/root/empty')
check "an empty push makes an empty file ($code)" bash -c "[ '$code' = 200 ] && '$VESSEL' exec web -- test -f /root/empty"
code=$(code_of -X POST -H 'X-Incus-type: directory' -H 'X-Incus-mode: 0700' --data-binary '' 'http://v/1.0/instances/web/files?path=/root/dir')
check "X-Incus-type: directory makes a directory ($code)" [ "$(vx 'stat -c %a /root/dir')" = 700 ]
check "GET of a directory lists it" jqok '.metadata | index("blob") != null and index("dir") != null' <<<"$(api 'http://v/1.0/instances/web/files?path=/root')"
check "GET /files?path=/etc/hostname of the image layer" [ "$(api 'http://v/1.0/instances/web/files?path=/etc/passwd' | head -1 | cut -d: -f1)" = root ]
"$VESSEL" file push "$TMP/blob" web /root/cblob --mode 0640 --gid 7
check "vessel file push sends a file with its mode and group" [ "$(vx 'stat -c "%a %g %s" /root/cblob')" = "640 7 100000" ]
"$VESSEL" file pull web /root/cblob "$TMP/cpulled"
check "vessel file pull gets it back" cmp -s "$TMP/blob" "$TMP/cpulled"
out=$("$VESSEL" file pull web /nope 2>&1); rc=$?
check "vessel file pull of a missing file fails clearly ($out)" bash -c "[ $rc != 0 ] && grep -q 'No such file' <<<'$out'"
bad "a relative path" 400 "absolute" 'http://v/1.0/instances/web/files?path=etc/passwd'
bad "no path" 400 "absolute" 'http://v/1.0/instances/web/files'
bad "a bad mode header" 400 "X-Incus-mode" -X POST -H 'X-Incus-mode: 999' --data-binary x 'http://v/1.0/instances/web/files?path=/root/x'
bad "a negative uid" 400 "X-Incus-uid" -X POST -H 'X-Incus-uid: -1' --data-binary x 'http://v/1.0/instances/web/files?path=/root/x'
bad "a symlink push (not supported)" 400 "X-Incus-type" -X POST -H 'X-Incus-type: symlink' --data-binary x 'http://v/1.0/instances/web/files?path=/root/x'
bad "pushing to /" 400 "must name a file" -X POST --data-binary x 'http://v/1.0/instances/web/files?path=/'
bad "pushing to .." 400 "must name a file" -X POST --data-binary x 'http://v/1.0/instances/web/files?path=/root/..'
bad "a file in the instance that does not exist" 404 "No such file" 'http://v/1.0/instances/web/files?path=/nope'

# The attacker: a container that plants symlinks out of its root and a FIFO.
mkdir -p "$TMP/host"; echo HOSTSECRET > "$TMP/host/secret"; echo original > "$TMP/host/target"
vx "ln -s $TMP/host/secret /leak; ln -s ../../../../../../../../..$TMP/host/secret /leak-dots; ln -s / /rootlink;
    ln -s $TMP/host/target /overwrite; ln -s $TMP/host /hostdir; mkfifo /fifo"
for p in /leak /leak-dots "/rootlink$TMP/host/secret" "/../../../../..$TMP/host/secret" "/hostdir/secret"; do
  out=$(api "http://v/1.0/instances/web/files?path=$p")
  if grep -q HOSTSECRET <<<"$out"; then not_ok "GET $p leaks the host's file"
  else check "GET $p stays in the instance's root (404)" jqok '.error_code == 404' <<<"$out"; fi
done
code=$(code_of -X POST --data-binary PWNED "http://v/1.0/instances/web/files?path=/overwrite")
check "a push to a symlink pointing at a host file is refused ($code)" [ "$code" = 400 ]
code=$(code_of -X POST --data-binary PWNED "http://v/1.0/instances/web/files?path=/hostdir/target")
check "a push through a symlinked directory stays in the root ($code)" [ "$code" = 404 ]
code=$(code_of -X POST --data-binary PWNED "http://v/1.0/instances/web/files?path=/rootlink$TMP/host/new")
check "a push through a link to / stays in the root ($code)" [ "$code" = 404 ]
check "the host's files are untouched" \
  bash -c "[ \"\$(cat '$TMP/host/target')\" = original ] && [ ! -e '$TMP/host/new' ] && [ \"\$(ls '$TMP/host' | tr '\n' ' ')\" = 'secret target ' ]"
out=$(timeout 10 curl -s --unix-socket "$SOCK" 'http://v/1.0/instances/web/files?path=/fifo')
check "a FIFO is refused, not opened (the daemon does not hang)" jqok '.error_code == 400 and (.error | contains("not a regular file"))' <<<"$out"
check "the daemon still answers" [ "$(code_of http://v/1.0)" = 200 ]

# --- kill -9: what a cut snapshot or restore left is removed at the next start
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
I=$R/instances/web
mkdir -p "$I/snapshots/.tmp-snap7/root" "$I/snapshots/orphan/root" "$I/upper.restore/root"
check "vesseld restarts after kill -9" start_daemon
check "it removed the half-made copy, the copy no row names and the half-made restore" \
  bash -c "[ ! -e '$I/snapshots/.tmp-snap7' ] && [ ! -e '$I/snapshots/orphan' ] && [ ! -e '$I/upper.restore' ]"
check "and kept the snapshot it knows, with its files" \
  bash -c "[ -f '$I/snapshots/snap0/root/before' ] && curl -s --unix-socket '$SOCK' http://v/1.0/instances/web/snapshots | jq -e '.metadata == [\"/1.0/instances/web/snapshots/snap0\"]' >/dev/null"
check "the instance still runs, re-adopted" [ "$(status_of web)" = Running ]

# --- the end: an instance with snapshots goes with them
"$VESSEL" rm -f web
check "rm -f of an instance removes its snapshots" \
  bash -c "[ ! -e '$R/instances/web' ] && [ \"\$(sqlite3 '$R/vesseld.db' 'SELECT count(*) FROM snapshots')\" = 0 ]"
check "every mutating request was audited and the chain verifies" bash -c "'$VESSEL' audit verify >/dev/null && grep -q 'restore instance web from snapshot snap0' '$R/audit.log' && grep -q 'cancel operation' '$R/audit.log'"
kill "$DPID"; wait "$DPID"; rc=$?; DPID=
check "vesseld stops cleanly ($rc)" [ "$rc" = 0 ]
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/vesseld.log"; then
  not_ok "vesseld ran clean (sanitizer report)"; grep -E -A12 'Sanitizer|runtime error:' "$TMP/vesseld.log" | head -40 | sed 's/^/# /'
else
  ok "vesseld's log has no sanitizer report"
fi
