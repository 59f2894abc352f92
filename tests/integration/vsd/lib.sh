# Shared by the vesseld tests (50_, 52_, 53_): one daemon root and socket
# in the test's $TMP, started and torn down the same way. Source after
# tests/lib.sh; set DPID to the daemon's pid via start_daemon.
VESSELD=${VESSELD:-$(dirname "$VESSEL")/vesseld}
R=$TMP/root
SOCK=$TMP/vd.sock
export VESSEL_SOCKET=$SOCK
DPID=

start_daemon() {
  "$VESSELD" --root "$R" --socket "$SOCK" >>"$TMP/vesseld.log" 2>&1 &
  DPID=$!
  for _ in $(seq 100); do curl -s --unix-socket "$SOCK" http://v/1.0 >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

# Kill the daemon, then remove what it left running: runtime containers and
# instance rootfs mounts (instances outlive vesseld by design).
vsd_cleanup() {
  [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
  for d in "$R"/runtime/*/; do [ -d "$d" ] && "$VESSEL" --root "$R/runtime" delete -f "$(basename "$d")"; done
  for m in "$R"/instances/*/rootfs; do umount -l "$m" 2>/dev/null; done
}
