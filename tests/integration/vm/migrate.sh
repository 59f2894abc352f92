#!/usr/bin/env bash
# Live migration (vessel vm migrate / PUT /migrate, vessel vm run
# --incoming): a ring-3 guest that keeps writing memory (tests/guests/
# memwriter.c: every page of an 8 MiB region stamped sweep after sweep,
# each page checked for the previous stamp, so a lost page ends it with
# status 9) and answers on the console is migrated over a Unix socket
# while it writes: the source exits 0 after the destination runs it, the
# sweep count goes on on the destination from where it was, no page is
# stale, the console answers. Then, from that destination: a migration
# cut mid-stream and one the destination refuses leave the guest running
# where it was (its count still advancing, GET /migrate says why); a
# recorded stream truncated, of another version, with a corrupt device
# state or a page outside guest memory is refused by a real destination
# with a clear message (exit 1, an ERROR frame to the sender). Last a
# second real migration, over TCP. Ring-3 guests, not Linux: a Linux
# guest under the nested host's emulated SVM boots too slowly for the
# several rounds of this. Run by 20_vm_ring3.sh where there is a usable
# /dev/kvm (directly, or in the nested test host), guests in $GUESTS.
source "$(dirname "$0")/../../lib.sh"
: "${GUESTS:?built ring-3 guests (tests/guests/build.sh DIR)}"
command -v curl >/dev/null || { not_ok "migration tests need curl (scripts/setup.sh installs it)"; exit 0; }
PEER=$ROOT/tests/integration/vm/migpeer.py

api() { curl -s -m 120 --unix-socket "$1" -X "$2" "http://localhost$3" "${@:4}"; }
wait_sock() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
jqt() { jq -e "$@" >/dev/null; }
wait_grep() { local i; for i in $(seq $((${3:-60} * 10))); do grep -aq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
sweeps() { grep -a '^sweep ' "$1" | tr -d '\r' | cut -d' ' -f2; }
last_sweep() { printf '%d' "0x$(sweeps "$1" | tail -1)"; }
# advancing FILE: a new, higher sweep line appears in FILE.
advancing() {
  local n before; n=$(sweeps "$1" | wc -l); before=$(last_sweep "$1")
  for _ in $(seq 600); do
    [ "$(sweeps "$1" | wc -l)" -gt "$n" ] && [ "$(last_sweep "$1")" -gt "$before" ] && return 0; sleep 0.1
  done
  return 1
}
# start_dest NAME ADDR: `vm run --incoming ADDR` with an API socket, its console on a FIFO.
start_dest() {
  mkfifo "$TMP/$1.in"
  "$VESSEL" vm run --incoming "$2" --api-sock "$TMP/$1.api" <"$TMP/$1.in" >"$TMP/$1.out" 2>"$TMP/$1.err" &
  eval "pid_$1=\$!"
  on_exit "kill -9 $! 2>/dev/null"
  eval "exec {fd_$1}>\"\$TMP/$1.in\""
}

# ------------------------------------------------ a busy guest moves
mkfifo "$TMP/a.in"
"$VESSEL" vm run --api-sock "$TMP/a.api" --ring3 "$GUESTS/memwriter.bin" --memory 32M <"$TMP/a.in" >"$TMP/a.out" 2>"$TMP/a.err" &
pid_a=$!
on_exit "kill -9 $pid_a 2>/dev/null"
exec {fd_a}>"$TMP/a.in"
wait_sock "$TMP/a.api"
if ! wait_grep "$TMP/a.out" '^sweep 0000000000000' 120 || ! advancing "$TMP/a.out"; then
  not_ok "the memory-writing guest runs"; tail -n 5 "$TMP/a.out" "$TMP/a.err" | sed 's/^/# /'; exit 0
fi
ok "the memory-writing guest runs (sweep $(last_sweep "$TMP/a.out"))"
check "GET /migrate before any migration: state none" test "$(api "$TMP/a.api" GET /migrate | jq -r .state)" = none
out=$(api "$TMP/a.api" PUT /migrate -d '{"destination": "file:/x"}' 2>&1)
check "PUT /migrate with a bad destination: 400 naming it" grep -q 'must be unix:PATH or tcp:HOST:PORT' <<<"$out"
out=$(curl -s -m 30 --unix-socket "$TMP/a.api" -X PUT -w '\n%{http_code}' http://localhost/migrate -d '{"destination": "unix:/x", "speed": 1}')
check "PUT /migrate with an unknown field: 400" test "${out##*$'\n'}" = 400
out=$("$VESSEL" vm migrate --api-sock "$TMP/a.api" "unix:$TMP/nobody.sock" 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "migrate to unix:$TMP/nobody.sock: connect" <<<"$out"; then
  ok "migrating to where nobody listens fails at once, naming the address"
else not_ok "migrating to where nobody listens fails at once, naming the address ($rc: $out)"; fi
check "after that the source still runs" advancing "$TMP/a.out"

start_dest b "unix:$TMP/b.sock"
wait_sock "$TMP/b.sock" || not_ok "the destination listens"
before=$(last_sweep "$TMP/a.out")
out=$("$VESSEL" vm migrate --api-sock "$TMP/a.api" --max-rounds 4 "unix:$TMP/b.sock" 2>"$TMP/m1.err"); rc=$?
echo "# migrate a -> b: $out $(cat "$TMP/m1.err")"
if [ "$rc" = 0 ] && jq -e '.state == "completed" and .bytes > 8388608 and .last_dirty_pages > 0 and .downtime_ms > 0' >/dev/null <<<"$out"; then
  ok "vm migrate: completed ($(jq -r '"\(.rounds) rounds, \(.bytes) bytes, downtime \(.downtime_ms) ms, total \(.total_ms) ms"' <<<"$out"))"
else not_ok "vm migrate: completed (rc $rc: $out)"; fi
timeout 30 tail --pid=$pid_a -f /dev/null; wait $pid_a; rc=$?
check "the source VMM exits 0 after the destination runs the guest" test "$rc" = 0
if wait_grep "$TMP/b.out" '^sweep ' 60 && advancing "$TMP/b.out"; then
  first=$(printf '%d' "0x$(sweeps "$TMP/b.out" | head -1)")
  if [ "$first" -ge "$before" ] && ! grep -aq 'memwriter up' "$TMP/b.out"; then
    ok "on the destination the sweep count goes on (last seen on the source $before, first on the destination $first), no restart"
  else not_ok "on the destination the sweep count goes on (source $before, destination first $first)"; fi
else
  not_ok "the guest runs on the destination"; tail -n 5 "$TMP/b.out" "$TMP/b.err" | sed 's/^/# /'
fi
check "no page is stale on the destination" bash -c "! grep -aq stale '$TMP/b.out'"
echo x >&$fd_b
check "the destination's console answers" wait_grep "$TMP/b.out" '^echo x' 30
check "the destination's API says Running" test "$(api "$TMP/b.api" GET / | jq -r .state)" = Running

# ------------------------------------------------ failures leave it running
python3 "$PEER" record "$TMP/cut.sock" "$TMP/cut.bin" --cut 3000000 >"$TMP/cut.log" 2>&1 &
peer=$!
wait_sock "$TMP/cut.sock"
out=$("$VESSEL" vm migrate --api-sock "$TMP/b.api" "unix:$TMP/cut.sock" 2>&1); rc=$?
wait $peer
if [ "$rc" = 1 ] && grep -q "migrate to unix:$TMP/cut.sock" <<<"$out"; then ok "a migration cut mid-stream fails, naming the destination ($out)"
else not_ok "a migration cut mid-stream fails, naming the destination ($rc: $out)"; fi
check "after the cut the guest runs on where it was, counting" advancing "$TMP/b.out"
st=$(api "$TMP/b.api" GET /migrate)
check "GET /migrate says the cut migration failed, and why" jqt '.state == "failed" and (.error | length > 0)' <<<"$st"
check "after the cut the API says Running" test "$(api "$TMP/b.api" GET / | jq -r .state)" = Running

python3 "$PEER" record "$TMP/ref.sock" "$TMP/stream.bin" --refuse "no room for this guest" >"$TMP/ref.log" 2>&1 &
peer=$!
wait_sock "$TMP/ref.sock"
out=$("$VESSEL" vm migrate --api-sock "$TMP/b.api" --max-rounds 2 "unix:$TMP/ref.sock" 2>&1); rc=$?
wait $peer
if [ "$rc" = 1 ] && grep -q "the destination refused: no room for this guest" <<<"$out"; then ok "a destination that refuses: the source says why"
else not_ok "a destination that refuses: the source says why ($rc: $out)"; fi
check "after the refusal the guest runs on where it was, counting" advancing "$TMP/b.out"
check "no page is stale after the failed migrations" bash -c "! grep -aq stale '$TMP/b.out'"

# ------------------------------------------------ bad streams are refused
# bad_stream NAME EDIT WANT: the recorded stream, edited, into a real destination.
bad_stream() {
  local name=$1 f=$TMP/bad.$2.bin sock=$TMP/bad.$2.sock rep rc pid
  python3 "$PEER" edit "$TMP/stream.bin" "$f" "$2"
  timeout 60 "$VESSEL" vm run --incoming "unix:$sock" </dev/null >"$TMP/bad.$2.out" 2>"$TMP/bad.$2.err" &
  pid=$!
  wait_sock "$sock"
  rep=$(timeout 60 python3 "$PEER" replay "$sock" "$f")
  wait $pid; rc=$?
  if [ "$rc" = 1 ] && grep -qF -- "$3" "$TMP/bad.$2.err" && grep -qF -- "ERROR" <<<"$rep" && ! grep -aq '^sweep' "$TMP/bad.$2.out"; then
    ok "$name is refused: $(head -c 200 "$TMP/bad.$2.err")"
  else not_ok "$name is refused (want 1 '$3', got $rc: $(head -c 300 "$TMP/bad.$2.err"); reply $rep)"; fi
}
if [ -s "$TMP/stream.bin" ]; then
  bad_stream "a truncated stream" half "the stream was cut after"
  bad_stream "a stream of another version" version "stream format version 2, this vessel reads version 1"
  bad_stream "a stream with a corrupt device state" state "checksum mismatch"
  bad_stream "a stream with a page outside guest memory" page "outside guest memory"
  # The unedited stream is good: a destination runs it (the guest as it was when recorded).
  timeout 60 "$VESSEL" vm run --incoming "unix:$TMP/good.sock" </dev/null >"$TMP/good.out" 2>"$TMP/good.err" &
  pid=$!
  on_exit "kill -9 $pid 2>/dev/null"
  wait_sock "$TMP/good.sock"
  rep=$(timeout 60 python3 "$PEER" replay "$TMP/good.sock" "$TMP/stream.bin")
  if [ "$rep" = RUNNING ] && wait_grep "$TMP/good.out" '^sweep ' 60; then ok "the recorded stream itself is taken: RUNNING, the guest counts"
  else not_ok "the recorded stream itself is taken ($rep; $(head -c 300 "$TMP/good.err"))"; fi
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
else not_ok "the refusing peer recorded a stream"; fi

# ------------------------------------------------ again, over TCP
port=$((20000 + RANDOM % 20000))
start_dest c "tcp:127.0.0.1:$port"
for _ in $(seq 100); do ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
before=$(last_sweep "$TMP/b.out")
out=$("$VESSEL" vm migrate --api-sock "$TMP/b.api" --max-rounds 4 "tcp:127.0.0.1:$port" 2>&1); rc=$?
check "a second migration, over TCP: completed" jqt '.state == "completed"' <<<"$out"
timeout 30 tail --pid=$pid_b -f /dev/null; wait $pid_b; rc=$?
check "the second source exits 0" test "$rc" = 0
if wait_grep "$TMP/c.out" '^sweep ' 60 && advancing "$TMP/c.out" && [ "$(printf '%d' "0x$(sweeps "$TMP/c.out" | head -1)")" -ge "$before" ]; then
  ok "after the TCP migration the count goes on"
else not_ok "after the TCP migration the count goes on"; tail -n 5 "$TMP/c.out" "$TMP/c.err" | sed 's/^/# /'; fi
check "no page is stale after two migrations" bash -c "! grep -aq stale '$TMP/c.out'"
kill -TERM $pid_c; wait $pid_c; rc=$?
check "the migrated VM stops on SIGTERM (143)" test "$rc" = 143
