#!/usr/bin/env bash
# vesseld HA and networks (issue 10): restart policies (a kill -9 of the
# workload is detected and recovered, its time printed; on-failure:2 gives
# up after two restarts; a user's stop is final; unless-stopped survives a
# restart of vesseld), an exec health check that restarts an unhealthy
# instance, and managed bridge networks.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/vsd/lib.sh"
EVPID=
on_exit 'cleanup_all'
cleanup_all() {
  [ -n "$EVPID" ] && kill "$EVPID" 2>/dev/null
  vsd_cleanup
  net_cleanup
}
net_cleanup() {
  ip netns del vst-out 2>/dev/null
  ip link del vsto0 2>/dev/null
  for f in "$R"/networks/*/dnsmasq.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  [ -n "${BR:-}" ] && { ip link del "$BR" 2>/dev/null; nft delete table ip "vessel-$BR" 2>/dev/null; }
}

api() { curl -s --unix-socket "$SOCK" "$@"; }
jqok() { jq -e "$@" >/dev/null; }
state_of() { api "http://v/1.0/instances/$1/state" | jq -c .metadata; }
field() { state_of "$1" | jq -r ".$2"; }
# wait_for SECONDS CMD...: until CMD passes (polls every 20 ms).
wait_for() {
  local n=$(( $1 * 50 )); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.02; done
  return 1
}
is_status() { [ "$(field "$1" status)" = "$2" ]; }
new_pid() { local p; p=$(field "$1" pid); [ "$(field "$1" status)" = Running ] && [ "$p" != "$2" ] && [ "$p" != 0 ]; }
# Lifecycle events of one instance, "action" per line, from the stream file.
actions_of() { jq -r --arg s "/1.0/instances/$1" 'select(.metadata.source == $s) | .metadata.action' "$TMP/events"; }
has_action() { actions_of "$1" | grep -qx "$2"; }
start_events() {
  api -sN -D "$TMP/events.hdr" "http://v/1.0/events?type=lifecycle" >>"$TMP/events" &
  EVPID=$!
  for _ in $(seq 100); do grep -q '^HTTP/1.1 200' "$TMP/events.hdr" 2>/dev/null && return 0; sleep 0.05; done
}
ms_now() { date +%s%3N; }
# rm_gone NAME: stop and delete it, again while a supervisor's operation
# holds it busy (409), until it is gone.
gone() { "$VESSEL" rm -f "$1" >/dev/null 2>&1; [ "$(api "http://v/1.0/instances/$1" | jq -r .error_code)" = 404 ]; }
rm_gone() { wait_for 10 gone "$1"; }

check "vesseld starts" start_daemon
tar -C "$VESSEL_ROOTFS" -cf "$TMP/bb.tar" .
"$VESSEL" image import "$TMP/bb.tar" --alias busybox >/dev/null
start_events

# --- bad input: nothing stored
out=$("$VESSEL" launch busybox bad1 -c restart.policy=sometimes -- sleep 1 2>&1)
check "an unknown restart policy is refused with the choices ($out)" grep -q 'expected no, on-failure\[:MAX\], always or unless-stopped' <<<"$out"
out=$("$VESSEL" launch busybox bad2 -c restart.policy=on-failure:x -- sleep 1 2>&1)
check "on-failure:x is refused ($out)" grep -q 'on-failure: must be a whole number' <<<"$out"
out=$("$VESSEL" launch busybox bad3 -c health.interval=1s -- sleep 1 2>&1)
check "health.interval without health.check is refused ($out)" grep -q 'set health.check' <<<"$out"
out=$("$VESSEL" launch busybox bad4 -c health.check=tcp:99999 -- sleep 1 2>&1)
check "a health check on port 99999 is refused ($out)" grep -q 'port must be 1 to 65535' <<<"$out"
check "no refused instance was stored" [ "$(api http://v/1.0/instances | jq '.metadata | length')" = 0 ]

# --- always: kill -9 of the workload, detection to running
"$VESSEL" launch busybox r1 -c restart.policy=always -- sleep 1000 >/dev/null
check "an instance with restart.policy=always runs" is_status r1 Running
pid=$(field r1 pid)
t0=$(ms_now)
kill -9 "$pid"
wait_for 10 new_pid r1 "$pid"; rc=$?
t1=$(ms_now)
check "kill -9 of its process: it runs again with a new init" [ $rc = 0 ]
wait_for 2 has_action r1 instance-recovered
rec=$(jq -r 'select(.metadata.action == "instance-recovered" and .metadata.source == "/1.0/instances/r1") | .metadata.context.recovery_ms' "$TMP/events" | head -1)
echo "# recovery (always, container): kill -9 to Running $((t1 - t0)) ms as the client saw it; vesseld's detection to running ${rec} ms (target <= 2000 ms)"
echo "# r1: $(actions_of r1 | tr "\n" " ")"
check "the transitions are events, in order: exited (137), restarting, started, recovered" \
  [ "$(actions_of r1 | tr '\n' ' ')" = "instance-created instance-started instance-exited instance-restarting instance-started instance-recovered " ]
check "the exit code of the kill is reported (137) and counted" \
  jqok '.last_exit_code == 137 and .restart_count == 1' <<<"$(state_of r1)"
ctx=$(jq -c 'select(.metadata.action == "instance-restarting" and .metadata.source == "/1.0/instances/r1") | .metadata.context' "$TMP/events")
check "the first restart waits Docker's 100 ms ($ctx)" jqok '.delay_ms == 100 and .policy == "always"' <<<"$ctx"
pid=$(field r1 pid); kill -9 "$pid"; wait_for 10 new_pid r1 "$pid"
ctx=$(jq -c 'select(.metadata.action == "instance-restarting" and .metadata.source == "/1.0/instances/r1") | .metadata.context' "$TMP/events" | tail -1)
check "a second crash soon after doubles the delay ($ctx)" jqok '.delay_ms == 200 and .restart_count == 2' <<<"$ctx"

# --- a user's stop is final
"$VESSEL" stop r1 --timeout 1
check "vessel stop stops an always instance" is_status r1 Stopped
sleep 1.5
check "and it is not restarted (1.5 s later: Stopped, stopped_by_user)" \
  jqok '.status == "Stopped" and .stopped_by_user == true and .restart_count == 2' <<<"$(state_of r1)"
check "no restart event after the user's stop" [ "$(actions_of r1 | tail -1)" = instance-stopped ]

# --- on-failure:2: two restarts, then it stays stopped
"$VESSEL" launch busybox f1 -c restart.policy=on-failure:2 -- sh -c 'sleep 0.3; exit 3' >/dev/null
wait_for 15 has_action f1 instance-restart-limit
check "on-failure:2 gives up after two restarts (instance-restart-limit)" has_action f1 instance-restart-limit
sleep 1
check "it is Stopped with restart_count 2 and last exit code 3" \
  jqok '.status == "Stopped" and .restart_count == 2 and .last_exit_code == 3' <<<"$(state_of f1)"
check "exactly two restarts were started by the policy" [ "$(actions_of f1 | grep -c instance-restarting)" = 2 ]
"$VESSEL" launch busybox z1 -c restart.policy=on-failure -- sh -c 'sleep 0.2; exit 0' >/dev/null
wait_for 5 has_action z1 instance-exited
sleep 0.5
check "on-failure does not restart an exit 0" \
  jqok '.status == "Stopped" and .restart_count == 0 and .last_exit_code == 0' <<<"$(state_of z1)"
"$VESSEL" launch busybox n1 -- sh -c 'sleep 0.2; exit 1' >/dev/null
wait_for 5 has_action n1 instance-exited
sleep 0.5
check "without a policy (no) a failing instance stays stopped" \
  jqok '.status == "Stopped" and .restart_count == 0 and .last_exit_code == 1' <<<"$(state_of n1)"

# --- unless-stopped across a restart of vesseld
"$VESSEL" launch busybox u1 -c restart.policy=unless-stopped -- sleep 1000 >/dev/null
"$VESSEL" launch busybox u2 -c restart.policy=unless-stopped -- sleep 1000 >/dev/null
"$VESSEL" launch busybox u3 -c restart.policy=unless-stopped -- sleep 1000 >/dev/null
"$VESSEL" stop u2 --timeout 1
kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null; EVPID=
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
u3pid=$("$VESSEL" --root "$R/runtime" state u3 | jq -r .pid)
kill -9 "$u3pid" # dies while vesseld is down
check "vesseld restarts on the same root" start_daemon
start_events
check "u1 (unless-stopped) was re-adopted running" is_status u1 Running
check "u3, killed while vesseld was down, is brought back at its start" wait_for 10 is_status u3 Running
check "u2, stopped by the user, stays stopped across the restart" is_status u2 Stopped
check "r1 (always), stopped by the user, is started by vesseld's start (Docker's rule)" wait_for 10 is_status r1 Running
pid=$(field u1 pid)
t0=$(ms_now)
kill -9 "$pid"
wait_for 10 new_pid u1 "$pid"; rc=$?
t1=$(ms_now)
check "after the restart of vesseld, kill -9 of u1's process: it runs again" [ $rc = 0 ]
echo "# recovery (unless-stopped, adopted by a restarted vesseld): kill -9 to Running $((t1 - t0)) ms"
check "an adopted init's exit code is unknown to vesseld (not its parent): null, counted as a failure" \
  jqok '.last_exit_code == null and .restart_count == 1' <<<"$(state_of u1)"
# --- health checks
# exec: healthy while /tmp/ok exists; removing it makes the check fail,
# two failures make it unhealthy and vesseld restarts it (the new init
# creates the file again).
"$VESSEL" launch busybox h1 -c health.check='exec:test -f /tmp/ok' -c health.interval=300ms -c health.retries=2 \
  -c health.timeout=5s -- sh -c 'touch /tmp/ok; exec sleep 1000' >/dev/null
health_is() { [ "$(field "$1" health)" = "$2" ]; }
check "an exec health check makes it healthy" wait_for 10 health_is h1 healthy
pid=$(field h1 pid)
"$VESSEL" exec h1 -- rm /tmp/ok
t0=$(ms_now)
check "when the check fails twice it is reported unhealthy" wait_for 10 has_action h1 instance-health-unhealthy
check "and vesseld restarts it (a new init)" wait_for 10 new_pid h1 "$pid"
t1=$(ms_now)
check "the restarted instance is healthy again" wait_for 10 health_is h1 healthy
echo "# health: file removed to running again $((t1 - t0)) ms (interval 300 ms, retries 2)"
check "the health transitions are events: healthy, unhealthy, recovered, healthy" \
  [ "$(actions_of h1 | grep -E 'health|recovered' | tr '\n' ' ')" = "instance-health-healthy instance-health-unhealthy instance-recovered instance-health-healthy " ]
# http and tcp, inside the instance's network namespace
"$VESSEL" launch busybox h2 -c health.check=http:8080/ -c health.interval=300ms -- sh -c 'mkdir -p /www; echo hi > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www' >/dev/null
check "an http check against busybox httpd on the instance's loopback makes it healthy" wait_for 10 health_is h2 healthy
"$VESSEL" launch busybox h3 -c health.check=http:8080/missing -c health.interval=300ms -c health.retries=1 -- sh -c 'mkdir -p /www; exec httpd -f -p 127.0.0.1:8080 -h /www' >/dev/null
check "an http check answered 404 makes it unhealthy" wait_for 10 has_action h3 instance-health-unhealthy
"$VESSEL" launch busybox h4 -c health.check=tcp:9 -c health.interval=300ms -c health.retries=1 -c restart.policy=no -- sleep 1000 >/dev/null
check "a tcp check on a closed port makes it unhealthy and restarts it" wait_for 10 has_action h4 instance-recovered
"$VESSEL" launch busybox h5 -c health.check=tcp:8080 -c health.interval=300ms -- httpd -f -p 127.0.0.1:8080 >/dev/null
check "a tcp check on a listening port makes it healthy" wait_for 10 health_is h5 healthy
for n in h1 h2 h3 h4 h5; do rm_gone "$n"; done

for n in r1 f1 z1 n1 u1 u2 u3; do rm_gone "$n"; done
left=$(api http://v/1.0/instances | jq -c '.metadata')
check "all test instances are gone ($left)" [ "$left" = "[]" ]

# --- managed bridge networks
links_before=$(ip -o link show | grep -c ' vsbr')
out=$("$VESSEL" network create tn1 ipv4.address=10.123.0.1/24 2>&1)
check "vessel network create makes a network ($out)" grep -q 'created' <<<"$out"
BR=$(api http://v/1.0/networks/tn1 | jq -r '.metadata.config["bridge.name"]')
check "its bridge $BR carries the gateway 10.123.0.1/24" bash -c "ip -br addr show '$BR' | grep -q '10.123.0.1/24'"
check "its MAC is set, not its lowest port's (addr_assign_type 3): instances coming and going never change it" \
  [ "$(cat "/sys/class/net/$BR/addr_assign_type")" = 3 ]
check "its nftables table masquerades the subnet" bash -c "nft list table ip 'vessel-$BR' | grep -q 'ip saddr 10.123.0.0/24 ip daddr != 10.123.0.0/24 masquerade'"
dns_pid() { cat "$R/networks/tn1/dnsmasq.pid" 2>/dev/null; }
check "a dnsmasq serves it" [ -n "$(dns_pid)" ] && grep -q dnsmasq "/proc/$(dns_pid)/cmdline"
check "vessel network ls lists it" bash -c "'$VESSEL' network ls | grep -q '^tn1 .*$BR .*10.123.0.1/24'"
nbad() { # nbad LABEL EXPECTED BODY: POST /1.0/networks is refused with EXPECTED in the error
  local out; out=$(api -X POST -d "$3" http://v/1.0/networks)
  check "$1 is refused ($(jq -r .error <<<"$out"))" jqok --arg e "$2" '.type == "error" and (.error | contains($e))' <<<"$out"
}
nbad "an overlapping subnet (10.123.0.129/25 inside 10.123.0.0/24)" "overlaps network tn1" '{"name":"tn2","config":{"ipv4.address":"10.123.0.129/25"}}'
nbad "a subnet holding the other (10.0.0.1/8)" "overlaps network tn1" '{"name":"tn2","config":{"ipv4.address":"10.0.0.1/8"}}'
nbad "a gateway that is the network address" "not its network or broadcast" '{"name":"tn2","config":{"ipv4.address":"10.124.0.0/24"}}'
nbad "a /31" "prefix must be 8 to 30" '{"name":"tn2","config":{"ipv4.address":"10.124.0.1/31"}}'
nbad "a malformed address" "expected GATEWAY/PREFIX" '{"name":"tn2","config":{"ipv4.address":"10.124.0/24"}}'
nbad "an unknown config key" 'unknown key "ipv6.address"' '{"name":"tn2","config":{"ipv4.address":"10.124.0.1/24","ipv6.address":"fd00::1/64"}}'
nbad "a second network of the same name" "already exists" '{"name":"tn1","config":{"ipv4.address":"10.125.0.1/24"}}'
check "the bridge is named from the root and the network (vsbr + sha256(root/name))" \
  [ "$BR" = "vsbr$(printf '%s/%s' "$R" tn1 | sha256sum | cut -c1-8)" ]
# A failure after the row is written (tn3's bridge name taken on the host)
# takes the row back: nothing half-made.
BR3=vsbr$(printf '%s/%s' "$R" tn3 | sha256sum | cut -c1-8)
ip link add "$BR3" type bridge
out=$(api -X POST -d '{"name":"tn3","config":{"ipv4.address":"10.126.0.1/24"}}' http://v/1.0/networks)
check "a bridge name taken on the host is refused ($(jq -r .error <<<"$out"))" jqok '.error_code == 409 and (.error | contains("already exists on the host"))' <<<"$out"
check "and leaves no row, rule set or dnsmasq" \
  bash -c "[ \"\$(curl -s --unix-socket '$SOCK' http://v/1.0/networks/tn3 | jq -r .error_code)\" = 404 ] && ! nft list table ip 'vessel-$BR3' >/dev/null 2>&1 && [ ! -e '$R/networks/tn3' ]"
ip link del "$BR3" 2>/dev/null
check "nothing of a refused network was made (one network, no new bridge)" \
  [ "$(api http://v/1.0/networks | jq '.metadata | length')" = 1 ] && [ "$(ip -o link show | grep -c ' vsbr')" = $((links_before + 1)) ]
out=$("$VESSEL" launch busybox c9 -c network=tn1 -c network.ipv4.address=10.99.0.5 -- sleep 1000 2>&1)
check "an instance address outside the subnet is refused ($out)" grep -q 'outside the subnet 10.123.0.0/24' <<<"$out"
out=$("$VESSEL" launch busybox c9 -c network=tn1 -c network.ipv4.address=10.123.0.1 -- sleep 1000 2>&1)
check "the gateway's address is refused ($out)" grep -q "the network's gateway" <<<"$out"
out=$("$VESSEL" launch busybox c9 -c network=nope -- sleep 1000 2>&1)
check "an unknown network is refused ($out)" grep -q 'network nope not found' <<<"$out"
check "no refused instance was stored" [ "$(api http://v/1.0/instances | jq '.metadata | length')" = 0 ]

"$VESSEL" launch busybox c1 -c network=tn1 -- sleep 1000 >/dev/null
"$VESSEL" launch busybox c2 -c network=tn1 -c network.ipv4.address=10.123.0.50 -- sleep 1000 >/dev/null
addr_of() { "$VESSEL" exec "$1" -- ip -4 -o addr show eth0 | awk '{print $4}'; }
a1=$(addr_of c1)
check "c1 got the first free address ($a1)" [ "$a1" = 10.123.0.2/24 ]
check "c2 got its static address" [ "$(addr_of c2)" = 10.123.0.50/24 ]
out=$("$VESSEL" exec c1 -- ping -c 1 -W 2 c2 2>&1)
check "c1 pings c2 by name" grep -q '1 packets received' <<<"$out"
out=$("$VESSEL" exec c2 -- ping -c 1 -W 2 c1 2>&1)
check "c2 pings c1 by name" grep -q '1 packets received' <<<"$out"
check "their resolv.conf names the gateway" [ "$("$VESSEL" exec c1 -- cat /etc/resolv.conf)" = "nameserver 10.123.0.1" ]
"$VESSEL" launch busybox c3 -c network=tn1 -c network.ipv4.address=10.123.0.50 -- sleep 1000 >/dev/null 2>&1
check "a static address another instance holds is refused" bash -c "! curl -s --unix-socket '$SOCK' http://v/1.0/instances/c3 | jq -e '.metadata.status == \"Running\"' >/dev/null"
"$VESSEL" rm -f c3 >/dev/null 2>&1
"$VESSEL" restart -f c1
check "c1 keeps its address across a restart (IPAM lease)" [ "$(addr_of c1)" = 10.123.0.2/24 ]
check "the leases list both" [ "$("$VESSEL" network leases tn1 | awk '{print $1"="$2}' | sort | tr '\n' ' ')" = "c1=10.123.0.2 c2=10.123.0.50 " ]
old=$(dns_pid); kill -9 "$old"
dns_back() { local p; p=$(dns_pid); [ -n "$p" ] && [ "$p" != "$old" ] && [ -d "/proc/$p" ]; }
check "vesseld respawns a killed dnsmasq" wait_for 10 dns_back
out=$("$VESSEL" exec c1 -- ping -c 1 -W 2 c2 2>&1)
check "names resolve through the new dnsmasq" grep -q '1 packets received' <<<"$out"
kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null; EVPID=
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
dns=$(dns_pid)
check "after kill -9 of vesseld the network's dnsmasq keeps running" [ -d "/proc/$dns" ]
check "vesseld restarts with the network" start_daemon
start_events
check "it re-adopts that dnsmasq (same pid, none started beside it)" \
  [ "$(dns_pid)" = "$dns" ] && [ "$(pgrep -fc -- "--addn-hosts=$R/networks/tn1/hosts")" = 1 ]
out=$("$VESSEL" exec c2 -- ping -c 1 -W 2 c1 2>&1)
check "names still resolve after the restart of vesseld ($(tr "\n" " " <<<"$out" | cut -c1-150))" grep -q '1 packets received' <<<"$out"
if ! grep -q '1 packets received' <<<"$out"; then
  tail -5 "$TMP/vesseld.log" | sed 's/^/# vesseld: /'; tail -8 "$R/networks/tn1/dnsmasq.log" | sed 's/^/# dnsmasq: /'
  cat "$R/networks/tn1/hosts" | sed 's/^/# hosts: /'; "$VESSEL" exec c2 -- nslookup c1 10.123.0.1 2>&1 | sed 's/^/# again: /'
  ss -uapn | grep ':53 ' | sed 's/^/# ss: /'; "$VESSEL" exec c2 -- ping -c1 -W1 10.123.0.1 2>&1 | sed 's/^/# gwping: /'
  ip -br link show master "$BR" | sed 's/^/# ports: /'; ip -br addr show "$BR" | sed 's/^/# br: /'
fi
# NAT: a namespace on the host side with no route back to the subnet
# answers only if the instance's packets leave masqueraded.
ip netns add vst-out && ip link add vsto0 type veth peer name eth0 netns vst-out &&
  ip addr add 198.18.77.1/30 dev vsto0 && ip link set vsto0 up &&
  ip -n vst-out addr add 198.18.77.2/30 dev eth0 && ip -n vst-out link set eth0 up && ip -n vst-out link set lo up
out=$("$VESSEL" exec c1 -- ping -c 1 -W 2 198.18.77.2 2>&1)
check "NAT: c1 reaches a host-side namespace that has no route back to its subnet" grep -q '1 packets received' <<<"$out"
ip netns del vst-out; ip link del vsto0 2>/dev/null
out=$(api -X DELETE http://v/1.0/networks/tn1)
check "a network in use cannot be deleted ($(jq -r .error <<<"$out"))" jqok '.error_code == 409' <<<"$out"
dns=$(dns_pid)
"$VESSEL" rm -f c1 >/dev/null; "$VESSEL" rm -f c2 >/dev/null
out=$("$VESSEL" network rm tn1 2>&1)
check "vessel network rm deletes it ($out)" grep -q deleted <<<"$out"
check "its bridge is gone" bash -c "! ip link show '$BR' >/dev/null 2>&1"
check "its nftables table is gone" bash -c "! nft list table ip 'vessel-$BR' >/dev/null 2>&1"
check "its dnsmasq is gone" bash -c "! [ -d /proc/$dns ] || ! grep -q dnsmasq /proc/$dns/cmdline"
check "its directory is gone" [ ! -e "$R/networks/tn1" ]
BR=

kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null; EVPID=
kill "$DPID"; wait "$DPID"; rc=$?; DPID=
check "vesseld stops on SIGTERM with status 0" [ "$rc" = 0 ]
